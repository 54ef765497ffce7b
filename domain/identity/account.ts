import type { Decider } from '#domain/shared/event.js';
import type { AccountEvent, Command, LockoutEvent, LoginSucceeded, Role } from './events.js';
import { sourceOf } from './events.js';
import { AccountAlreadyExists, AccountNotFound, UnknownIdentityCommand } from './errors.js';
import {
  decideAdminUnlock,
  decideExpiredUnlocks,
  decideFailure,
  decideSuccessUnlocks,
  evolveLockout,
  evolveSuccess,
  initialLockout,
  lockFor,
  lockoutRefuses,
  type Attempt,
  type Lockout,
  type LockoutPolicy,
} from './lockout.js';
import { toMillis } from './time.js';

export type { Role } from './events.js';
export { DEFAULT_LOCKOUT_POLICY, type LockoutPolicy } from './lockout.js';

/**
 * Account aggregate, stream `account-<accountId>`. Besides the profile it decides brute-force
 * lockout (domain/identity/lockout.ts) from its own stream, so two concurrent wrong passwords cannot
 * both slip under the limit: the second append fails on the expected revision and is decided again.
 */

type Profile = Readonly<{
  accountId: string;
  username: string;
  role: Role;
  passwordHash: string;
  lockout: Lockout;
  /**
   * Sessions opened (LoginSucceeded) since the last event that ends them all (password, role,
   * disable): the ones such an event must revoke, even those no read model has seen yet.
   */
  sessions: readonly string[];
}>;

export type Account =
  | Readonly<{ status: 'none' }>
  | (Profile & Readonly<{ status: 'active' }>)
  | (Profile & Readonly<{ status: 'disabled' }>);

export type CreateAccount = Command<
  'CreateAccount',
  { accountId: string; username: string; role: Role; passwordHash: string; createdBy: string }
>;
export type ChangePassword = Command<'ChangePassword', { accountId: string; passwordHash: string; changedBy: string }>;
export type ChangeRole = Command<'ChangeRole', { accountId: string; role: Role; changedBy: string }>;
export type DisableAccount = Command<'DisableAccount', { accountId: string; by: string }>;
export type EnableAccount = Command<'EnableAccount', { accountId: string; by: string }>;
/**
 * expiredOnly: the expiry job, which unlocks only locks that have run out at `now`; otherwise an
 * admin (or the CLI) unlocks the account-wide lock and every source lock, or only `source`'s.
 */
export type UnlockAccount = Command<
  'UnlockAccount',
  { accountId: string; by: string; now: string; source?: string | null; expiredOnly?: boolean }
>;
/** The password was checked against this very state's hash (inside the command handler). */
export type RecordLoginAttempt = Command<
  'RecordLoginAttempt',
  {
    accountId: string;
    passwordMatches: boolean;
    ip: string | null;
    userAgent: string | null;
    /** the session a success opens */
    sessionId: string;
    /** ISO-8601 */
    now: string;
    policy: LockoutPolicy;
  }
>;

export type AccountCommand =
  CreateAccount | ChangePassword | ChangeRole | DisableAccount | EnableAccount | UnlockAccount | RecordLoginAttempt;

export const initialState = (): Account => ({ status: 'none' });

const existing = (state: Account, accountId: string): Exclude<Account, { status: 'none' }> => {
  if (state.status === 'none') throw new AccountNotFound(accountId);
  return state;
};

/** Whether a lock refuses `ip` at `now` (the source's or the account's); the password is not worth checking then. */
export const lockedFor = (state: Account, ip: string | null, now: string): boolean =>
  state.status !== 'none' && lockoutRefuses(state.lockout, ip, now);

const recordLoginAttempt = ({ data: c }: RecordLoginAttempt, state: Account): AccountEvent[] => {
  // No account: the caller records the attempt on the name's own stream (unknownLogin.ts).
  if (state.status === 'none') return [];
  const attempt: Attempt = {
    accountId: state.accountId,
    username: state.username,
    ip: c.ip,
    userAgent: c.userAgent,
    source: sourceOf(c.ip),
    now: c.now,
  };
  if (
    lockFor(state.lockout, attempt.source, toMillis(c.now)) !== null ||
    state.status === 'disabled' ||
    !c.passwordMatches
  )
    return decideFailure(
      state.lockout,
      attempt,
      state.status === 'disabled' ? 'account_disabled' : 'wrong_password',
      c.policy,
    );
  const succeeded: LoginSucceeded = {
    type: 'LoginSucceeded',
    data: {
      accountId: state.accountId,
      username: state.username,
      ip: c.ip,
      userAgent: c.userAgent,
      sessionId: c.sessionId,
      at: c.now,
    },
  };
  return [...decideSuccessUnlocks(state.lockout, attempt), succeeded];
};

const unlock = ({ data: c }: UnlockAccount, state: Account): AccountEvent[] => {
  const account = existing(state, c.accountId);
  return c.expiredOnly
    ? decideExpiredUnlocks(account.lockout, { accountId: account.accountId, now: c.now })
    : decideAdminUnlock(account.lockout, { accountId: account.accountId, by: c.by, source: c.source ?? null });
};

export const decide = (command: AccountCommand, state: Account): AccountEvent[] => {
  switch (command.type) {
    case 'CreateAccount': {
      if (state.status !== 'none') throw new AccountAlreadyExists(command.data.accountId);
      const { accountId, username, role, passwordHash, createdBy } = command.data;
      return [{ type: 'AccountCreated', data: { accountId, username, role, passwordHash, createdBy } }];
    }
    case 'ChangePassword': {
      const account = existing(state, command.data.accountId);
      const { passwordHash, changedBy } = command.data;
      return [{ type: 'PasswordChanged', data: { accountId: account.accountId, passwordHash, changedBy } }];
    }
    case 'ChangeRole': {
      const account = existing(state, command.data.accountId);
      if (account.role === command.data.role) return [];
      const { role, changedBy } = command.data;
      return [
        { type: 'RoleChanged', data: { accountId: account.accountId, role, previousRole: account.role, changedBy } },
      ];
    }
    case 'DisableAccount': {
      const account = existing(state, command.data.accountId);
      return account.status === 'disabled'
        ? []
        : [{ type: 'AccountDisabled', data: { accountId: account.accountId, by: command.data.by } }];
    }
    case 'EnableAccount': {
      const account = existing(state, command.data.accountId);
      return account.status !== 'disabled'
        ? []
        : [{ type: 'AccountEnabled', data: { accountId: account.accountId, by: command.data.by } }];
    }
    case 'UnlockAccount':
      return unlock(command, state);
    case 'RecordLoginAttempt':
      return recordLoginAttempt(command, state);
    default: {
      const _exhaustive: never = command;
      throw new UnknownIdentityCommand((_exhaustive as { type?: unknown }).type);
    }
  }
};

const isLockoutEvent = (event: AccountEvent): event is LockoutEvent =>
  event.type === 'LoginFailed' ||
  event.type === 'SourceLocked' ||
  event.type === 'SourceUnlocked' ||
  event.type === 'AccountLocked' ||
  event.type === 'AccountUnlocked';

export const evolve = (state: Account, event: AccountEvent): Account => {
  if (event.type === 'AccountCreated') {
    if (state.status !== 'none') return state;
    const { accountId, username, role, passwordHash } = event.data;
    return { status: 'active', accountId, username, role, passwordHash, lockout: initialLockout(), sessions: [] };
  }
  if (state.status === 'none') return state;
  if (isLockoutEvent(event)) return { ...state, lockout: evolveLockout(state.lockout, event) };
  switch (event.type) {
    case 'PasswordChanged':
      return { ...state, passwordHash: event.data.passwordHash, sessions: [] };
    case 'RoleChanged':
      return { ...state, role: event.data.role, sessions: [] };
    case 'AccountDisabled':
      return { ...state, status: 'disabled', sessions: [] };
    case 'AccountEnabled':
      return { ...state, status: 'active' };
    case 'LoginSucceeded':
      return {
        ...state,
        lockout: evolveSuccess(state.lockout, sourceOf(event.data.ip)),
        sessions: [...state.sessions, event.data.sessionId],
      };
    default: {
      const _exhaustive: never = event;
      return state;
    }
  }
};

export const accountDecider: Decider<Account, AccountCommand, AccountEvent> = { decide, evolve, initialState };

// ---------- pure queries ----------

/** The account-wide lock in force at `now` (ISO-8601), or null. */
export const accountLockedUntil = (state: Account, now: string): string | null =>
  state.status === 'none' ||
  state.lockout.lockedUntil === null ||
  toMillis(now) >= Date.parse(state.lockout.lockedUntil)
    ? null
    : state.lockout.lockedUntil;

export type LoginOutcome =
  | Readonly<{ kind: 'succeeded'; sessionId: string }>
  | Readonly<{ kind: 'failed'; reason: 'wrong_password' | 'account_disabled' | 'unknown_user'; failureCount: number }>
  /** justLocked: this very attempt started the lock */
  | Readonly<{ kind: 'locked'; until: string; justLocked: boolean }>;

/** What the events decided for a login attempt mean; null when they hold no attempt. */
export const loginOutcome = (events: readonly AccountEvent[]): LoginOutcome | null => {
  for (const e of events) {
    if (e.type === 'LoginSucceeded') return { kind: 'succeeded', sessionId: e.data.sessionId };
    if (e.type !== 'LoginFailed') continue;
    if (e.data.lockedUntil !== null)
      return { kind: 'locked', until: e.data.lockedUntil, justLocked: e.data.reason !== 'account_locked' };
    if (e.data.reason === 'account_locked') return { kind: 'locked', until: '', justLocked: false };
    return { kind: 'failed', reason: e.data.reason, failureCount: e.data.failureCount };
  }
  return null;
};
