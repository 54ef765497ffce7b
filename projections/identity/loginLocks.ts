import type { Knex } from 'knex';
import type { LockoutEvent } from '#domain/identity/events.js';
import type { RecordedEvent } from '#application/shared/eventStore.js';
import type { Projection } from '#projections/shared/projection.js';

const TABLE = 'login_locks';
/** the source column of an account-wide lock */
const ACCOUNT_WIDE = '';

type LockEvent = Extract<
  LockoutEvent,
  { type: 'SourceLocked' | 'SourceUnlocked' | 'AccountLocked' | 'AccountUnlocked' }
>;

/**
 * Which logins are locked, for the console: one row per locked account + source pair, and one per
 * account-wide lock (source ''), for accounts and for names that have no account (their attempts
 * live on `login-unknown-<id>`). A row stays until its unlock event; queries hide expired ones.
 */
export const loginLocksProjection: Projection = {
  name: 'login-locks',
  version: 1,
  tables: [TABLE],
  handles: ['SourceLocked', 'SourceUnlocked', 'AccountLocked', 'AccountUnlocked'] satisfies LockEvent['type'][],
  async apply(trx, recorded) {
    const event = recorded as RecordedEvent<LockEvent>;
    const known = !event.streamId.startsWith('login-unknown-');
    const at = event.metadata.occurredAt;
    const upsert = async (row: Record<string, unknown>) =>
      void (await trx(TABLE)
        .insert({ ...row, known, locked_at: at, position: event.position })
        .onConflict(['account_id', 'source'])
        .merge());
    switch (event.type) {
      case 'SourceLocked':
        return upsert({
          account_id: event.data.accountId,
          source: event.data.source,
          username: event.data.username,
          locked_until: event.data.until,
          lockout_count: event.data.lockoutCount,
          failures: event.data.failures,
        });
      case 'AccountLocked':
        return upsert({
          account_id: event.data.accountId,
          source: ACCOUNT_WIDE,
          username: event.data.username ?? '',
          locked_until: event.data.until,
          lockout_count: event.data.lockoutCount,
          failures: event.data.failures,
        });
      case 'SourceUnlocked':
        return void (await trx(TABLE).where({ account_id: event.data.accountId, source: event.data.source }).delete());
      case 'AccountUnlocked':
        return void (await trx(TABLE).where({ account_id: event.data.accountId, source: ACCOUNT_WIDE }).delete());
      default: {
        const _exhaustive: never = event;
        return;
      }
    }
  },
};

export type LoginLockRow = {
  account_id: string;
  username: string;
  /** false: nobody has this username (the lock answers like an account's would) */
  known: boolean;
  scope: 'account' | 'source';
  /** the client address of a source lock; null for an account-wide lock */
  source: string | null;
  locked_until: string;
  lockout_count: number;
  failures: number;
};

/** Locks in force at `now`, account-wide ones first. */
export const listLoginLocks = async (knex: Knex, now: Date): Promise<LoginLockRow[]> => {
  const rows = await knex(TABLE)
    .where('locked_until', '>', now)
    .orderBy([{ column: 'source' }, { column: 'username' }])
    .select<Array<Record<string, unknown>>>('*');
  return rows.map((row) => ({
    account_id: String(row.account_id),
    username: String(row.username),
    known: Boolean(row.known),
    scope: row.source === ACCOUNT_WIDE ? 'account' : 'source',
    source: row.source === ACCOUNT_WIDE ? null : String(row.source),
    locked_until: new Date(row.locked_until as string).toISOString(),
    lockout_count: Number(row.lockout_count),
    failures: Number(row.failures),
  }));
};

/** For the lockout-expiry job: locks whose time has run out but whose unlock is not recorded yet. */
export const expiredLoginLocks = async (
  knex: Knex,
  now: Date,
): Promise<Array<{ accountId: string; known: boolean }>> => {
  const rows = await knex(TABLE)
    .where('locked_until', '<=', now)
    .distinct<Array<{ account_id: string; known: boolean }>>('account_id', 'known');
  return rows.map((r) => ({ accountId: r.account_id, known: Boolean(r.known) }));
};
