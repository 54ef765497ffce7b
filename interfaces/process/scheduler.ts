import { administerAccount } from '#application/identity/accounts.js';
import type { EventStore } from '#application/shared/eventStore.js';
import type { Runtime } from '#application/shared/runtime.js';
import { hashPassword, verifyAgainstDummy, verifyPassword } from '#infrastructure/identity/passwords.js';
import type { Logger } from '#infrastructure/logging/logger.js';
import { newCorrelationId, runWithContext } from '#infrastructure/logging/context.js';
import type { Database } from '#infrastructure/sql/database.js';
import { expiredLockouts } from '#projections/identity/accounts.js';

export type Scheduler = { stop(): Promise<void> };

/**
 * Periodic jobs. Today: lockout expiry (AccountUnlocked{by:'system'} once a lock has run out, so the
 * read models show the account usable without waiting for its next login attempt).
 */
export const startScheduler = (deps: {
  store: EventStore;
  db: Database;
  logger: Logger;
  runtime: Runtime;
  intervalMs?: number;
}): Scheduler => {
  const { store, db, logger, runtime } = deps;
  const passwords = { hashPassword, verifyPassword, verifyAgainstDummy };
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> = Promise.resolve();

  const expireLockouts = async () => {
    for (const id of await expiredLockouts(db.knex, runtime.clock())) {
      const context = { correlationId: newCorrelationId(), actor: 'system' };
      await runWithContext(context, async () => {
        const { changed } = await administerAccount({ store, passwords, log: logger }, id, { type: 'unlock' }, context);
        if (changed) logger.info('lockout expired: account unlocked', { accountId: id });
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

  return {
    async stop() {
      if (timer) clearTimeout(timer);
      timer = null;
      await running;
    },
  };
};
