import type { Redis, RedisOptions } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';

/**
 * ioredis options for any client the rate limiter uses. Without them a dead Redis queues commands
 * (the offline queue) and retries them, so a login would hang instead of failing closed with a 503.
 */
export const FAIL_FAST_REDIS_OPTIONS = {
  enableOfflineQueue: false,
  maxRetriesPerRequest: 1,
  connectTimeout: 2_000,
  commandTimeout: 1_000,
} as const satisfies RedisOptions;

export type LimitDecision =
  | { kind: 'allowed'; remaining: number }
  | {
      kind: 'rejected';
      retryAfterSeconds: number;
      /** requests refused so far in this window, this one included (1 for the first refusal) */
      rejectedInWindow: number;
    };

/** The counter store (Redis) failed or did not answer in time: the caller decides to fail open or closed. */
export class LimiterUnavailableError extends Error {
  readonly code = 'rate_limiter_unavailable';
  constructor(
    readonly limiter: string,
    readonly cause: unknown,
  ) {
    super(`rate limiter ${limiter}: store unavailable (${cause instanceof Error ? cause.message : String(cause)})`);
    this.name = 'LimiterUnavailableError';
  }
}

export type Limiter = {
  readonly name: string;
  readonly points: number;
  readonly windowSeconds: number;
  /** counts one request for `key`; throws LimiterUnavailableError when the store cannot be used */
  consume(key: string): Promise<LimitDecision>;
  /**
   * Counts one request for `key` against this process's lease of it when there is one (see leasing
   * below), without a promise or a turn of the event loop; `undefined` when the store must be asked
   * (then call `consume`). Never refuses: a refusal is always the store's answer.
   */
  consumeLeased(key: string): LimitDecision | undefined;
};

export type LimiterOptions = {
  /** null: an in-memory counter (embedded mode, one process) */
  redis: Redis | null;
  /** e.g. 'chatbot:rl:login'; the library appends ':' and the key */
  keyPrefix: string;
  name: string;
  points: number;
  windowSeconds: number;
  /** upper bound on one consume, whatever the client's own timeouts are (default 1000 ms) */
  timeoutMs?: number;
  /**
   * Redis only, for limiters that fail open: take points from Redis in leases of up to this many
   * while the key is far from its limit, and count the rest of a lease in process (see leasing below).
   * Default 1: one Redis round trip per request.
   */
  maxLease?: number;
};

/** A lease is taken only while this many times its size is still left in the window. */
const LEASE_HEADROOM = 8;
/** Leases kept in memory at most (one per busy key); expired ones are dropped first. */
const MAX_LEASED_KEYS = 10_000;

const strip = ({ leased: _leased, ...decision }: LimitDecision & { leased: number }): LimitDecision => decision;

/**
 * A fixed-window counter per key (rate-limiter-flexible). Counting goes on past the limit (no block
 * duration), so `consumed - points` tells how many were refused in the window, and exactly one caller
 * cluster-wide sees the first refusal: Redis increments atomically.
 */
export const createLimiter = (options: LimiterOptions): Limiter => {
  const base = { keyPrefix: options.keyPrefix, points: options.points, duration: options.windowSeconds };
  const limiter: RateLimiterAbstract =
    options.redis === null
      ? new RateLimiterMemory(base)
      : // rejectIfRedisNotReady: while ioredis reconnects, refuse at once rather than wait for a timeout.
        new RateLimiterRedis({ ...base, storeClient: options.redis, rejectIfRedisNotReady: true });
  const timeoutMs = options.timeoutMs ?? 1_000;

  /** Consumes `count` points in the store; the first is this request's, the others a lease. */
  const consumeInStore = async (key: string, count: number): Promise<LimitDecision & { leased: number }> => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      const res = await Promise.race([limiter.consume(key, count), timeout]);
      remember(key, count - 1, res);
      return { kind: 'allowed', remaining: res.remainingPoints, leased: count - 1 };
    } catch (outcome) {
      // The library rejects with a RateLimiterRes when the limit is exceeded, with an Error when the store fails.
      if (outcome instanceof RateLimiterRes) {
        // A lease that met the limit (another process took points meanwhile): the part within the limit
        // still counts as this request and a smaller lease; the rest is a refusal of this request only.
        const within = Math.max(0, options.points - (outcome.consumedPoints - count));
        // Points past the limit that no request used go back, so the next refusal is numbered right
        // (the first one is logged and recorded). Sent now, so it reaches Redis before this process's next call.
        const unused = within >= 1 ? outcome.consumedPoints - options.points : count - 1;
        if (unused > 0) limiter.reward(key, unused).catch(() => undefined);
        if (within >= 1) {
          remember(key, within - 1, outcome);
          return { kind: 'allowed', remaining: 0, leased: within - 1 };
        }
        return {
          kind: 'rejected',
          retryAfterSeconds: Math.max(1, Math.ceil(outcome.msBeforeNext / 1000)),
          rejectedInWindow: Math.max(1, outcome.consumedPoints - options.points - (count - 1)),
          leased: 0,
        };
      }
      throw new LimiterUnavailableError(options.name, outcome);
    } finally {
      clearTimeout(timer);
    }
  };

  // Leasing: one Redis round trip per request is most of the cost of a cheap authenticated read. While a
  // key has at least LEASE_HEADROOM times a lease left in its window, the process consumes a lease of
  // points in one INCRBY and counts the next requests of that key against it locally, until the lease
  // or the window runs out. The store counts every leased point as used, so all processes together
  // never allow more than the limit; unused leased points at the end of a window may make a client be
  // refused a little early (at most maxLease-1 per process, and leases stop near the limit, where
  // counting is one request per round trip again, so the first refusal is still seen exactly once).
  const maxLease = options.redis === null ? 1 : Math.max(1, Math.floor(options.maxLease ?? 1));
  type Lease = { left: number; remaining: number; expiresAt: number };
  const leases = new Map<string, Lease>();
  const inflight = new Map<string, Promise<unknown>>();

  const remember = (key: string, left: number, res: RateLimiterRes) => {
    if (maxLease === 1) return;
    if (leases.size >= MAX_LEASED_KEYS && !leases.has(key)) {
      const now = Date.now();
      for (const [k, lease] of leases) if (lease.expiresAt <= now) leases.delete(k);
      if (leases.size >= MAX_LEASED_KEYS) leases.delete(leases.keys().next().value!);
    }
    leases.set(key, { left, remaining: res.remainingPoints, expiresAt: Date.now() + res.msBeforeNext });
  };

  const leaseSize = (lease: Lease | undefined): number =>
    lease === undefined || lease.expiresAt <= Date.now()
      ? 1
      : Math.max(1, Math.min(maxLease, Math.floor(lease.remaining / LEASE_HEADROOM)));

  const consumeLeased = (key: string): LimitDecision | undefined => {
    if (maxLease === 1) return undefined;
    const lease = leases.get(key);
    if (lease === undefined || lease.left <= 0 || lease.expiresAt <= Date.now()) return undefined;
    lease.left -= 1;
    return { kind: 'allowed', remaining: lease.remaining };
  };

  const consume = async (key: string): Promise<LimitDecision> => {
    if (maxLease === 1) return strip(await consumeInStore(key, 1));
    for (;;) {
      const leased = consumeLeased(key);
      if (leased !== undefined) return leased;
      // Requests of a key that arrive while its lease is being fetched wait for it instead of fetching their own.
      const pending = inflight.get(key);
      if (pending === undefined) break;
      await pending.catch(() => undefined);
    }
    const size = leaseSize(leases.get(key));
    if (size === 1) return strip(await consumeInStore(key, 1));
    const fetching = consumeInStore(key, size);
    inflight.set(key, fetching);
    try {
      return strip(await fetching);
    } finally {
      inflight.delete(key);
    }
  };

  return { name: options.name, points: options.points, windowSeconds: options.windowSeconds, consume, consumeLeased };
};
