import type { Decider } from '#domain/shared/event.js';
import type { Command, LockoutEvent } from './events.js';
import { sourceOf } from './events.js';
import { UnknownIdentityCommand } from './errors.js';
import {
  decideAdminUnlock,
  decideExpiredUnlocks,
  decideFailure,
  evolveLockout,
  initialLockout,
  type Lockout,
  type LockoutPolicy,
} from './lockout.js';

/**
 * Attempts for a username that has no account, stream `login-unknown-<accountId>` (the id the
 * name would have). The same lockout rules as an account decide here, so a name that does not
 * exist answers exactly like one that does: 401s, then 423 from the same attempt on (ASVS V6.3).
 */
export type UnknownLogin = Readonly<{ lockout: Lockout }>;

export type RecordUnknownLogin = Command<
  'RecordUnknownLogin',
  {
    accountId: string;
    /** the normalised name as typed (at most 64 characters), for the audit trail */
    username: string;
    ip: string | null;
    userAgent: string | null;
    now: string;
    policy: LockoutPolicy;
  }
>;
export type UnlockUnknownLogin = Command<
  'UnlockUnknownLogin',
  { accountId: string; by: string; now: string; source?: string | null; expiredOnly?: boolean }
>;
export type UnknownLoginCommand = RecordUnknownLogin | UnlockUnknownLogin;

export const initialState = (): UnknownLogin => ({ lockout: initialLockout() });

export const decide = (command: UnknownLoginCommand, state: UnknownLogin): LockoutEvent[] => {
  switch (command.type) {
    case 'RecordUnknownLogin': {
      const c = command.data;
      const attempt = { ...c, source: sourceOf(c.ip) };
      return decideFailure(state.lockout, attempt, 'unknown_user', c.policy);
    }
    case 'UnlockUnknownLogin': {
      const c = command.data;
      return c.expiredOnly
        ? decideExpiredUnlocks(state.lockout, c)
        : decideAdminUnlock(state.lockout, { accountId: c.accountId, by: c.by, source: c.source ?? null });
    }
    default: {
      const _exhaustive: never = command;
      throw new UnknownIdentityCommand((_exhaustive as { type?: unknown }).type);
    }
  }
};

export const evolve = (state: UnknownLogin, event: LockoutEvent): UnknownLogin => ({
  lockout: evolveLockout(state.lockout, event),
});

export const unknownLoginDecider: Decider<UnknownLogin, UnknownLoginCommand, LockoutEvent> = {
  decide,
  evolve,
  initialState,
};
