import type { Knex } from 'knex';
import type { Projection } from '#projections/shared/projection.js';
import { NUMBER_EVENT_TYPES } from '#domain/messaging/events.js';
import { asMessagingEvent, isoOrNull } from './messagingEvent.js';

const TABLE = 'numbers';

/** One row per number: what /api/numbers lists and the worker divides; the last send error per number. */
export const numbersProjection: Projection = {
  name: 'messaging.numbers',
  version: 1,
  tables: [TABLE],
  handles: [...NUMBER_EVENT_TYPES, 'MessageSendFailed', 'MessageSent'],
  async apply(trx, recorded) {
    const event = asMessagingEvent(recorded);
    if (event === null) return;
    const at = event.metadata.occurredAt;
    const touch = { updated_at: at, position: event.position };
    switch (event.type) {
      case 'NumberAdded': {
        const d = event.data;
        await trx(TABLE)
          .insert({
            number_id: d.numberId,
            name: d.name,
            kind: d.kind,
            status: 'active',
            credentials_secret: d.credentialsSecret,
            phone_number_id: d.phoneNumberId,
            added_at: at,
            ...touch,
          })
          .onConflict('number_id')
          .merge();
        return;
      }
      case 'NumberDisabled':
        return void (await trx(TABLE)
          .where({ number_id: event.data.numberId })
          .update({ status: 'disabled', ...touch }));
      case 'NumberEnabled':
        return void (await trx(TABLE)
          .where({ number_id: event.data.numberId })
          .update({ status: 'active', ...touch }));
      case 'NumberRemoved':
        return void (await trx(TABLE).where({ number_id: event.data.numberId }).delete());
      case 'MessageSendFailed':
        return void (await trx(TABLE)
          .where({ number_id: event.data.numberId })
          .update({ last_error_code: event.data.code, last_error_at: at }));
      default:
        return;
    }
  },
};

export type NumberRow = {
  numberId: string;
  name: string;
  kind: string;
  status: string;
  hasCredentials: boolean;
  phoneNumberId: string | null;
  lastErrorCode: string | null;
  lastErrorAt: string | null;
  addedAt: string;
};

export const listNumbers = async (knex: Knex): Promise<NumberRow[]> => {
  const rows = await knex(TABLE).orderBy('number_id').select<Record<string, unknown>[]>('*');
  return rows.map((row) => ({
    numberId: row.number_id as string,
    name: row.name as string,
    kind: row.kind as string,
    status: row.status as string,
    hasCredentials: row.credentials_secret !== null,
    phoneNumberId: (row.phone_number_id as string | null) ?? null,
    lastErrorCode: (row.last_error_code as string | null) ?? null,
    lastErrorAt: isoOrNull(row.last_error_at),
    addedAt: isoOrNull(row.added_at)!,
  }));
};
