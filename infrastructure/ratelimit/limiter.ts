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
};

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

  const consume = async (key: string): Promise<LimitDecision> => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      const res = await Promise.race([limiter.consume(key), timeout]);
      return { kind: 'allowed', remaining: res.remainingPoints };
    } catch (outcome) {
      // The library rejects with a RateLimiterRes when the limit is exceeded, with an Error when the store fails.
      if (outcome instanceof RateLimiterRes) {
        return {
          kind: 'rejected',
          retryAfterSeconds: Math.max(1, Math.ceil(outcome.msBeforeNext / 1000)),
          rejectedInWindow: Math.max(1, outcome.consumedPoints - options.points),
        };
      }
      throw new LimiterUnavailableError(options.name, outcome);
    } finally {
      clearTimeout(timer);
    }
  };

  return { name: options.name, points: options.points, windowSeconds: options.windowSeconds, consume };
};
