import { expect } from 'chai';
import { accountDecider, accountLockedUntil, evolve, initialState, loginOutcome } from '#domain/identity/account.js';
import type { Account, RecordLoginAttempt } from '#domain/identity/account.js';
import { DEFAULT_LOCKOUT_POLICY, lockSeconds, type LockoutPolicy } from '#domain/identity/lockout.js';
import type { AccountEvent, LoginFailed } from '#domain/identity/events.js';
import {
  AccountAlreadyExists,
  AccountNotFound,
  InvalidLockoutPolicy,
  InvalidTimestamp,
} from '#domain/identity/errors.js';
import { unknownLoginDecider } from '#domain/identity/unknownLogin.js';
import { deciderSpec } from '../support/decider.js';

const spec = deciderSpec(accountDecider);
const T0 = Date.parse('2025-03-01T12:00:00.000Z');
/** ISO instant `s` seconds after T0 */
const t = (s: number) => new Date(T0 + s * 1000).toISOString();
/** 3 failures per source lock that source; 6 across sources lock the account; 60 s, x2, 15 min cap */
const policy: LockoutPolicy = { ...DEFAULT_LOCKOUT_POLICY, maxFailures: 3, accountMaxFailures: 6 };

const accountId = '6f1c2d9e-0000-5000-8000-000000000001';
const profile = {
  accountId,
  username: 'alice',
  role: 'operator',
  passwordHash: '$argon2id$old',
  createdBy: 'system',
} as const;
const created: AccountEvent = { type: 'AccountCreated', data: profile };
const HOME = '198.51.100.1';
const ATTACKER = '203.0.113.7';

const attempt = (at: number, passwordMatches: boolean, ip = ATTACKER, p = policy): RecordLoginAttempt => ({
  type: 'RecordLoginAttempt',
  data: { accountId, passwordMatches, ip, userAgent: 'mocha', sessionId: `s-${at}`, now: t(at), policy: p },
});
const fold = (events: readonly AccountEvent[]): Account => events.reduce(evolve, initialState());
/** Decides and folds a series of attempts, as the command handler would. */
const run = (events: AccountEvent[], attempts: RecordLoginAttempt[]): AccountEvent[] => {
  const all = [...events];
  for (const a of attempts) all.push(...accountDecider.decide(a, fold(all)));
  return all;
};
const types = (events: readonly AccountEvent[]) =>
  events.map((e) => (e.type === 'LoginFailed' ? `LoginFailed:${e.data.reason}` : e.type));

describe('account decider: lifecycle', () => {
  it('creating an account records its username, role, password hash and creator; twice is refused', () => {
    spec.given([]).when({ type: 'CreateAccount', data: profile }).then([created]);
    spec
      .given([created])
      .when({ type: 'CreateAccount', data: profile })
      .thenThrows(AccountAlreadyExists, { accountId });
  });

  it('changing an unknown account is refused', () => {
    spec
      .given([])
      .when({ type: 'ChangePassword', data: { accountId, passwordHash: 'h', changedBy: 'admin-1' } })
      .thenThrows(AccountNotFound);
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

  it('the account remembers the sessions opened since the last password, role or disable change', () => {
    const opened = run([created], [attempt(0, true, HOME), attempt(1, true, HOME)]);
    const state = fold(opened);
    expect(state.status !== 'none' && state.sessions).to.deep.equal(['s-0', 's-1']);
    const reset = fold([
      ...opened,
      { type: 'PasswordChanged', data: { accountId, passwordHash: 'h2', changedBy: 'admin-1' } },
    ]);
    expect(reset.status !== 'none' && reset.sessions).to.deep.equal([]);
  });

  it('a login attempt on an account that does not exist decides nothing (the name has its own stream)', () => {
    spec.given([]).when(attempt(0, true)).thenNothing();
  });
});

describe('account decider: lockout per source and per account (ASVS V6.3)', () => {
  it('the right password records a successful login that opens the session', () => {
    const [event] = spec
      .given([created])
      .when(attempt(0, true))
      .then([
        {
          type: 'LoginSucceeded',
          data: { accountId, username: 'alice', ip: ATTACKER, userAgent: 'mocha', sessionId: 's-0', at: t(0) },
        },
      ]);
    expect(event!.type).to.equal('LoginSucceeded');
  });

  it('the third wrong password from one address locks that address only: the owner still logs in from home', () => {
    const events = run([created], [attempt(0, false), attempt(1, false), attempt(2, false)]);
    expect(types(events.slice(1))).to.deep.equal([
      'LoginFailed:wrong_password',
      'LoginFailed:wrong_password',
      'LoginFailed:wrong_password',
      'SourceLocked',
    ]);
    const lock = events.at(-1)!;
    expect(lock.type === 'SourceLocked' && lock.data).to.include({ source: ATTACKER, until: t(62), lockoutCount: 1 });
    spec
      .given(events)
      .when(attempt(3, true, ATTACKER))
      .thenState((_s, decided) => {
        expect(types(decided)).to.deep.equal(['LoginFailed:account_locked']);
      });
    spec
      .given(events)
      .when(attempt(3, true, HOME))
      .thenState((_s, decided) => {
        expect(types(decided)).to.deep.equal(['LoginSucceeded']);
      });
    expect(accountLockedUntil(fold(events), t(3))).to.equal(null);
  });

  it('failures from many addresses together lock the whole account at the higher threshold', () => {
    const ips = ['192.0.2.1', '192.0.2.2', '192.0.2.3', '192.0.2.4', '192.0.2.5', '192.0.2.6'];
    const events = run(
      [created],
      ips.map((ip, i) => attempt(i, false, ip)),
    );
    expect(types(events).filter((x) => x === 'SourceLocked')).to.have.length(0);
    const lock = events.at(-1)!;
    expect(lock.type).to.equal('AccountLocked');
    expect(lock.type === 'AccountLocked' && lock.data).to.include({ until: t(65), failures: 6, username: 'alice' });
    spec
      .given(events)
      .when(attempt(6, true, HOME))
      .thenState((_s, decided) => {
        expect(types(decided)).to.deep.equal(['LoginFailed:account_locked']);
        expect(loginOutcome(decided)).to.deep.equal({ kind: 'locked', until: t(65), justLocked: false });
      });
    expect(accountLockedUntil(fold(events), t(64))).to.equal(t(65));
  });

  it('attempts refused while locked do not count; once the lock expires it is recorded and counting restarts', () => {
    const events = run(
      [created],
      [attempt(0, false), attempt(1, false), attempt(2, false), attempt(10, false), attempt(20, false)],
    );
    expect(types(events.slice(5))).to.deep.equal(['LoginFailed:account_locked', 'LoginFailed:account_locked']);
    const after = run(events, [attempt(70, false)]);
    expect(types(after.slice(events.length))).to.deep.equal(['SourceUnlocked', 'LoginFailed:wrong_password']);
    const last = after.at(-1) as LoginFailed;
    expect(last.data.failureCount).to.equal(1);
  });

  it('repeated locks of one source grow by the multiplier up to the cap; a success from it forgives them', () => {
    const loose = { ...policy, accountMaxFailures: 100 };
    expect([1, 2, 3, 4, 5, 6].map((n) => lockSeconds(policy, n))).to.deep.equal([60, 120, 240, 480, 900, 900]);
    let events = run(
      [created],
      [attempt(0, false, ATTACKER, loose), attempt(1, false, ATTACKER, loose), attempt(2, false, ATTACKER, loose)],
    );
    events = run(events, [
      attempt(100, false, ATTACKER, loose),
      attempt(101, false, ATTACKER, loose),
      attempt(102, false, ATTACKER, loose),
    ]);
    const second = events.at(-1)!;
    expect(second.type === 'SourceLocked' && second.data).to.include({ lockoutCount: 2, until: t(222) });
    events = run(events, [
      attempt(300, true, ATTACKER, loose),
      attempt(301, false, ATTACKER, loose),
      attempt(302, false, ATTACKER, loose),
      attempt(303, false, ATTACKER, loose),
    ]);
    const third = events.at(-1)!;
    expect(third.type === 'SourceLocked' && third.data).to.include({ lockoutCount: 1, until: t(363) });
  });

  it('wrong passwords older than the window no longer count', () => {
    const events = run([created], [attempt(0, false), attempt(1, false), attempt(1000, false)]);
    expect((events.at(-1) as LoginFailed).data.failureCount).to.equal(1);
  });

  it('a disabled account refuses even the right password, and counts it like a wrong one (no tell)', () => {
    const disabled: AccountEvent = { type: 'AccountDisabled', data: { accountId, by: 'admin-1' } };
    const events = run([created, disabled], [attempt(0, true), attempt(1, false), attempt(2, true)]);
    expect(types(events.slice(2))).to.deep.equal([
      'LoginFailed:account_disabled',
      'LoginFailed:account_disabled',
      'LoginFailed:account_disabled',
      'SourceLocked',
    ]);
  });

  it("an admin's unlock lifts every lock of the account, or only one source's", () => {
    const events = run(
      [created],
      ['192.0.2.1', '192.0.2.1', '192.0.2.1', '192.0.2.2', '192.0.2.2', '192.0.2.2'].map((ip, i) =>
        attempt(i, false, ip),
      ),
    );
    expect(types(events).filter((x) => x.endsWith('Locked'))).to.deep.equal([
      'SourceLocked',
      'SourceLocked',
      'AccountLocked',
    ]);
    spec
      .given(events)
      .when({ type: 'UnlockAccount', data: { accountId, by: 'admin-1', now: t(10), source: '192.0.2.2' } })
      .then([{ type: 'SourceUnlocked', data: { accountId, source: '192.0.2.2', by: 'admin-1' } }]);
    spec
      .given(events)
      .when({ type: 'UnlockAccount', data: { accountId, by: 'admin-1', now: t(10) } })
      .then([
        { type: 'AccountUnlocked', data: { accountId, by: 'admin-1' } },
        { type: 'SourceUnlocked', data: { accountId, source: '192.0.2.1', by: 'admin-1' } },
        { type: 'SourceUnlocked', data: { accountId, source: '192.0.2.2', by: 'admin-1' } },
      ]);
  });

  it('the expiry job unlocks only what has run out', () => {
    const events = run([created], [attempt(0, false), attempt(1, false), attempt(2, false)]);
    spec
      .given(events)
      .when({ type: 'UnlockAccount', data: { accountId, by: 'system', now: t(30), expiredOnly: true } })
      .thenNothing();
    spec
      .given(events)
      .when({ type: 'UnlockAccount', data: { accountId, by: 'system', now: t(62), expiredOnly: true } })
      .then([{ type: 'SourceUnlocked', data: { accountId, source: ATTACKER, by: 'system' } }]);
  });

  it('an invalid lockout policy or timestamp is refused', () => {
    spec
      .given([created])
      .when(attempt(0, false, ATTACKER, { ...policy, maxFailures: 0 }))
      .thenThrows(InvalidLockoutPolicy);
    spec
      .given([created])
      .when(attempt(0, false, ATTACKER, { ...policy, accountMaxFailures: 2 }))
      .thenThrows(InvalidLockoutPolicy);
    spec
      .given([created])
      .when({ ...attempt(0, false), data: { ...attempt(0, false).data, now: 'yesterday' } })
      .thenThrows(InvalidTimestamp);
  });

  it('the failure list and the source list stay bounded however many addresses try', () => {
    const many = Array.from({ length: 400 }, (_, i) =>
      attempt(i * 2000, false, `10.0.${Math.floor(i / 250)}.${i % 250}`),
    );
    const state = fold(run([created], many));
    expect(state.status !== 'none' && state.lockout.failures.length).to.be.at.most(6);
  });
});

describe('unknown-name decider: the same lockout as an account', () => {
  it('a name without an account answers 401, 401, then locked from the same attempt on', () => {
    const uspec = deciderSpec(unknownLoginDecider);
    const cmd = (at: number, ip = ATTACKER) => ({
      type: 'RecordUnknownLogin' as const,
      data: { accountId, username: 'nobody', ip, userAgent: 'mocha', now: t(at), policy },
    });
    let events = uspec
      .given([])
      .when(cmd(0))
      .then([
        {
          type: 'LoginFailed',
          data: {
            accountId,
            username: 'nobody',
            reason: 'unknown_user',
            ip: ATTACKER,
            userAgent: 'mocha',
            failureCount: 1,
            accountFailureCount: 1,
            lockedUntil: null,
            at: t(0),
          },
        },
      ]);
    const fold2 = (es: typeof events) => es.reduce(unknownLoginDecider.evolve, unknownLoginDecider.initialState());
    events = [...events, ...unknownLoginDecider.decide(cmd(1), fold2(events))];
    events = [...events, ...unknownLoginDecider.decide(cmd(2), fold2(events))];
    expect(events.map((e) => e.type)).to.deep.equal(['LoginFailed', 'LoginFailed', 'LoginFailed', 'SourceLocked']);
    const refused = unknownLoginDecider.decide(cmd(3), fold2(events));
    expect(loginOutcome(refused)).to.deep.equal({ kind: 'locked', until: t(62), justLocked: false });
    // the same outcome an account gives for the same sequence
    const known = run([created], [attempt(0, false), attempt(1, false), attempt(2, false), attempt(3, false)]);
    expect(loginOutcome(known.slice(-1))).to.deep.equal(loginOutcome(refused));
  });
});
