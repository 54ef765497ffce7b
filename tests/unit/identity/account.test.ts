import { expect } from 'chai';
import {
  accountDecider,
  DEFAULT_LOCKOUT_POLICY,
  evolve,
  initialState,
  isLocked,
  lockedUntil,
  lockSeconds,
  loginOutcome,
} from '#domain/identity/account.js';
import type { Account, LockoutPolicy, RecordLoginAttempt } from '#domain/identity/account.js';
import type { AccountEvent, LoginFailed } from '#domain/identity/events.js';
import {
  AccountAlreadyExists,
  AccountNotFound,
  InvalidLockoutPolicy,
  InvalidTimestamp,
} from '#domain/identity/errors.js';
import { deciderSpec } from '../support/decider.js';

const spec = deciderSpec(accountDecider);
const T0 = Date.parse('2025-03-01T12:00:00.000Z');
/** ISO instant `s` seconds after T0 */
const t = (s: number) => new Date(T0 + s * 1000).toISOString();
const policy: LockoutPolicy = DEFAULT_LOCKOUT_POLICY; // 5 failures / 15 min window, 60 s base, x2, 15 min cap

const accountId = 'acc-1';
const profile = {
  accountId,
  username: 'alice',
  role: 'operator',
  passwordHash: '$argon2id$old',
  createdBy: 'system',
} as const;
const created: AccountEvent = { type: 'AccountCreated', data: profile };
const client = { ip: '203.0.113.7', userAgent: 'mocha' };

const attempt = (at: number, passwordMatches: boolean, p: LockoutPolicy = policy): RecordLoginAttempt => ({
  type: 'RecordLoginAttempt',
  data: { accountId, passwordMatches, ...client, sessionId: `s-${at}`, now: t(at), policy: p },
});
const failed = (
  at: number,
  failureCount: number,
  until: string | null = null,
  reason: LoginFailed['data']['reason'] = 'wrong_password',
): LoginFailed => ({
  type: 'LoginFailed',
  data: { accountId, username: 'alice', reason, ...client, failureCount, lockedUntil: until, at: t(at) },
});
const succeeded = (at: number): AccountEvent => ({
  type: 'LoginSucceeded',
  data: { accountId, username: 'alice', ...client, sessionId: `s-${at}`, at: t(at) },
});
const locked = (until: string, lockoutCount: number, failures = 5): AccountEvent => ({
  type: 'AccountLocked',
  data: { accountId, until, lockoutCount, failures },
});
const unlocked = (by: string): AccountEvent => ({ type: 'AccountUnlocked', data: { accountId, by } });
const disabled: AccountEvent = { type: 'AccountDisabled', data: { accountId, by: 'admin-1' } };

/** four wrong passwords at 0..30 s, then the fifth at 40 s locks until 100 s */
const firstLockout: AccountEvent[] = [
  created,
  failed(0, 1),
  failed(10, 2),
  failed(20, 3),
  failed(30, 4),
  failed(40, 5, t(100)),
  locked(t(100), 1),
];
const fold = (events: readonly AccountEvent[]): Account => events.reduce(evolve, initialState());

describe('account decider: lifecycle', () => {
  it('creating an account records its username, role, password hash and creator', () => {
    spec.given([]).when({ type: 'CreateAccount', data: profile }).then([created]);
  });

  it('creating an account that already exists is refused', () => {
    spec
      .given([created])
      .when({ type: 'CreateAccount', data: profile })
      .thenThrows(AccountAlreadyExists, { accountId });
  });

  it('changing the password of an unknown account is refused', () => {
    spec
      .given([])
      .when({ type: 'ChangePassword', data: { accountId, passwordHash: 'h', changedBy: 'admin-1' } })
      .thenThrows(AccountNotFound);
  });

  it('a password change replaces the stored hash', () => {
    spec
      .given([created])
      .when({ type: 'ChangePassword', data: { accountId, passwordHash: '$argon2id$new', changedBy: accountId } })
      .thenState((state, events) => {
        expect(events).to.deep.equal([
          { type: 'PasswordChanged', data: { accountId, passwordHash: '$argon2id$new', changedBy: accountId } },
        ]);
        expect(state.status !== 'none' && state.passwordHash).to.equal('$argon2id$new');
      });
  });

  it('a role change records the previous role, and setting the same role changes nothing', () => {
    spec
      .given([created])
      .when({ type: 'ChangeRole', data: { accountId, role: 'admin', changedBy: 'admin-1' } })
      .then([
        { type: 'RoleChanged', data: { accountId, role: 'admin', previousRole: 'operator', changedBy: 'admin-1' } },
      ]);
    spec
      .given([created])
      .when({ type: 'ChangeRole', data: { accountId, role: 'operator', changedBy: 'admin-1' } })
      .thenNothing();
  });

  it('disabling and enabling are recorded once each, repeats change nothing', () => {
    spec
      .given([created])
      .when({ type: 'DisableAccount', data: { accountId, by: 'admin-1' } })
      .then([disabled]);
    spec
      .given([created, disabled])
      .when({ type: 'DisableAccount', data: { accountId, by: 'admin-1' } })
      .thenNothing();
    spec
      .given([created, disabled])
      .when({ type: 'EnableAccount', data: { accountId, by: 'admin-2' } })
      .then([{ type: 'AccountEnabled', data: { accountId, by: 'admin-2' } }]);
    spec
      .given([created])
      .when({ type: 'EnableAccount', data: { accountId, by: 'admin-2' } })
      .thenNothing();
  });
});

describe('account decider: login attempts and lockout', () => {
  it('the right password records a successful login that opens the session', () => {
    spec
      .given([created])
      .when(attempt(0, true))
      .then([succeeded(0)]);
  });

  it('a wrong password records the first failure', () => {
    spec
      .given([created])
      .when(attempt(0, false))
      .then([failed(0, 1)]);
  });

  it('a login attempt on an unknown account is refused', () => {
    spec.given([]).when(attempt(0, true)).thenThrows(AccountNotFound);
  });

  it('the fifth wrong password within the window locks the account for 60 s', () => {
    spec
      .given(firstLockout.slice(0, 5))
      .when(attempt(40, false))
      .then([failed(40, 5, t(100)), locked(t(100), 1)]);
  });

  it('wrong passwords older than the window no longer count', () => {
    // at 905 s the failure at 0 s is out of the 900 s window, the one at 10 s is still in
    spec
      .given(firstLockout.slice(0, 5))
      .when(attempt(905, false))
      .then([failed(905, 4)]);
  });

  it('while locked the right password is refused as account_locked', () => {
    spec
      .given(firstLockout)
      .when(attempt(99, true))
      .then([failed(99, 0, t(100), 'account_locked')]);
  });

  it('attempts refused while locked do not count toward the next lockout', () => {
    const hammering = [50, 60, 70, 80, 90].map((s) => failed(s, 0, t(100), 'account_locked'));
    spec
      .given([...firstLockout, ...hammering])
      .when(attempt(100, false))
      .then([unlocked('system'), failed(100, 1)]);
  });

  it('once the lock has expired the right password gets in, and the expiry is recorded', () => {
    spec
      .given(firstLockout)
      .when(attempt(100, true))
      .then([unlocked('system'), succeeded(100)]);
  });

  it('the second lockout lasts twice as long', () => {
    const again = [unlocked('system'), failed(100, 1), failed(101, 2), failed(102, 3), failed(103, 4)];
    spec
      .given([...firstLockout, ...again])
      .when(attempt(104, false))
      .then([failed(104, 5, t(224)), locked(t(224), 2)]);
  });

  it('repeated lockouts grow by the multiplier up to the cap', () => {
    expect([1, 2, 3, 4, 5, 6, 200].map((n) => lockSeconds(policy, n))).to.deep.equal([
      60, 120, 240, 480, 900, 900, 900,
    ]);
  });

  it('a success resets the failure window', () => {
    const almost = firstLockout.slice(0, 5);
    spec
      .given([...almost, succeeded(35)])
      .when(attempt(40, false))
      .then([failed(40, 1)]);
  });

  it('a success resets the lockout escalation, so the next lockout is back to 60 s', () => {
    const history = [
      ...firstLockout,
      unlocked('system'),
      succeeded(200),
      failed(201, 1),
      failed(202, 2),
      failed(203, 3),
      failed(204, 4),
    ];
    spec
      .given(history)
      .when(attempt(205, false))
      .then([failed(205, 5, t(265)), locked(t(265), 1)]);
  });

  it('a disabled account refuses even the right password, and the refusal does not count', () => {
    spec
      .given([created, failed(0, 1), disabled])
      .when(attempt(5, true))
      .then([failed(5, 1, null, 'account_disabled')]);
    spec
      .given([
        created,
        failed(0, 1),
        disabled,
        failed(5, 1, null, 'account_disabled'),
        { type: 'AccountEnabled', data: { accountId, by: 'a' } },
      ])
      .when(attempt(6, false))
      .then([failed(6, 2)]);
  });

  it('disabling a locked account and enabling it again keeps the lock', () => {
    const history = [
      ...firstLockout,
      disabled,
      { type: 'AccountEnabled', data: { accountId, by: 'admin-1' } } as AccountEvent,
    ];
    spec
      .given(history)
      .when(attempt(60, true))
      .then([failed(60, 0, t(100), 'account_locked')]);
  });

  it('a smaller policy locks sooner: with maxFailures 2 the second wrong password locks', () => {
    const strict = { ...policy, maxFailures: 2, baseLockSeconds: 30 };
    spec
      .given([created, failed(0, 1)])
      .when(attempt(1, false, strict))
      .then([failed(1, 2, t(31)), locked(t(31), 1, 2)]);
  });

  it('the failure list stays bounded however many spaced-out failures happen', () => {
    const spaced = Array.from({ length: 50 }, (_, i) => failed(i * 1000, 1));
    const state = fold([created, ...spaced]);
    expect(state.status === 'active' && state.failures).to.deep.equal([t(49_000)]);
  });

  it('an invalid lockout policy or timestamp is refused', () => {
    spec
      .given([created])
      .when(attempt(0, false, { ...policy, maxFailures: 0 }))
      .thenThrows(InvalidLockoutPolicy);
    spec
      .given([created])
      .when(attempt(0, false, { ...policy, maxLockSeconds: 1 }))
      .thenThrows(InvalidLockoutPolicy);
    spec
      .given([created])
      .when({ ...attempt(0, false), data: { ...attempt(0, false).data, now: 'yesterday' } })
      .thenThrows(InvalidTimestamp, { field: 'now' });
  });
});

describe('account decider: unlocking', () => {
  it("an admin's unlock ends the lock at once and forgives the escalation", () => {
    spec
      .given(firstLockout)
      .when({ type: 'UnlockAccount', data: { accountId, by: 'admin-1', now: t(50) } })
      .thenState((state, events) => {
        expect(events).to.deep.equal([unlocked('admin-1')]);
        expect(state).to.include({ status: 'active', lockoutCount: 0 });
        expect(isLocked(state, t(50))).to.equal(false);
      });
  });

  it('the expiry job leaves a lock still in force alone and unlocks an expired one', () => {
    spec
      .given(firstLockout)
      .when({ type: 'UnlockAccount', data: { accountId, by: 'system', now: t(99) } })
      .thenNothing();
    spec
      .given(firstLockout)
      .when({ type: 'UnlockAccount', data: { accountId, by: 'system', now: t(100) } })
      .thenState((state, events) => {
        expect(events).to.deep.equal([unlocked('system')]);
        expect(state).to.include({ status: 'active', lockoutCount: 1 });
      });
  });

  it('unlocking an account that is not locked changes nothing', () => {
    spec
      .given([created])
      .when({ type: 'UnlockAccount', data: { accountId, by: 'admin-1', now: t(0) } })
      .thenNothing();
  });
});

describe('account queries', () => {
  it('isLocked is true strictly before the lock runs out; lockedUntil reports the recorded lock', () => {
    const state = fold(firstLockout);
    expect(isLocked(state, t(99))).to.equal(true);
    expect(isLocked(state, t(100))).to.equal(false);
    expect(lockedUntil(state)).to.equal(t(100));
    expect(lockedUntil(fold([created]))).to.equal(null);
    expect(isLocked(fold([created]), t(0))).to.equal(false);
    expect(isLocked(initialState(), t(0))).to.equal(false);
  });

  it('loginOutcome tells success, wrong password, fresh lockout, standing lock and disabled apart', () => {
    expect(loginOutcome([succeeded(0)])).to.deep.equal({ kind: 'succeeded', sessionId: 's-0' });
    expect(loginOutcome([unlocked('system'), succeeded(0)])).to.deep.equal({ kind: 'succeeded', sessionId: 's-0' });
    expect(loginOutcome([failed(0, 3)])).to.deep.equal({ kind: 'wrong_password', failureCount: 3 });
    expect(loginOutcome([failed(40, 5, t(100)), locked(t(100), 1)])).to.deep.equal({
      kind: 'locked',
      until: t(100),
      justLocked: true,
    });
    expect(loginOutcome([failed(50, 0, t(100), 'account_locked')])).to.deep.equal({
      kind: 'locked',
      until: t(100),
      justLocked: false,
    });
    expect(loginOutcome([failed(50, 0, null, 'account_disabled')])).to.deep.equal({ kind: 'disabled' });
    expect(loginOutcome([created])).to.equal(null);
  });

  it('evolve ignores events that do not apply instead of throwing', () => {
    expect(fold([succeeded(0), failed(1, 1)])).to.deep.equal({ status: 'none' });
    const state = fold([created]);
    expect(fold([created, created])).to.deep.equal(state);
    expect(evolve(state, { type: 'SomethingElse', data: {} } as unknown as AccountEvent)).to.equal(state);
  });
});
