import type { ContactKeyStore } from '#application/privacy/ports.js';
import { expireMessageContent } from '#application/privacy/privacy.js';
import type { EventStore } from '#application/shared/eventStore.js';
import type { Runtime } from '#application/shared/runtime.js';
import type { Logger } from '#infrastructure/logging/logger.js';
import { newCorrelationId, runWithContext } from '#infrastructure/logging/context.js';
import type { SchedulerJob } from './scheduler.js';

/**
 * The scheduler's retention job (MESSAGE_RETENTION_DAYS): hourly (and once shortly after start) destroys
 * the content keys of the days that fell out of the window, recorded as an audited MessageContentExpired.
 * Two schedulers running it at once is harmless: a key is destroyed once, and only a run that destroyed
 * keys appends an event.
 */
export const retentionJob = (deps: {
  store: EventStore;
  keys: ContactKeyStore;
  runtime: Runtime;
  logger: Logger;
  days: number;
  intervalMs?: number;
}): SchedulerJob => ({
  name: 'retention',
  intervalMs: deps.intervalMs ?? 3_600_000,
  run: async () => {
    const context = { correlationId: newCorrelationId(), actor: 'system' };
    await runWithContext(context, async () => {
      const result = await expireMessageContent(
        { store: deps.store, keys: deps.keys, runtime: deps.runtime },
        deps.days,
        context,
      );
      if (result.keysDestroyed > 0) deps.logger.info('message content expired', { ...result });
    });
  },
});

/** The retention job of a configuration, as the scheduler's `jobs` (none when MESSAGE_RETENTION_DAYS is unset). */
export const retentionJobs = (
  config: { privacy: { messageRetentionDays: number | null } },
  deps: { store: EventStore; contactKeys: ContactKeyStore; runtime: Runtime; logger: Logger },
): SchedulerJob[] =>
  config.privacy.messageRetentionDays === null
    ? []
    : [
        retentionJob({
          store: deps.store,
          keys: deps.contactKeys,
          runtime: deps.runtime,
          logger: deps.logger,
          days: config.privacy.messageRetentionDays,
        }),
      ];
