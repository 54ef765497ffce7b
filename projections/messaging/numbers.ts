import type { Knex } from 'knex';
import type { Projection } from '#projections/shared/projection.js';
import { NUMBER_EVENT_TYPES } from '#domain/messaging/events.js';
import { listConnections, type ConnectionRow } from '#projections/whatsapp/connections.js';
import { asMessagingEvent, isoOrNull } from './messagingEvent.js';
import { RowBatch } from '../shared/batchRows.js';

const TABLE = 'numbers';
const COLUMNS = [
  'number_id',
  'name',
  'kind',
  'status',
  'credentials_secret',
  'phone_number_id',
  'last_error_code',
  'last_error_at',
  'added_at',
  'updated_at',
  'position',
];

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
  // The same rules as `apply`, folded in memory: one select of the touched numbers, one upsert, one delete.
  async applyBatch(trx, recorded) {
    const events = recorded.flatMap((event) => {
      const typed = asMessagingEvent(event);
      return typed === null || typed.type === 'MessageSent' ? [] : [typed];
    });
    const rows = new RowBatch(TABLE, 'number_id', COLUMNS);
    await rows.load(
      trx,
      events.flatMap((event) => ('numberId' in event.data ? [event.data.numberId] : [])),
    );
    for (const event of events) {
      const at = event.metadata.occurredAt;
      const touch = { updated_at: at, position: event.position };
      switch (event.type) {
        case 'NumberAdded': {
          const d = event.data;
          const row = rows.get(d.numberId);
          rows.set(d.numberId, {
            last_error_code: row?.last_error_code ?? null,
            last_error_at: row?.last_error_at ?? null,
            number_id: d.numberId,
            name: d.name,
            kind: d.kind,
            status: 'active',
            credentials_secret: d.credentialsSecret,
            phone_number_id: d.phoneNumberId,
            added_at: at,
            ...touch,
          });
          break;
        }
        case 'NumberDisabled':
          rows.update(event.data.numberId, { status: 'disabled', ...touch });
          break;
        case 'NumberEnabled':
          rows.update(event.data.numberId, { status: 'active', ...touch });
          break;
        case 'NumberRemoved':
          rows.delete(event.data.numberId);
          break;
        case 'MessageSendFailed':
          rows.update(event.data.numberId, { last_error_code: event.data.code, last_error_at: at });
          break;
        default:
          break;
      }
    }
    await rows.flush(trx);
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
  /** kind `web`: the socket's state from the connection events (null before the first one) */
  webConnection: { state: string; lastReason: string | null; lastStatusCode: number | null; updatedAt: string } | null;
};

const webConnectionOf = (row: ConnectionRow | undefined): NumberRow['webConnection'] =>
  row === undefined
    ? null
    : { state: row.state, lastReason: row.lastReason, lastStatusCode: row.lastStatusCode, updatedAt: row.updatedAt };

export const listNumbers = async (knex: Knex): Promise<NumberRow[]> => {
  const [rows, connections] = await Promise.all([
    knex(TABLE).orderBy('number_id').select<Record<string, unknown>[]>('*'),
    listConnections(knex),
  ]);
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
    webConnection: row.kind === 'web' ? webConnectionOf(connections.get(row.number_id as string)) : null,
  }));
};
