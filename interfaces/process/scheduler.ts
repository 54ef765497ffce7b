import { unlockLogin } from '#application/identity/accounts.js';
import { startScheduledMessageFiring } from '#application/scheduling/firing.js';
import type { EventStore } from '#application/shared/eventStore.js';
import type { Runtime } from '#application/shared/runtime.js';
import { expiredLoginLocks } from '#projections/identity/loginLocks.js';
import { scheduleQueries } from '#projections/scheduling/scheduledMessages.js';
import type { Logger } from '#infrastructure/logging/logger.js';
import { newCorrelationId, runWithContext } from '#infrastructure/logging/context.js';
import type { Database } from '#infrastructure/sql/database.js';

export type Scheduler = { stop(): Promise<void> };

/** A periodic job of the scheduler: `run` is called every `intervalMs` (the next run waits for the last). */
export type SchedulerJob = { name: string; intervalMs: number; run: () => Promise<void> };

/**
 * The scheduler process's work:
 *  - scheduled messages (application/scheduling/firing.ts): each fired within a second of its time, once,
 *    however many schedulers run and whenever one is killed;
 *  - lockout expiry (AccountUnlocked/SourceUnlocked{by:'system'} once a lock has run out, so the read models
 *    show the account usable without waiting for its next login attempt);
 *  - `jobs`: further periodic jobs. The **retention** job (deleting or shredding message content past the
 *    configured retention) plugs in here when retention settings exist: `jobs: [retentionJob]`.
 * The outbound queue's retries are not a job here: a failed message's next attempt time is in the queue read
 * model and worker-web's due-time poll picks it up (claims expire by their own time, no sweep needed).
 */
export const startScheduler = (deps: {
  store: EventStore;
  db: Database;
  logger: Logger;
  runtime: Runtime;
  intervalMs?: number;
  /** how often the scheduled-messages loop reads the read model (default 250 ms) */
  schedulePollMs?: number;
  jobs?: readonly SchedulerJob[];
}): Scheduler => {
  const { store, db, logger, runtime } = deps;
  let stopped = false;
  const timers = new Set<NodeJS.Timeout>();
  const running = new Set<Promise<void>>();

  const expireLockouts = async () => {
    for (const { accountId } of await expiredLoginLocks(db.knex, runtime.clock())) {
      const context = { correlationId: newCorrelationId(), actor: 'system' };
      await runWithContext(context, async () => {
        const { changed } = await unlockLogin({ store, runtime }, accountId, null, context, true);
        if (changed) logger.info('lockout expired: login unlocked', { accountId });
      });
    }
  };
  const jobs: SchedulerJob[] = [
    { name: 'lockout-expiry', intervalMs: deps.intervalMs ?? 15_000, run: expireLockouts },
    ...(deps.jobs ?? []),
  ];

  const schedule = (job: SchedulerJob, delayMs: number) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      const run = job
        .run()
        .catch((error: unknown) => void logger.warn('scheduler job failed', { job: job.name, error }))
        .finally(() => {
          running.delete(run);
          if (!stopped) schedule(job, job.intervalMs);
        });
      running.add(run);
    }, delayMs);
    timers.add(timer);
  };
  for (const job of jobs) schedule(job, 1_000);

  const firing = startScheduledMessageFiring({
    store,
    runtime,
    log: logger,
    queries: scheduleQueries(db.knex),
    newCorrelationId,
    pollMs: deps.schedulePollMs,
  });

  logger.info('scheduler started', { jobs: jobs.map((job) => job.name), scheduledMessages: true });

  return {
    async stop() {
      stopped = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      await firing.stop();
      await Promise.all(running);
    },
  };
};
