import type { Knex } from 'knex';
import type { SessionEvent } from '#domain/identity/events.js';
import { isRole } from '#domain/identity/events.js';
import type { SessionReadModel } from '#application/identity/allowlist.js';
import type { RecordedEvent } from '#application/shared/eventStore.js';
import type { Projection } from '#projections/shared/projection.js';
import { RowBatch } from '#projections/shared/batchRows.js';

const TABLE = 'sessions';
const COLUMNS = ['id', 'account_id', 'status', 'expires_at', 'started_at', 'ended_at', 'end_reason', 'position'];

/**
 * The session allowlist: one row per session, `active` until a SessionRevoked ends it. A token is
 * valid only while its session is active here (application/identity/allowlist.ts), and the role is
 * read from the accounts read model in the same query, never from the token.
 * A SessionRevoked may arrive for a session that never started (a reset racing with a login): the
 * row is then created revoked, and the late SessionStarted cannot bring it back.
 */
export const sessionsProjection: Projection = {
  name: 'sessions',
  version: 1,
  tables: [TABLE],
  handles: ['SessionStarted', 'RefreshTokenRotated', 'SessionRevoked'] satisfies SessionEvent['type'][],
  async apply(trx, recorded) {
    const event = recorded as RecordedEvent<SessionEvent>;
    const at = event.metadata.occurredAt;
    switch (event.type) {
      case 'SessionStarted':
        await trx(TABLE)
          .insert({
            id: event.data.sessionId,
            account_id: event.data.accountId,
            status: 'active',
            expires_at: event.data.expiresAt,
            started_at: at,
            position: event.position,
          })
          .onConflict('id')
          .ignore();
        return;
      case 'RefreshTokenRotated':
        await trx(TABLE)
          .where({ id: event.data.sessionId, status: 'active' })
          .update({ expires_at: event.data.expiresAt, position: event.position });
        return;
      case 'SessionRevoked':
        await trx(TABLE)
          .insert({
            id: event.data.sessionId,
            account_id: event.data.accountId,
            status: 'revoked',
            ended_at: at,
            end_reason: event.data.reason,
            position: event.position,
          })
          .onConflict('id')
          .merge({ status: 'revoked', ended_at: at, end_reason: event.data.reason, position: event.position });
        return;
      default: {
        const _exhaustive: never = event;
        return;
      }
    }
  },
  // The same rules as `apply`, folded in memory: one select of the touched sessions, one upsert.
  async applyBatch(trx, recorded) {
    const events = recorded as readonly RecordedEvent<SessionEvent>[];
    const rows = new RowBatch(TABLE, 'id', COLUMNS);
    await rows.load(
      trx,
      events.map((event) => event.data.sessionId),
    );
    for (const event of events) {
      const id = event.data.sessionId;
      const at = event.metadata.occurredAt;
      const row = rows.get(id);
      switch (event.type) {
        case 'SessionStarted':
          if (row === undefined)
            rows.set(id, {
              id,
              account_id: event.data.accountId,
              status: 'active',
              expires_at: event.data.expiresAt,
              started_at: at,
              ended_at: null,
              end_reason: null,
              position: event.position,
            });
          break;
        case 'RefreshTokenRotated':
          if (row?.status === 'active') rows.update(id, { expires_at: event.data.expiresAt, position: event.position });
          break;
        case 'SessionRevoked':
          if (row === undefined)
            rows.set(id, {
              id,
              account_id: event.data.accountId,
              status: 'revoked',
              expires_at: null,
              started_at: null,
              ended_at: at,
              end_reason: event.data.reason,
              position: event.position,
            });
          else
            rows.update(id, {
              status: 'revoked',
              ended_at: at,
              end_reason: event.data.reason,
              position: event.position,
            });
          break;
        default: {
          const _exhaustive: never = event;
        }
      }
    }
    await rows.flush(trx);
  },
};

type SessionJoinRow = {
  account_id: string;
  status: string;
  expires_at: Date | string | null;
  username: string | null;
  role: string | null;
  account_status: string | null;
};

export const sessionsReader = (knex: Knex): SessionReadModel => ({
  async find(sessionId) {
    const row: SessionJoinRow | undefined = await knex(TABLE)
      .leftJoin('accounts', 'accounts.id', `${TABLE}.account_id`)
      .where(`${TABLE}.id`, sessionId)
      .first<SessionJoinRow | undefined>(
        `${TABLE}.account_id`,
        `${TABLE}.status`,
        `${TABLE}.expires_at`,
        'accounts.username',
        'accounts.role',
        'accounts.status as account_status',
      );
    if (!row) return null;
    return {
      sessionId,
      accountId: row.account_id,
      status: row.status === 'active' ? 'active' : 'revoked',
      expiresAt: row.expires_at === null ? null : new Date(row.expires_at),
      account:
        row.username !== null && isRole(row.role)
          ? { username: row.username, role: row.role, disabled: row.account_status === 'disabled' }
          : null,
    };
  },
  async endedAmong(sessionIds, now) {
    if (sessionIds.length === 0) return new Set();
    const rows = await knex(TABLE)
      .whereIn('id', [...sessionIds])
      .andWhere((q) => void q.whereNot({ status: 'active' }).orWhere('expires_at', '<=', now))
      .select<Array<{ id: string }>>('id');
    return new Set(rows.map((r) => r.id));
  },
  async activeOf(accountId) {
    const rows = await knex(TABLE)
      .where({ account_id: accountId, status: 'active' })
      .select<Array<{ id: string }>>('id');
    return rows.map((r) => r.id);
  },
});
