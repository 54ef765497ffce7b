import type {
  AccountLocked,
  AccountUnlocked,
  LockoutEvent,
  LoginFailed,
  LoginFailureReason,
  SourceLocked,
  SourceUnlocked,
} from './events.js';
import { sourceOf } from './events.js';
import { InvalidLockoutPolicy } from './errors.js';
import { toIso, toMillis } from './time.js';

/**
 * Brute-force lockout (ASVS 5.0 V6.3: "without enabling malicious account lockout"), shared by the
 * account aggregate and the stream of a username that has no account, so both answer alike.
 *
 * Failures are counted twice:
 * - per source (account + client address): `maxFailures` in the window lock that pair only, so an
 *   attacker cannot lock the real user out from the user's own address;
 * - per account across sources: `accountMaxFailures` (much higher) lock the whole account, which
 *   bounds how many guesses a botnet gets.
 * Lock durations grow with repeated locks (Keycloak's brute-force detection): base * multiplier^(n-1), capped.
 */
export type LockoutPolicy = Readonly<{
  /** the failure from one source that reaches this count inside the window locks that source */
  maxFailures: number;
  /** the failure (any source) that reaches this count inside the window locks the whole account */
  accountMaxFailures: number;
  failureWindowSeconds: number;
  /** first lock */
  baseLockSeconds: number;
  /** cap for repeated locks */
  maxLockSeconds: number;
  /** lock n lasts base * multiplier^(n-1), capped */
  multiplier: number;
}>;

export const DEFAULT_LOCKOUT_POLICY: LockoutPolicy = {
  maxFailures: 5,
  accountMaxFailures: 50,
  failureWindowSeconds: 15 * 60,
  baseLockSeconds: 60,
  maxLockSeconds: 15 * 60,
  multiplier: 2,
};

type Failure = Readonly<{
  at: string;
  source: string;
  /** no longer counts toward its source's lock (that source was locked or succeeded since) */
  spent: boolean;
}>;
type SourceLock = Readonly<{ lockedUntil: string | null; lockoutCount: number }>;

export type Lockout = Readonly<{
  /** failures that may still count toward the next lock, oldest first (bounded by the event counts) */
  failures: readonly Failure[];
  sources: Readonly<Record<string, SourceLock>>;
  /** account-wide lock, whether or not still in force at a given instant */
  lockedUntil: string | null;
  lockoutCount: number;
}>;

export const initialLockout = (): Lockout => ({ failures: [], sources: {}, lockedUntil: null, lockoutCount: 0 });

/** Most sources remembered per account: beyond it the oldest unlocked ones are forgotten. */
const MAX_SOURCES = 256;

export const validateLockoutPolicy = (p: LockoutPolicy): LockoutPolicy => {
  const positive = (n: number) => Number.isFinite(n) && n > 0;
  if (!Number.isInteger(p.maxFailures) || p.maxFailures < 1)
    throw new InvalidLockoutPolicy('maxFailures must be an integer >= 1');
  if (!Number.isInteger(p.accountMaxFailures) || p.accountMaxFailures < p.maxFailures)
    throw new InvalidLockoutPolicy('accountMaxFailures must be an integer >= maxFailures');
  if (!positive(p.failureWindowSeconds)) throw new InvalidLockoutPolicy('failureWindowSeconds must be > 0');
  if (!positive(p.baseLockSeconds)) throw new InvalidLockoutPolicy('baseLockSeconds must be > 0');
  if (!positive(p.maxLockSeconds) || p.maxLockSeconds < p.baseLockSeconds)
    throw new InvalidLockoutPolicy('maxLockSeconds must be >= baseLockSeconds');
  if (!Number.isFinite(p.multiplier) || p.multiplier < 1) throw new InvalidLockoutPolicy('multiplier must be >= 1');
  return p;
};

/** Duration of the n-th lock (n >= 1). Overflow to Infinity is harmless: it is capped. */
export const lockSeconds = (policy: LockoutPolicy, lockoutCount: number): number =>
  Math.min(policy.baseLockSeconds * policy.multiplier ** Math.max(0, lockoutCount - 1), policy.maxLockSeconds);

const inForce = (until: string | null, nowMs: number): boolean => until !== null && nowMs < Date.parse(until);

/** The lock that refuses `source` at `nowMs`, the later one when both the source and the account are locked. */
export const lockFor = (
  state: Lockout,
  source: string,
  nowMs: number,
): Readonly<{ scope: 'source' | 'account'; until: string }> | null => {
  const sourceUntil = state.sources[source]?.lockedUntil ?? null;
  const account = inForce(state.lockedUntil, nowMs) ? state.lockedUntil : null;
  const pair = inForce(sourceUntil, nowMs) ? sourceUntil : null;
  if (account !== null && (pair === null || Date.parse(account) >= Date.parse(pair)))
    return { scope: 'account', until: account };
  return pair === null ? null : { scope: 'source', until: pair };
};

/** Whether a lock refuses an attempt from `ip` at `now` (ISO-8601): the password is not worth checking then. */
export const lockoutRefuses = (state: Lockout, ip: string | null, now: string): boolean =>
  lockFor(state, sourceOf(ip), toMillis(now)) !== null;

export type Attempt = Readonly<{
  accountId: string;
  username: string;
  ip: string | null;
  userAgent: string | null;
  source: string;
  /** ISO-8601 */
  now: string;
}>;

/** Locks that ran out before `now` are recorded as unlocked, so read models see them gone. */
const expiredLocks = (state: Lockout, attempt: Attempt, nowMs: number): Array<SourceUnlocked | AccountUnlocked> => {
  const events: Array<SourceUnlocked | AccountUnlocked> = [];
  if (state.lockedUntil !== null && !inForce(state.lockedUntil, nowMs))
    events.push({ type: 'AccountUnlocked', data: { accountId: attempt.accountId, by: 'system' } });
  const sourceUntil = state.sources[attempt.source]?.lockedUntil ?? null;
  if (sourceUntil !== null && !inForce(sourceUntil, nowMs))
    events.push({
      type: 'SourceUnlocked',
      data: { accountId: attempt.accountId, source: attempt.source, by: 'system' },
    });
  return events;
};

const inWindow = (at: string, nowMs: number, policy: LockoutPolicy) =>
  nowMs - Date.parse(at) < policy.failureWindowSeconds * 1000;

/**
 * Decides one attempt that did not succeed: refused by a lock (not counted), or a failure that
 * counts toward the source's and the account's lock (and may start either).
 */
export const decideFailure = (
  current: Lockout,
  attempt: Attempt,
  reason: Exclude<LoginFailureReason, 'account_locked'>,
  policyIn: LockoutPolicy,
): LockoutEvent[] => {
  const policy = validateLockoutPolicy(policyIn);
  const nowMs = toMillis(attempt.now);
  const base = {
    accountId: attempt.accountId,
    username: attempt.username,
    ip: attempt.ip,
    userAgent: attempt.userAgent,
    at: attempt.now,
  };
  const lock = lockFor(current, attempt.source, nowMs);
  if (lock !== null) {
    const refused: LoginFailed = {
      type: 'LoginFailed',
      data: { ...base, reason: 'account_locked', failureCount: 0, accountFailureCount: 0, lockedUntil: lock.until },
    };
    return [refused];
  }
  const events: LockoutEvent[] = expiredLocks(current, attempt, nowMs);
  const state = events.reduce(evolveLockout, current);
  const recent = state.failures.filter((f) => inWindow(f.at, nowMs, policy));
  const accountFailureCount = recent.length + 1;
  const failureCount = recent.filter((f) => f.source === attempt.source && !f.spent).length + 1;
  const sourceLock = failureCount >= policy.maxFailures;
  const accountLock = accountFailureCount >= policy.accountMaxFailures;
  const sourceCount = (state.sources[attempt.source]?.lockoutCount ?? 0) + 1;
  const accountCount = state.lockoutCount + 1;
  const sourceUntil = sourceLock ? toIso(nowMs + lockSeconds(policy, sourceCount) * 1000) : null;
  const accountUntil = accountLock ? toIso(nowMs + lockSeconds(policy, accountCount) * 1000) : null;
  const lockedUntil = [sourceUntil, accountUntil]
    .filter((u): u is string => u !== null)
    .sort()
    .at(-1);
  events.push({
    type: 'LoginFailed',
    data: { ...base, reason, failureCount, accountFailureCount, lockedUntil: lockedUntil ?? null },
  });
  if (sourceUntil !== null) {
    const locked: SourceLocked = {
      type: 'SourceLocked',
      data: {
        accountId: attempt.accountId,
        username: attempt.username,
        source: attempt.source,
        until: sourceUntil,
        lockoutCount: sourceCount,
        failures: failureCount,
      },
    };
    events.push(locked);
  }
  if (accountUntil !== null) {
    const locked: AccountLocked = {
      type: 'AccountLocked',
      data: {
        accountId: attempt.accountId,
        username: attempt.username,
        until: accountUntil,
        lockoutCount: accountCount,
        failures: accountFailureCount,
      },
    };
    events.push(locked);
  }
  return events;
};

/** Unlocks before a success: expired locks are recorded; a lock still in force refuses instead (see lockFor). */
export const decideSuccessUnlocks = (state: Lockout, attempt: Attempt): LockoutEvent[] =>
  expiredLocks(state, attempt, toMillis(attempt.now));

/** An admin's unlock: the account-wide lock and every source lock (or only `source`'s). */
export const decideAdminUnlock = (
  state: Lockout,
  input: Readonly<{ accountId: string; by: string; source?: string | null }>,
): LockoutEvent[] => {
  const events: LockoutEvent[] = [];
  if (!input.source && (state.lockedUntil !== null || state.lockoutCount > 0 || state.failures.length > 0))
    events.push({ type: 'AccountUnlocked', data: { accountId: input.accountId, by: input.by } });
  for (const [source, lock] of Object.entries(state.sources)) {
    if (input.source && source !== input.source) continue;
    if (lock.lockedUntil !== null || lock.lockoutCount > 0)
      events.push({ type: 'SourceUnlocked', data: { accountId: input.accountId, source, by: input.by } });
  }
  return events;
};

/** The expiry job ('system'): unlocks only what has run out at `now`. */
export const decideExpiredUnlocks = (
  state: Lockout,
  input: Readonly<{ accountId: string; now: string }>,
): LockoutEvent[] => {
  const nowMs = toMillis(input.now);
  const events: LockoutEvent[] = [];
  if (state.lockedUntil !== null && !inForce(state.lockedUntil, nowMs))
    events.push({ type: 'AccountUnlocked', data: { accountId: input.accountId, by: 'system' } });
  for (const [source, lock] of Object.entries(state.sources)) {
    if (lock.lockedUntil !== null && !inForce(lock.lockedUntil, nowMs))
      events.push({ type: 'SourceUnlocked', data: { accountId: input.accountId, source, by: 'system' } });
  }
  return events;
};

const withSource = (state: Lockout, source: string, lock: SourceLock | null): Lockout => {
  const { [source]: _old, ...rest } = state.sources;
  if (lock === null) return { ...state, sources: rest };
  const entries = Object.entries(rest);
  // Forget the oldest unlocked sources first, so one account cannot grow without bound.
  while (entries.length >= MAX_SOURCES) {
    const index = entries.findIndex(([, l]) => l.lockedUntil === null);
    entries.splice(index === -1 ? 0 : index, 1);
  }
  return { ...state, sources: { ...Object.fromEntries(entries), [source]: lock } };
};

const spend = (failures: readonly Failure[], source: string): Failure[] =>
  failures.map((f) => (f.source === source && !f.spent ? { ...f, spent: true } : f));

export const evolveLockout = (state: Lockout, event: LockoutEvent): Lockout => {
  switch (event.type) {
    case 'LoginFailed': {
      if (event.data.reason === 'account_locked') return state;
      // accountFailureCount says how many of the latest failures still count, so the list stays bounded.
      const n = event.data.accountFailureCount ?? event.data.failureCount;
      const failure: Failure = { at: event.data.at, source: sourceOf(event.data.ip), spent: false };
      return { ...state, failures: n > 0 ? [...state.failures, failure].slice(-n) : [] };
    }
    case 'SourceLocked':
      return withSource({ ...state, failures: spend(state.failures, event.data.source) }, event.data.source, {
        lockedUntil: event.data.until,
        lockoutCount: event.data.lockoutCount,
      });
    case 'SourceUnlocked': {
      const lock = state.sources[event.data.source];
      if (!lock) return state;
      // Expiry keeps the escalation (the next lock lasts longer); an admin's unlock forgives it.
      return event.data.by === 'system'
        ? withSource(state, event.data.source, { ...lock, lockedUntil: null })
        : withSource(state, event.data.source, null);
    }
    case 'AccountLocked':
      return { ...state, failures: [], lockedUntil: event.data.until, lockoutCount: event.data.lockoutCount };
    case 'AccountUnlocked':
      return event.data.by === 'system'
        ? { ...state, failures: [], lockedUntil: null }
        : { ...state, failures: [], lockedUntil: null, lockoutCount: 0 };
    default: {
      const _exhaustive: never = event;
      return state;
    }
  }
};

/** A success from `source` forgives that source (its failures and escalation), not the others. */
export const evolveSuccess = (state: Lockout, source: string): Lockout =>
  withSource({ ...state, failures: spend(state.failures, source), lockoutCount: 0 }, source, null);
