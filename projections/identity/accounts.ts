import type { Knex } from 'knex';
import type { AccountsReadModel } from '#application/identity/login.js';
import type { AccountEvent } from '#domain/identity/events.js';
import type { RecordedEvent } from '#application/shared/eventStore.js';
import type { Projection } from '#projections/runner.js';
import { epochMs, RowBatch } from '#projections/shared/batchRows.js';

const TABLE = 'accounts';
const COLUMNS = [
  'id',
  'username',
  'role',
  'status',
  'locked_until',
  'lockout_count',
  'failed_logins',
  'last_login_at',
  'last_login_ip',
  'created_at',
  'created_by',
  'updated_at',
  'position',
] as const;

type Handled = Exclude<AccountEvent, { type: 'SourceLocked' | 'SourceUnlocked' }>;

/**
 * One row per account: what the console lists, and the role and status every request is
 * authorised with (application/identity/allowlist.ts). Never holds a password hash.
 * `locked_until` is the account-wide lock; source locks are in login_locks (loginLocks.ts).
 */
export const accountsProjection: Projection = {
  name: 'accounts',
  version: 2,
  tables: [TABLE],
  handles: [
    'AccountCreated',
    'RoleChanged',
    'AccountDisabled',
    'AccountEnabled',
    'AccountLocked',
    'AccountUnlocked',
    'LoginSucceeded',
    'LoginFailed',
    'PasswordChanged',
  ] satisfies Handled['type'][],
  async apply(trx, recorded) {
    const event = recorded as RecordedEvent<Handled>;
    const id = event.data.accountId;
    const at = event.metadata.occurredAt;
    const touch = { updated_at: at, position: event.position };
    const update = (changes: Record<string, unknown>) =>
      trx(TABLE)
        .where({ id })
        .update({ ...changes, ...touch });
    switch (event.type) {
      case 'AccountCreated':
        await trx(TABLE)
          .insert({
            id,
            username: event.data.username,
            role: event.data.role,
            status: 'active',
            created_at: at,
            created_by: event.data.createdBy,
            ...touch,
          })
          .onConflict('id')
          .ignore();
        return;
      case 'RoleChanged':
        return void (await update({ role: event.data.role }));
      case 'AccountDisabled':
        return void (await update({ status: 'disabled' }));
      case 'AccountEnabled':
        return void (await trx.raw(
          `update ${TABLE} set status = case when locked_until > ? then 'locked' else 'active' end, updated_at = ?, position = ? where id = ?`,
          [at, at, event.position, id],
        ));
      case 'AccountLocked':
        return void (await trx.raw(
          `update ${TABLE} set status = case when status = 'disabled' then status else 'locked' end, locked_until = ?, lockout_count = ?, updated_at = ?, position = ? where id = ?`,
          [event.data.until, event.data.lockoutCount, at, event.position, id],
        ));
      case 'AccountUnlocked':
        return void (await trx.raw(
          `update ${TABLE} set status = case when status = 'disabled' then status else 'active' end, locked_until = null, failed_logins = 0, updated_at = ?, position = ? where id = ?`,
          [at, event.position, id],
        ));
      case 'LoginSucceeded':
        return void (await update({ last_login_at: event.data.at, last_login_ip: event.data.ip }));
      case 'LoginFailed':
        if (event.data.reason === 'account_locked') return;
        return void (await update({ failed_logins: event.data.accountFailureCount ?? event.data.failureCount }));
      case 'PasswordChanged':
        return void (await update({}));
      default: {
        const _exhaustive: never = event;
        return;
      }
    }
  },
  // The same rules as `apply`, folded in memory: one select of the touched accounts, one upsert.
  async applyBatch(trx, recorded) {
    const events = recorded as readonly RecordedEvent<Handled>[];
    const rows = new RowBatch(TABLE, 'id', COLUMNS);
    await rows.load(
      trx,
      events.map((event) => event.data.accountId),
    );
    for (const event of events) {
      const id = event.data.accountId;
      const at = event.metadata.occurredAt;
      const touch = { updated_at: at, position: event.position };
      const row = rows.get(id);
      switch (event.type) {
        case 'AccountCreated':
          if (row === undefined)
            rows.set(id, {
              id,
              username: event.data.username,
              role: event.data.role,
              status: 'active',
              locked_until: null,
              lockout_count: 0,
              failed_logins: 0,
              last_login_at: null,
              last_login_ip: null,
              created_at: at,
              created_by: event.data.createdBy,
              ...touch,
            });
          break;
        case 'RoleChanged':
          rows.update(id, { role: event.data.role, ...touch });
          break;
        case 'AccountDisabled':
          rows.update(id, { status: 'disabled', ...touch });
          break;
        case 'AccountEnabled': {
          const until = epochMs(row?.locked_until);
          rows.update(id, { status: until !== null && until > epochMs(at)! ? 'locked' : 'active', ...touch });
          break;
        }
        case 'AccountLocked':
          rows.update(id, {
            status: row?.status === 'disabled' ? 'disabled' : 'locked',
            locked_until: event.data.until,
            lockout_count: event.data.lockoutCount,
            ...touch,
          });
          break;
        case 'AccountUnlocked':
          rows.update(id, {
            status: row?.status === 'disabled' ? 'disabled' : 'active',
            locked_until: null,
            failed_logins: 0,
            ...touch,
          });
          break;
        case 'LoginSucceeded':
          rows.update(id, { last_login_at: event.data.at, last_login_ip: event.data.ip, ...touch });
          break;
        case 'LoginFailed':
          if (event.data.reason === 'account_locked') break;
          rows.update(id, { failed_logins: event.data.accountFailureCount ?? event.data.failureCount, ...touch });
          break;
        case 'PasswordChanged':
          rows.update(id, touch);
          break;
        default: {
          const _exhaustive: never = event;
        }
      }
    }
    await rows.flush(trx);
  },
};

export type AccountRow = {
  id: string;
  username: string;
  role: string;
  status: string;
  locked_until: string | null;
  failed_logins: number;
  last_login_at: string | null;
  created_at: string;
};

const iso = (value: unknown): string | null =>
  value === null || value === undefined ? null : new Date(value as string).toISOString();

export const listAccounts = async (knex: Knex): Promise<AccountRow[]> => {
  const rows = await knex(TABLE)
    .select('id', 'username', 'role', 'status', 'locked_until', 'failed_logins', 'last_login_at', 'created_at')
    .orderBy('username');
  return rows.map((row: Record<string, unknown>) => ({
    id: row.id as string,
    username: row.username as string,
    role: row.role as string,
    status: row.status as string,
    locked_until: iso(row.locked_until),
    failed_logins: Number(row.failed_logins),
    last_login_at: iso(row.last_login_at),
    created_at: iso(row.created_at)!,
  }));
};

/** The accounts read model's answers to the rules that span accounts (application/identity/login.ts). */
export const accountsReader = (knex: Knex): AccountsReadModel => ({
  async activeAdminIds() {
    const rows = await knex(TABLE)
      .where({ role: 'admin' })
      .whereNot({ status: 'disabled' })
      .select<Array<{ id: string }>>('id');
    return rows.map((r) => r.id);
  },
});
