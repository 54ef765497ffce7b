// Regression tests for issue 8 (revocation, lockout, odd input), through startApp as production wires
// it, on both wirings: PostgreSQL, and the embedded PGlite of `npm start`. Time is a manual clock, so
// "the same second" is exact and no test sleeps to move time.
import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { accountIdFor } from '#application/identity/accountIds.js';
import { createTokenService } from '#infrastructure/identity/jwt.js';
import {
  ADMIN_PASSWORD,
  TEST_JWT_SECRET,
  WIRINGS,
  loginAs,
  request,
  startTestApp,
  type TestApp,
} from '../../support/app.js';
import { manualRuntime } from '../../support/runtime.js';
import { waitFor } from '../../support/events.js';
import { authenticated, wsToken } from '../ws/harness.js';

const me = (t: TestApp, token: string) => request(t.baseUrl, 'GET', '/api/auth/me', { token });
const refreshWith = (t: TestApp, refresh: string) =>
  request(t.baseUrl, 'POST', '/api/auth/refresh', { body: { refresh_token: refresh } });

for (const wiring of WIRINGS) {
  describe(`sessions end for real (${wiring.name} wiring)`, function () {
    this.timeout(120_000);
    // frozen unless a test moves it: every token below is issued in the same second as the change
    const runtime = manualRuntime(new Date());
    let t: TestApp;
    let admin: { access: string; refresh: string };
    const createUser = async (username: string, role: 'admin' | 'operator' | 'viewer', password = 'password-one-1') => {
      const created = await request(t.baseUrl, 'POST', '/api/users', {
        token: admin.access,
        body: { username, password, role },
      });
      expect(created.status, JSON.stringify(created.body)).to.equal(201);
      return accountIdFor(username);
    };
    before(async () => {
      t = await startTestApp({
        embedded: wiring.embedded,
        runtime,
        env: { TRUST_PROXY: 'true', LOGIN_MAX_FAILURES: '3' },
      });
      admin = await loginAs(t.baseUrl, 'admin', ADMIN_PASSWORD);
    });
    after(async () => {
      await t?.close();
    });

    it('1. a password reset voids the tokens and refresh tokens of the same second, and a refresh loop cannot outrun it', async () => {
      const id = await createUser('reset-me', 'operator');
      const stolen = await loginAs(t.baseUrl, 'reset-me', 'password-one-1');
      // the attacker refreshes in a loop: each round hands them a new pair, all in this one second
      const looped = await refreshWith(t, stolen.refresh);
      expect(looped.status).to.equal(200);
      const reset = await request(t.baseUrl, 'POST', `/api/users/${id}/reset-password`, {
        token: admin.access,
        body: { password: 'password-two-2' },
      });
      expect(reset.status).to.equal(200);
      for (const access of [stolen.access, looped.body.access_token as string])
        expect((await me(t, access)).body.error.code).to.equal('token_revoked');
      expect((await refreshWith(t, looped.body.refresh_token as string)).status).to.equal(401);
      expect((await refreshWith(t, stolen.refresh)).status).to.equal(401);
      await loginAs(t.baseUrl, 'reset-me', 'password-two-2');
    });

    it('2. an admin demoted to viewer cannot create an admin with a token of the same second', async () => {
      const id = await createUser('demote-me', 'admin');
      const demoted = await loginAs(t.baseUrl, 'demote-me', 'password-one-1');
      const patch = await request(t.baseUrl, 'PATCH', `/api/users/${id}`, {
        token: admin.access,
        body: { role: 'viewer' },
      });
      expect(patch.status).to.equal(200);
      const attempt = await request(t.baseUrl, 'POST', '/api/users', {
        token: demoted.access,
        body: { username: 'sneaky-admin', password: 'password-one-1', role: 'admin' },
      });
      expect(attempt.status).to.equal(401);
      expect(attempt.body.error.code).to.equal('token_revoked');
      // a new session of the viewer carries the role it has now
      const again = await loginAs(t.baseUrl, 'demote-me', 'password-one-1');
      expect((await me(t, again.access)).body.role).to.equal('viewer');
      expect(
        (
          await request(t.baseUrl, 'POST', '/api/users', {
            token: again.access,
            body: { username: 'sneaky-admin', password: 'password-one-1', role: 'admin' },
          })
        ).status,
      ).to.equal(403);
    });

    it('3. disable then enable: the tokens from before the disable stay dead', async () => {
      const id = await createUser('toggle-me', 'operator');
      const before = await loginAs(t.baseUrl, 'toggle-me', 'password-one-1');
      expect((await request(t.baseUrl, 'POST', `/api/users/${id}/disable`, { token: admin.access })).status).to.equal(
        200,
      );
      expect((await request(t.baseUrl, 'POST', `/api/users/${id}/enable`, { token: admin.access })).status).to.equal(
        200,
      );
      expect((await me(t, before.access)).body.error.code).to.equal('token_revoked');
      expect((await refreshWith(t, before.refresh)).status).to.equal(401);
      await loginAs(t.baseUrl, 'toggle-me', 'password-one-1');
    });

    it('4. an open WebSocket is closed as a logout, a disable or a reset is answered (close 4401 session_ended)', async () => {
      const id = await createUser('watcher', 'viewer');
      const socketsEnded = () =>
        t.logs().filter((line) => line.message === 'ws client closed: its session ended' && line.accountId === id)
          .length;
      const url = `ws://127.0.0.1:${t.app.port}/ws/metrics`;
      const endings: Array<[string, (access: string) => Promise<unknown>]> = [
        ['logout', (access) => request(t.baseUrl, 'POST', '/api/auth/logout', { token: access })],
        ['disable', () => request(t.baseUrl, 'POST', `/api/users/${id}/disable`, { token: admin.access })],
        [
          'reset',
          () =>
            request(t.baseUrl, 'POST', `/api/users/${id}/reset-password`, {
              token: admin.access,
              body: { password: 'password-one-1' },
            }),
        ],
      ];
      for (const [name, end] of endings) {
        await request(t.baseUrl, 'POST', `/api/users/${id}/enable`, { token: admin.access });
        const { access } = await loginAs(t.baseUrl, 'watcher', 'password-one-1');
        const client = await authenticated(url, await wsToken(t.baseUrl, access));
        const closedBefore = socketsEnded();
        await end(access);
        // The process that ended the session closed the socket before it answered: no sweep, no delay to
        // wait out. (A wall-clock bound here measured the loaded machine, the request included.)
        expect(socketsEnded(), `${name}: the socket was closed before the answer`).to.equal(closedBefore + 1);
        let closed: { code: number; reason: string } | null = null;
        void client.closed.then((value) => (closed = value));
        await waitFor(() => closed !== null, 30_000, `${name}: the close frame`);
        expect(closed, name).to.deep.equal({ code: 4401, reason: 'session_ended' });
        expect(client.messages.some((m) => m.type === 'closing' && m.reason === 'session_ended')).to.equal(true);
      }
    });

    it('5. a validly signed token whose sub or sid name nothing is refused, whatever role it claims', async () => {
      const forger = createTokenService({
        secret: TEST_JWT_SECRET,
        issuer: 'chatbot',
        audience: 'chatbot-api',
        accessTtlSeconds: 900,
        refreshTtlSeconds: 3600,
        wsTtlSeconds: 60,
        now: () => runtime.clock().getTime(),
      });
      const nobody = forger.issueAccessToken({ accountId: randomUUID(), sessionId: randomUUID() }).token;
      const adminNoSession = forger.issueAccessToken({
        accountId: accountIdFor('admin'),
        sessionId: randomUUID(),
      }).token;
      for (const token of [nobody, adminNoSession]) {
        const answer = await request(t.baseUrl, 'GET', '/api/users', { token });
        expect(answer.status).to.equal(401);
        expect(answer.body.error.code).to.equal('token_revoked');
      }
    });

    it('6. an unknown name locks exactly like a known one (401, 401, then 423 alike)', async () => {
      await createUser('exists', 'viewer');
      const tries = async (username: string) => {
        const statuses = [];
        for (let i = 0; i < 4; i++)
          statuses.push(
            (
              await request(t.baseUrl, 'POST', '/api/auth/login', {
                body: { username, password: 'wrong-password' },
                headers: { 'x-forwarded-for': '192.0.2.66' },
              })
            ).status,
          );
        return statuses;
      };
      expect(await tries('exists')).to.deep.equal([401, 401, 423, 423]);
      expect(await tries('does-not-exist')).to.deep.equal([401, 401, 423, 423]);
    });

    it("7. nobody can lock the admin out from the admin's own address", async () => {
      for (let i = 0; i < 6; i++)
        await request(t.baseUrl, 'POST', '/api/auth/login', {
          body: { username: 'admin', password: 'wrong-password' },
          headers: { 'x-forwarded-for': '203.0.113.99' },
        });
      const fromAttacker = await request(t.baseUrl, 'POST', '/api/auth/login', {
        body: { username: 'admin', password: ADMIN_PASSWORD },
        headers: { 'x-forwarded-for': '203.0.113.99' },
      });
      expect(fromAttacker.status).to.equal(423);
      const fromHome = await request(t.baseUrl, 'POST', '/api/auth/login', {
        body: { username: 'admin', password: ADMIN_PASSWORD },
        headers: { 'x-forwarded-for': '198.51.100.10' },
      });
      expect(fromHome.status).to.equal(200);
    });

    it('8. odd text: a login with NUL or a lone surrogate is a recorded 401, odd query parameters a 400, and no log line quotes statement data', async () => {
      for (const username of ['ad\u0000min', '\ud800admin']) {
        const before = await t.app.infra.store.headPosition();
        const answer = await request(t.baseUrl, 'POST', '/api/auth/login', {
          body: { username, password: 'whatever-1' },
          headers: { 'x-forwarded-for': '192.0.2.88' },
        });
        expect(answer.status, JSON.stringify(answer.body)).to.equal(401);
        const appended = await t.app.infra.store.readAll({ after: before });
        const failed = appended.find((e) => e.type === 'LoginFailed');
        expect(failed?.data.reason).to.equal('unknown_user');
        expect(String(failed?.data.username)).to.match(/\\u(0000|d800)/);
      }
      for (const query of ['actor=%00', 'target=a%00b', 'correlation_id=%00', 'actor=a%01b', 'actor=a%E2%80%AEb']) {
        const before = await t.app.infra.store.headPosition();
        const answer = await request(t.baseUrl, 'GET', `/api/audit?${query}`, { token: admin.access });
        expect(answer.status, query).to.equal(400);
        expect(answer.body.error.code, query).to.be.oneOf(['invalid_text', 'validation_failed']);
        expect(await t.app.infra.store.headPosition()).to.equal(before);
      }
      const created = await request(t.baseUrl, 'POST', '/api/users', {
        token: admin.access,
        body: { username: 'nul\u0000user', password: 'password-one-1', role: 'viewer' },
      });
      expect(created.status).to.equal(400);
      expect(created.body.error.code).to.equal('invalid_text');
      const errors = t.logs().filter((l) => l.level === 'error');
      expect(errors.map((l) => l.message)).not.to.include('unhandled error');
      expect(t.rawLogs()).not.to.include('JSON data, line 1');
    });

    it('9. bidi overrides and control characters in a username are escaped in the log line and the audit record', async () => {
      const evil = 'adm\u202Ein\u0007';
      const answer = await request(t.baseUrl, 'POST', '/api/auth/login', {
        body: { username: evil, password: 'whatever-1' },
        headers: { 'x-forwarded-for': '192.0.2.77' },
      });
      expect(answer.status).to.equal(401);
      const raw = t.rawLogs();
      expect(raw).not.to.include('\u202E');
      expect(raw).to.include('adm\\\\u202ein\\\\u0007');
      const stream = await t.app.infra.store.readStream(`login-unknown-${accountIdFor(evil)}`);
      expect(stream[0]?.data.username).to.equal('adm\\u202ein\\u0007');
    });

    it('the only active admin cannot disable or demote itself (409 last_admin); another admin can', async () => {
      const self = accountIdFor('admin');
      const fresh = await loginAs(t.baseUrl, 'admin', ADMIN_PASSWORD);
      // every other admin made above is demoted or gone by now
      const disable = await request(t.baseUrl, 'POST', `/api/users/${self}/disable`, { token: fresh.access });
      expect(disable.status).to.equal(409);
      expect(disable.body.error.code).to.equal('last_admin');
      const demote = await request(t.baseUrl, 'PATCH', `/api/users/${self}`, {
        token: fresh.access,
        body: { role: 'viewer' },
      });
      expect(demote.status).to.equal(409);
      expect(demote.body.error.code).to.equal('last_admin');
      expect((await me(t, fresh.access)).body.role).to.equal('admin');
    });
  });
}
