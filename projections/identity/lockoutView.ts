import type { Redis } from 'ioredis';
import type { EventStore, RecordedEvent, Subscription } from '#application/shared/eventStore.js';
import type { ProjectionLogger } from '#projections/shared/projection.js';

/**
 * The lockout view the edge asks before paying for argon2: which accounts are locked, until when.
 * Redis keys `<prefix>lock:<accountId>` = lockedUntil (epoch ms) expiring with the lock, plus the
 * projection's checkpoint `<prefix>projection:lockouts:checkpoint`, both changed in one MULTI/EXEC
 * under WATCH of the checkpoint: an event is applied exactly once, and a second runner (another app
 * process) that falls behind skips what the first already applied instead of rolling the view back.
 * Embedded mode (no Redis) keeps the same fold in a Map, rebuilt from position 0 at each start.
 * The account stream stays the authority: login.ts reads it once per attempt and skips argon2 when
 * the stream says locked, so login no longer asks this view (a stale view once overruled the stream).
 */
/** epoch ms until which the account is locked account-wide, or null */
export type LockoutView = { lockedUntil(accountId: string): Promise<number | null> };

export const LOCKOUT_EVENT_TYPES = ['AccountLocked', 'AccountUnlocked', 'LoginSucceeded'] as const;

export type LockChange = { kind: 'lock'; accountId: string; until: number } | { kind: 'clear'; accountId: string };

/** What an event does to its account's lock (null: nothing, e.g. a malformed or foreign event). */
export const lockChangeOf = (event: Pick<RecordedEvent, 'type' | 'data'>): LockChange | null => {
  const accountId = event.data.accountId;
  if (typeof accountId !== 'string' || accountId.length === 0) return null;
  switch (event.type) {
    case 'AccountLocked': {
      const until = typeof event.data.until === 'string' ? Date.parse(event.data.until) : Number.NaN;
      return Number.isFinite(until) ? { kind: 'lock', accountId, until } : null;
    }
    case 'AccountUnlocked':
    case 'LoginSucceeded':
      return { kind: 'clear', accountId };
    default:
      return null;
  }
};

export type LockoutStats = { applied: number; skipped: number; position: number; caughtUp: boolean };

export type LockoutProjection = LockoutView & {
  /** resolves once caught up, or after a first failed attempt (it then keeps retrying in the background) */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** for metrics and tests: events applied/skipped by this instance, and its position */
  stats(): LockoutStats;
};

export type LockoutProjectionOptions = {
  store: EventStore;
  /** null: embedded mode, an in-memory Map */
  redis: Redis | null;
  keyPrefix: string;
  log: ProjectionLogger;
  clock?: () => Date;
  /** first retry delay after Redis or the store fails (doubles up to 10 s) */
  retryDelayMs?: number;
  /** lockedUntil answers null when Redis takes longer than this (default 250 ms) */
  readTimeoutMs?: number;
};

type LockStorage = {
  open(): Promise<void>;
  checkpoint(): Promise<number>;
  apply(change: LockChange | null, position: number, now: number): Promise<'applied' | 'skipped'>;
  lockedUntil(accountId: string, now: number): Promise<number | null>;
  close(): Promise<void>;
};

const memoryStorage = (): LockStorage => {
  const locks = new Map<string, number>();
  let checkpoint = 0;
  return {
    open: () => Promise.resolve(),
    checkpoint: () => Promise.resolve(checkpoint),
    apply(change, position, now) {
      if (position <= checkpoint) return Promise.resolve('skipped');
      if (change?.kind === 'lock' && change.until > now) locks.set(change.accountId, change.until);
      else if (change) locks.delete(change.accountId);
      checkpoint = position;
      return Promise.resolve('applied');
    },
    lockedUntil(accountId, now) {
      const until = locks.get(accountId);
      if (until === undefined) return Promise.resolve(null);
      if (until > now) return Promise.resolve(until);
      locks.delete(accountId);
      return Promise.resolve(null);
    },
    close: () => Promise.resolve(),
  };
};

const READY_TIMEOUT_MS = 5_000;

const whenReady = (connection: Redis): Promise<void> => {
  if (connection.status === 'ready') return Promise.resolve();
  if (connection.status === 'end' || connection.status === 'wait') void connection.connect().catch(() => undefined);
  return new Promise((resolve, reject) => {
    const done = (error?: Error) => {
      clearTimeout(timer);
      connection.off('ready', onReady);
      if (error) reject(error);
      else resolve();
    };
    const onReady = () => done();
    const timer = setTimeout(() => done(new Error(`redis not ready within ${READY_TIMEOUT_MS} ms`)), READY_TIMEOUT_MS);
    connection.on('ready', onReady);
  });
};

const redisStorage = (
  shared: Redis,
  keyPrefix: string,
  warn: (message: string, error: unknown) => void,
): LockStorage => {
  const checkpointKey = `${keyPrefix}projection:lockouts:checkpoint`;
  const lockKey = (accountId: string) => `${keyPrefix}lock:${accountId}`;
  // WATCH belongs to a connection: a dedicated one keeps the rate limiter's commands from clearing it.
  let connection: Redis | null = null;
  const writer = (): Redis => {
    if (!connection) throw new Error('lockout projection: storage not open');
    return connection;
  };
  return {
    async open() {
      if (!connection) {
        connection = shared.duplicate();
        connection.on('error', (error: Error) => warn('lockout projection: redis unavailable', error));
      }
      await whenReady(connection);
    },
    async checkpoint() {
      return Number((await writer().get(checkpointKey)) ?? 0);
    },
    async apply(change, position, now) {
      const redis = writer();
      for (let attempt = 1; attempt <= 20; attempt++) {
        await redis.watch(checkpointKey);
        if (Number((await redis.get(checkpointKey)) ?? 0) >= position) {
          await redis.unwatch();
          return 'skipped';
        }
        const tx = redis.multi();
        if (change?.kind === 'lock' && change.until > now)
          tx.set(lockKey(change.accountId), String(change.until), 'PX', change.until - now);
        else if (change) tx.del(lockKey(change.accountId));
        tx.set(checkpointKey, String(position));
        const results = await tx.exec();
        // null: another runner moved the checkpoint between WATCH and EXEC; look again.
        if (results === null) continue;
        const failed = results.find(([error]) => error !== null);
        if (failed) throw failed[0] instanceof Error ? failed[0] : new Error(String(failed[0]));
        return 'applied';
      }
      throw new Error(`lockout projection: checkpoint kept moving while applying position ${position}`);
    },
    async lockedUntil(accountId, now) {
      const until = Number((await shared.get(lockKey(accountId))) ?? Number.NaN);
      return Number.isFinite(until) && until > now ? until : null;
    },
    async close() {
      connection?.disconnect();
      connection = null;
      await Promise.resolve();
    },
  };
};

export const createLockoutProjection = (options: LockoutProjectionOptions): LockoutProjection => {
  const clock = options.clock ?? (() => new Date());
  const firstDelay = options.retryDelayMs ?? 250;
  const readTimeoutMs = options.readTimeoutMs ?? 250;
  let lastWarning = 0;
  const warn = (message: string, error: unknown) => {
    if (Date.now() - lastWarning < 10_000) return;
    lastWarning = Date.now();
    options.log.warn(message, { error: error instanceof Error ? error.message : String(error) });
  };
  const storage = options.redis ? redisStorage(options.redis, options.keyPrefix, warn) : memoryStorage();
  const stats: LockoutStats = { applied: 0, skipped: 0, position: 0, caughtUp: false };

  let stopped = true;
  let loop: Promise<void> | null = null;
  let subscription: Subscription | null = null;
  let endAttempt: (() => void) | null = null;
  let wake: (() => void) | null = null;

  const onEvent = async (event: RecordedEvent) => {
    const outcome = await storage.apply(lockChangeOf(event), event.position, clock().getTime());
    stats[outcome] += 1;
    stats.position = event.position;
  };

  const run = async (started: () => void) => {
    let delay = firstDelay;
    while (!stopped) {
      try {
        await storage.open();
        const after = await storage.checkpoint();
        stats.position = after;
        await new Promise<void>((resolve, reject) => {
          endAttempt = resolve;
          if (stopped) return resolve();
          subscription = options.store.subscribeToAll({
            after,
            filter: { eventTypes: LOCKOUT_EVENT_TYPES },
            onEvent,
            onError: reject,
            onCaughtUp: () => {
              stats.caughtUp = true;
              delay = firstDelay;
              started();
            },
          });
        });
      } catch (error) {
        warn('lockout projection stopped; retrying (login still decides from the account stream)', error);
        started();
      } finally {
        await subscription?.stop();
        subscription = null;
      }
      if (stopped) break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delay);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      delay = Math.min(delay * 2, 10_000);
    }
  };

  return {
    async start() {
      if (!stopped) return;
      stopped = false;
      await new Promise<void>((started) => {
        loop = run(started);
      });
    },
    async stop() {
      stopped = true;
      endAttempt?.();
      wake?.();
      await loop;
      loop = null;
      await storage.close();
    },
    async lockedUntil(accountId) {
      // The view only spares argon2 work: a slow answer is worse than none. Redis down or slow means
      // "unknown", not "unlocked"; login.ts decides from the account stream either way.
      let timer: NodeJS.Timeout | undefined;
      const giveUp = new Promise<null>((resolve) => {
        timer = setTimeout(() => resolve(null), readTimeoutMs);
      });
      try {
        return await Promise.race([storage.lockedUntil(accountId, clock().getTime()), giveUp]);
      } catch (_error) {
        return null;
      } finally {
        clearTimeout(timer);
      }
    },
    stats: () => ({ ...stats }),
  };
};
