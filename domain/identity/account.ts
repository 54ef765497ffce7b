import type { Decider } from '#domain/shared/event.js';
import type {
  AccountEvent,
  AccountLocked,
  AccountUnlocked,
  Command,
  LoginFailed,
  LoginFailureReason,
  LoginSucceeded,
  Role,
} from './events.js';
import { AccountAlreadyExists, AccountNotFound, InvalidLockoutPolicy, UnknownIdentityCommand } from './errors.js';
import { toIso, toMillis } from './time.js';

export type { Role } from './events.js';

/**
 * Account aggregate, stream `account-<accountId>`. Besides the profile it decides brute-force
 * lockout (modelled on Keycloak's brute-force detection), from its own stream, so two concurrent
 * wrong passwords cannot both slip under the limit: the second append fails on the expected revision.
 */

export type LockoutPolicy = Readonly<{
  /** the wrong password that reaches this count inside the window locks the account */
  maxFailures: number;
  failureWindowSeconds: number;
  /** first lockout */
  baseLockSeconds: number;
  /** cap for repeated lockouts */
  maxLockSeconds: number;
  /** lockout n lasts base * multiplier^(n-1), capped */
  multiplier: number;
}>;

export const DEFAULT_LOCKOUT_POLICY: LockoutPolicy = {
  maxFailures: 5,
  failureWindowSeconds: 15 * 60,
  baseLockSeconds: 60,
  maxLockSeconds: 15 * 60,
  multiplier: 2,
};

type Profile = Readonly<{
  accountId: string;
  username: string;
  role: Role;
  passwordHash: string;
  /** ISO instants of the wrong passwords that may still count toward the next lockout, oldest first */
  failures: readonly string[];
  /** lockouts since the last successful login (or admin unlock) */
  lockoutCount: number;
}>;

export type Account =
  | Readonly<{ status: 'none' }>
  | (Profile & Readonly<{ status: 'active' }>)
  /** a lock was recorded; whether it is still in force depends on now: see isLocked */
  | (Profile & Readonly<{ status: 'locked'; lockedUntil: string }>)
  | (Profile & Readonly<{ status: 'disabled'; lockedUntil: string | null }>);

export type CreateAccount = Command<
  'CreateAccount',
  { accountId: string; username: string; role: Role; passwordHash: string; createdBy: string }
>;
export type ChangePassword = Command<'ChangePassword', { accountId: string; passwordHash: string; changedBy: string }>;
export type ChangeRole = Command<'ChangeRole', { accountId: string; role: Role; changedBy: string }>;
export type DisableAccount = Command<'DisableAccount', { accountId: string; by: string }>;
export type EnableAccount = Command<'EnableAccount', { accountId: string; by: string }>;
/** by: an admin id (always unlocks), or 'system' (the expiry job: unlocks only a lock that has expired at `now`) */
export type UnlockAccount = Command<'UnlockAccount', { accountId: string; by: string; now: string }>;
/** The password was checked outside (argon2); this records the attempt and decides lockout. */
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

const lockOf = (state: Account): string | null =>
  state.status === 'locked' || state.status === 'disabled' ? state.lockedUntil : null;

export const validateLockoutPolicy = (p: LockoutPolicy): LockoutPolicy => {
  const positive = (n: number) => Number.isFinite(n) && n > 0;
  if (!Number.isInteger(p.maxFailures) || p.maxFailures < 1)
    throw new InvalidLockoutPolicy('maxFailures must be an integer >= 1');
  if (!positive(p.failureWindowSeconds)) throw new InvalidLockoutPolicy('failureWindowSeconds must be > 0');
  if (!positive(p.baseLockSeconds)) throw new InvalidLockoutPolicy('baseLockSeconds must be > 0');
  if (!positive(p.maxLockSeconds) || p.maxLockSeconds < p.baseLockSeconds)
    throw new InvalidLockoutPolicy('maxLockSeconds must be >= baseLockSeconds');
  if (!Number.isFinite(p.multiplier) || p.multiplier < 1) throw new InvalidLockoutPolicy('multiplier must be >= 1');
  return p;
};

/** Duration of the n-th lockout (n >= 1). Overflow to Infinity is harmless: it is capped. */
export const lockSeconds = (policy: LockoutPolicy, lockoutCount: number): number =>
  Math.min(policy.baseLockSeconds * policy.multiplier ** Math.max(0, lockoutCount - 1), policy.maxLockSeconds);

const failuresInWindow = (failures: readonly string[], nowMs: number, policy: LockoutPolicy): number =>
  failures.filter((at) => nowMs - Date.parse(at) < policy.failureWindowSeconds * 1000).length;

const recordLoginAttempt = ({ data: c }: RecordLoginAttempt, state: Account): AccountEvent[] => {
  const account = existing(state, c.accountId);
  const policy = validateLockoutPolicy(c.policy);
  const nowMs = toMillis(c.now);
  const attempt = {
    accountId: account.accountId,
    username: account.username,
    ip: c.ip,
    userAgent: c.userAgent,
    at: c.now,
  };
  const failed = (reason: LoginFailureReason, failureCount: number, lockedUntil: string | null): LoginFailed => ({
    type: 'LoginFailed',
    data: { ...attempt, reason, failureCount, lockedUntil },
  });

  // Disabled wins over everything, and refused attempts never feed the lockout counter.
  if (account.status === 'disabled')
    return [failed('account_disabled', failuresInWindow(account.failures, nowMs, policy), null)];

  const events: AccountEvent[] = [];
  let failures = account.failures;
  if (account.status === 'locked') {
    const until = toMillis(account.lockedUntil, 'lockedUntil');
    if (nowMs < until) return [failed('account_locked', 0, account.lockedUntil)];
    // The lock has run out: record it, so read models see the account usable again; counting restarts.
    events.push({
      type: 'AccountUnlocked',
      data: { accountId: account.accountId, by: 'system' },
    } satisfies AccountUnlocked);
    failures = [];
  }

  if (c.passwordMatches) {
    events.push({ type: 'LoginSucceeded', data: { ...attempt, sessionId: c.sessionId } } satisfies LoginSucceeded);
    return events;
  }

  const failureCount = failuresInWindow(failures, nowMs, policy) + 1;
  if (failureCount < policy.maxFailures) return [...events, failed('wrong_password', failureCount, null)];

  const lockoutCount = account.lockoutCount + 1;
  const until = toIso(nowMs + lockSeconds(policy, lockoutCount) * 1000);
  const locked: AccountLocked = {
    type: 'AccountLocked',
    data: { accountId: account.accountId, until, lockoutCount, failures: failureCount },
  };
  return [...events, failed('wrong_password', failureCount, until), locked];
};

const unlock = ({ data: c }: UnlockAccount, state: Account): AccountEvent[] => {
  const account = existing(state, c.accountId);
  const until = lockOf(account);
  if (until === null) return [];
  // The expiry job may fire for a lock that a newer lockout has since replaced.
  if (c.by === 'system' && toMillis(c.now) < toMillis(until, 'lockedUntil')) return [];
  return [{ type: 'AccountUnlocked', data: { accountId: account.accountId, by: c.by } }];
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
      return [
        {
          type: 'PasswordChanged',
          data: {
            accountId: account.accountId,
            passwordHash: command.data.passwordHash,
            changedBy: command.data.changedBy,
          },
        },
      ];
    }
    case 'ChangeRole': {
      const account = existing(state, command.data.accountId);
      if (account.role === command.data.role) return [];
      return [
        {
          type: 'RoleChanged',
          data: {
            accountId: account.accountId,
            role: command.data.role,
            previousRole: account.role,
            changedBy: command.data.changedBy,
          },
        },
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

export const evolve = (state: Account, event: AccountEvent): Account => {
  if (event.type === 'AccountCreated') {
    if (state.status !== 'none') return state;
    const { accountId, username, role, passwordHash } = event.data;
    return { status: 'active', accountId, username, role, passwordHash, failures: [], lockoutCount: 0 };
  }
  if (state.status === 'none') return state;
  switch (event.type) {
    case 'PasswordChanged':
      return { ...state, passwordHash: event.data.passwordHash };
    case 'RoleChanged':
      return { ...state, role: event.data.role };
    case 'AccountDisabled':
      return { ...state, status: 'disabled', lockedUntil: lockOf(state) };
    case 'AccountEnabled': {
      if (state.status !== 'disabled') return state;
      const { lockedUntil, ...rest } = state;
      return lockedUntil === null ? { ...rest, status: 'active' } : { ...rest, status: 'locked', lockedUntil };
    }
    case 'LoginSucceeded': {
      const cleared = { ...state, failures: [], lockoutCount: 0 };
      if (cleared.status !== 'locked') return cleared;
      const { lockedUntil: _gone, ...rest } = cleared;
      return { ...rest, status: 'active' };
    }
    case 'LoginFailed': {
      if (event.data.reason !== 'wrong_password') return state;
      // failureCount says how many of the latest failures still count, so the list stays bounded.
      const n = event.data.failureCount;
      return { ...state, failures: n > 0 ? [...state.failures, event.data.at].slice(-n) : [] };
    }
    case 'AccountLocked':
      return state.status === 'disabled'
        ? { ...state, failures: [], lockoutCount: event.data.lockoutCount, lockedUntil: event.data.until }
        : {
            ...state,
            status: 'locked',
            failures: [],
            lockoutCount: event.data.lockoutCount,
            lockedUntil: event.data.until,
          };
    case 'AccountUnlocked': {
      // Expiry keeps the escalation (the next lockout lasts longer); an admin's unlock forgives it.
      const lockoutCount = event.data.by === 'system' ? state.lockoutCount : 0;
      if (state.status === 'disabled') return { ...state, failures: [], lockoutCount, lockedUntil: null };
      if (state.status !== 'locked') return { ...state, failures: [], lockoutCount };
      const { lockedUntil: _gone, ...rest } = state;
      return { ...rest, status: 'active', failures: [], lockoutCount };
    }
    default: {
      const _exhaustive: never = event;
      return state;
    }
  }
};

export const accountDecider: Decider<Account, AccountCommand, AccountEvent> = { decide, evolve, initialState };

// ---------- pure queries for the HTTP layer ----------

/** The lock recorded in the stream, whether or not it is still in force. */
export const lockedUntil = (state: Account): string | null => lockOf(state);

/** True while a recorded lock has not run out at `now` (ISO-8601). */
export const isLocked = (state: Account, now: string): boolean => {
  const until = lockOf(state);
  return until !== null && toMillis(now) < Date.parse(until);
};

export type LoginOutcome =
  | Readonly<{ kind: 'succeeded'; sessionId: string }>
  | Readonly<{ kind: 'wrong_password'; failureCount: number }>
  /** justLocked: this very attempt triggered the lockout (the caller may answer 401 or 423) */
  | Readonly<{ kind: 'locked'; until: string; justLocked: boolean }>
  | Readonly<{ kind: 'disabled' }>;

/** What the events decided for a RecordLoginAttempt mean; null when they hold no login attempt. */
export const loginOutcome = (events: readonly AccountEvent[]): LoginOutcome | null => {
  const locked = events.find((e): e is AccountLocked => e.type === 'AccountLocked');
  if (locked) return { kind: 'locked', until: locked.data.until, justLocked: true };
  for (const e of events) {
    if (e.type === 'LoginSucceeded') return { kind: 'succeeded', sessionId: e.data.sessionId };
    if (e.type !== 'LoginFailed') continue;
    switch (e.data.reason) {
      case 'wrong_password':
        return { kind: 'wrong_password', failureCount: e.data.failureCount };
      case 'account_locked':
        return { kind: 'locked', until: e.data.lockedUntil ?? '', justLocked: false };
      case 'account_disabled':
        return { kind: 'disabled' };
      case 'unknown_user':
        return null;
      default: {
        const _exhaustive: never = e.data.reason;
        return null;
      }
    }
  }
  return null;
};
