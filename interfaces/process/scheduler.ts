import { unlockLogin } from '#application/identity/accounts.js';
import type { EventStore } from '#application/shared/eventStore.js';
import type { Runtime } from '#application/shared/runtime.js';
import { expiredLoginLocks } from '#projections/identity/loginLocks.js';
import type { Logger } from '#infrastructure/logging/logger.js';
import { newCorrelationId, runWithContext } from '#infrastructure/logging/context.js';
import type { Database } from '#infrastructure/sql/database.js';
import { startRetentionJob, type RetentionSettings } from './retention.js';

export type Scheduler = { stop(): Promise<void> };

/**
 * Periodic jobs. Today: lockout expiry (AccountUnlocked/SourceUnlocked{by:'system'} once a lock has run out, so the
 * read models show the account usable without waiting for its next login attempt).
 */
export const startScheduler = (deps: {
  store: EventStore;
  db: Database;
  logger: Logger;
  runtime: Runtime;
  intervalMs?: number;
  /** MESSAGE_RETENTION_DAYS set: the retention job (interfaces/process/retention.ts) */
  retention?: RetentionSettings;
}): Scheduler => {
  const { store, db, logger, runtime } = deps;
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> = Promise.resolve();

  const expireLockouts = async () => {
    for (const { accountId } of await expiredLoginLocks(db.knex, runtime.clock())) {
      const context = { correlationId: newCorrelationId(), actor: 'system' };
      await runWithContext(context, async () => {
        const { changed } = await unlockLogin({ store, runtime }, accountId, null, context, true);
        if (changed) logger.info('lockout expired: login unlocked', { accountId });
      });
    }
  };

  const tick = () => {
    running = expireLockouts()
      .catch((error: unknown) => {
        logger.warn('scheduler job failed', { job: 'lockout-expiry', error });
      })
      .finally(() => {
        if (timer !== null) timer = setTimeout(tick, deps.intervalMs ?? 15_000);
      });
  };
  timer = setTimeout(tick, 1_000);
  // retention: crypto-shreds message content older than MESSAGE_RETENTION_DAYS
  const retention = deps.retention ? startRetentionJob({ store, runtime, logger, retention: deps.retention }) : null;

  return {
    async stop() {
      if (timer) clearTimeout(timer);
      timer = null;
      await Promise.all([running, retention?.stop()]);
    },
  };
};
