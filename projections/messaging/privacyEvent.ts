import type { Knex } from 'knex';
import type { RecordedEvent } from '#application/shared/eventStore.js';
import type { Projection } from '#projections/shared/projection.js';
import { PRIVACY_EVENT_TYPES, type PrivacyEvent } from '#domain/privacy/events.js';

const TYPES: ReadonlySet<string> = new Set(PRIVACY_EVENT_TYPES);

/**
 * ContactForgotten and MessageContentExpired, for the read models that copy personal data: they erase
 * what they hold when they apply them, so the live rows match what a rebuild (which reads the destroyed
 * keys' fields as "[erased]") writes.
 */
export const asPrivacyEvent = (event: RecordedEvent): RecordedEvent<PrivacyEvent> | null =>
  TYPES.has(event.type) ? (event as RecordedEvent<PrivacyEvent>) : null;

export type PrivacyHandlers = {
  /** ContactForgotten: drop what the read model holds of the chat */
  forget(trx: Knex.Transaction, chatId: string): Promise<void>;
  /** MessageContentExpired: erase the content of messages before `before` (YYYY-MM-DD) */
  expire(trx: Knex.Transaction, before: string): Promise<void>;
};

/**
 * A messaging read model that also applies the privacy events: they are applied one by one, in position
 * order between the folded segments of a batch (`applyBatch` folds and flushes each segment), so a batch
 * and the one-by-one path write the same rows.
 */
export const withPrivacy = (fold: Projection, version: number, handlers: PrivacyHandlers): Projection => {
  const applyPrivacy = async (trx: Knex.Transaction, event: RecordedEvent<PrivacyEvent>) => {
    if (event.type === 'ContactForgotten') await handlers.forget(trx, event.data.chatId);
    else await handlers.expire(trx, event.data.before);
  };
  const applyBatch = fold.applyBatch?.bind(fold);
  return {
    ...fold,
    version,
    handles: [...fold.handles, ...PRIVACY_EVENT_TYPES],
    async apply(trx, event) {
      const privacy = asPrivacyEvent(event);
      return privacy === null ? fold.apply(trx, event) : applyPrivacy(trx, privacy);
    },
    ...(applyBatch === undefined
      ? {}
      : {
          async applyBatch(trx: Knex.Transaction, events: readonly RecordedEvent[]) {
            let segment: RecordedEvent[] = [];
            for (const event of events) {
              const privacy = asPrivacyEvent(event);
              if (privacy === null) {
                segment.push(event);
                continue;
              }
              if (segment.length > 0) await applyBatch(trx, segment);
              segment = [];
              await applyPrivacy(trx, privacy);
            }
            if (segment.length > 0) await applyBatch(trx, segment);
          },
        }),
  };
};
