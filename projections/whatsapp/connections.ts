import type { Knex } from 'knex';
import type { RecordedEvent } from '#application/shared/eventStore.js';
import { WHATSAPP_EVENT_TYPES, type WhatsAppEvent } from '#domain/whatsapp/events.js';
import type { Projection } from '#projections/shared/projection.js';

const TABLE = 'whatsapp_connections';
const TYPES: ReadonlySet<string> = new Set(WHATSAPP_EVENT_TYPES);
const asWhatsAppEvent = (event: RecordedEvent): RecordedEvent<WhatsAppEvent> | null =>
  TYPES.has(event.type) ? (event as RecordedEvent<WhatsAppEvent>) : null;

/**
 * One row per Web number: its connection state and the live pairing (QR or code) the console shows.
 * The QR and the pairing code are cleared as soon as the number connects, expires or logs out.
 */
export const whatsappConnectionsProjection: Projection = {
  name: 'whatsapp.connections',
  version: 1,
  tables: [TABLE],
  handles: WHATSAPP_EVENT_TYPES.filter((t) => t !== 'WhatsAppPairingCodeRequested'),
  async apply(trx, recorded) {
    const event = asWhatsAppEvent(recorded);
    if (event === null) return;
    const at = event.metadata.occurredAt;
    const base = { number_id: event.data.numberId, updated_at: at, position: event.position };
    const upsert = (row: Record<string, unknown>) =>
      trx(TABLE)
        .insert({ state: 'idle', ...base, ...row })
        .onConflict('number_id')
        .merge({ ...base, ...row });
    const noPairing = { qr: null, pairing_code: null, expires_at: null };
    switch (event.type) {
      case 'WhatsAppConnecting':
        return void (await upsert({
          state: 'connecting',
          worker: event.data.worker,
          ...(event.data.cause === 'reconnect' ? {} : { qr_attempt: 0 }),
          ...noPairing,
        }));
      case 'WhatsAppQrIssued':
        return void (await upsert({
          state: 'qr',
          qr: event.data.qr,
          qr_attempt: event.data.attempt,
          max_attempts: event.data.maxAttempts,
          expires_at: event.data.expiresAt,
          pairing_code: null,
        }));
      case 'WhatsAppPairingCodeIssued':
        return void (await upsert({
          state: 'code',
          qr: null,
          pairing_code: event.data.code,
          expires_at: event.data.expiresAt,
        }));
      case 'WhatsAppPairingExpired':
        return void (await upsert({
          state: 'expired',
          qr_attempt: event.data.attempts,
          max_attempts: event.data.maxAttempts,
          last_reason: event.data.reason,
          ...noPairing,
        }));
      case 'WhatsAppConnected':
        return void (await upsert({
          state: 'connected',
          worker: event.data.worker,
          connected_at: at,
          qr_attempt: 0,
          last_reason: null,
          last_status_code: null,
          next_action: null,
          ...noPairing,
        }));
      case 'WhatsAppDisconnected': {
        const current = await trx(TABLE)
          .where({ number_id: event.data.numberId })
          .first<{ state: string } | undefined>('state');
        return void (await upsert({
          // an expired pairing stays expired (the socket closing after it is not news)
          state: current?.state === 'expired' ? 'expired' : 'disconnected',
          last_reason: event.data.reason,
          last_status_code: event.data.statusCode,
          next_action: event.data.next,
          ...noPairing,
        }));
      }
      case 'WhatsAppLoggedOut':
        return void (await upsert({
          state: 'logged_out',
          last_reason: 'loggedOut',
          last_status_code: event.data.statusCode,
          connected_at: null,
          ...noPairing,
        }));
      default:
        return;
    }
  },
};

export type ConnectionRow = {
  numberId: string;
  state: string;
  qr: string | null;
  qrAttempt: number;
  maxAttempts: number;
  expiresAt: string | null;
  pairingCode: string | null;
  lastReason: string | null;
  lastStatusCode: number | null;
  nextAction: string | null;
  worker: string | null;
  connectedAt: string | null;
  updatedAt: string;
};

const iso = (value: unknown): string | null =>
  value === null || value === undefined ? null : new Date(value as string).toISOString();

const rowOf = (row: Record<string, unknown>): ConnectionRow => ({
  numberId: row.number_id as string,
  state: row.state as string,
  qr: (row.qr as string | null) ?? null,
  qrAttempt: Number(row.qr_attempt ?? 0),
  maxAttempts: Number(row.max_attempts ?? 0),
  expiresAt: iso(row.expires_at),
  pairingCode: (row.pairing_code as string | null) ?? null,
  lastReason: (row.last_reason as string | null) ?? null,
  lastStatusCode:
    row.last_status_code === null || row.last_status_code === undefined ? null : Number(row.last_status_code),
  nextAction: (row.next_action as string | null) ?? null,
  worker: (row.worker as string | null) ?? null,
  connectedAt: iso(row.connected_at),
  updatedAt: iso(row.updated_at)!,
});

export const connectionOf = async (knex: Knex, numberId: string): Promise<ConnectionRow | null> => {
  const row = await knex(TABLE).where({ number_id: numberId }).first<Record<string, unknown> | undefined>('*');
  return row === undefined ? null : rowOf(row);
};

export const listConnections = async (knex: Knex): Promise<Map<string, ConnectionRow>> => {
  const rows = await knex(TABLE).select<Record<string, unknown>[]>('*');
  return new Map(rows.map((row) => [row.number_id as string, rowOf(row)]));
};
