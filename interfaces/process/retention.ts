import type { ContactKeyStore } from '#application/privacy/ports.js';
import { expireMessageContent } from '#application/privacy/privacy.js';
import type { EventStore } from '#application/shared/eventStore.js';
import type { Runtime } from '#application/shared/runtime.js';
import type { Logger } from '#infrastructure/logging/logger.js';
import { newCorrelationId, runWithContext } from '#infrastructure/logging/context.js';

export type RetentionSettings = { keys: ContactKeyStore; days: number; intervalMs?: number };

/**
 * The scheduler's retention job (MESSAGE_RETENTION_DAYS): hourly, and once shortly after start, destroys
 * the content keys of the days that fell out of the window (audited MessageContentExpired). Running it
 * in two processes at once is harmless: a key is destroyed once, and only a run that destroyed keys
 * appends an event.
 */
export const startRetentionJob = (deps: {
  store: EventStore;
  runtime: Runtime;
  logger: Logger;
  retention: RetentionSettings;
}): { stop(): Promise<void> } => {
  const { store, runtime, logger, retention } = deps;
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> = Promise.resolve();
  const run = async () => {
    const context = { correlationId: newCorrelationId(), actor: 'system' };
    await runWithContext(context, async () => {
      const result = await expireMessageContent({ store, keys: retention.keys, runtime }, retention.days, context);
      if (result.keysDestroyed > 0) logger.info('message content expired', { ...result });
    });
  };
  const tick = () => {
    running = run()
      .catch((error: unknown) => {
        logger.warn('scheduler job failed', { job: 'retention', error });
      })
      .finally(() => {
        if (timer !== null) timer = setTimeout(tick, retention.intervalMs ?? 3_600_000);
      });
  };
  timer = setTimeout(tick, Math.min(1_000, retention.intervalMs ?? 1_000));
  return {
    async stop() {
      if (timer) clearTimeout(timer);
      timer = null;
      await running;
    },
  };
};

/** The retention settings of a configuration, or undefined (MESSAGE_RETENTION_DAYS unset: content is kept). */
export const retentionOf = (
  config: { privacy: { messageRetentionDays: number | null } },
  infra: { contactKeys: ContactKeyStore },
): RetentionSettings | undefined =>
  config.privacy.messageRetentionDays === null
    ? undefined
    : { keys: infra.contactKeys, days: config.privacy.messageRetentionDays };
