import type { Knex } from 'knex';
import type { RecordedEvent } from '#application/shared/eventStore.js';
import type { Projection } from '#projections/runner.js';

const TABLE = 'accounts';

/** One row per account: what the console lists. Never holds a password hash. */
export const accountsProjection: Projection = {
  name: 'accounts',
  version: 1,
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
  ],
  async apply(trx, event) {
    const data = event.data;
    const id = data.accountId as string;
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
            username: data.username,
            role: data.role,
            status: 'active',
            created_at: at,
            created_by: data.createdBy,
            ...touch,
          })
          .onConflict('id')
          .ignore();
        return;
      case 'RoleChanged':
        return void (await update({ role: data.role }));
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
          [data.until as string, data.lockoutCount as number, at, event.position, id],
        ));
      case 'AccountUnlocked':
        return void (await trx.raw(
          `update ${TABLE} set status = case when status = 'disabled' then status else 'active' end, locked_until = null, failed_logins = 0, updated_at = ?, position = ? where id = ?`,
          [at, event.position, id],
        ));
      case 'LoginSucceeded':
        return void (await update({ failed_logins: 0, last_login_at: data.at ?? at, last_login_ip: data.ip ?? null }));
      case 'LoginFailed':
        if (data.reason !== 'wrong_password') return;
        return void (await update({ failed_logins: data.failureCount }));
      case 'PasswordChanged':
        return void (await update({}));
      default:
        return;
    }
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

/** For tests and tooling: the events this projection would fold, in order. */
export const isAccountEvent = (event: RecordedEvent): boolean => accountsProjection.handles.includes(event.type);

/** Accounts whose lock has run out by `now` but that no AccountUnlocked has released yet (the scheduler's job). */
export const expiredLockouts = async (knex: Knex, now: Date): Promise<string[]> =>
  (await knex(TABLE).where('status', 'locked').andWhere('locked_until', '<=', now).select<{ id: string }[]>('id')).map(
    (row) => row.id,
  );
