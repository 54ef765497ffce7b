// Revocation across app processes: a logout (or a disable) handled by one process ends the session in
// another operating-system process too, for its HTTP requests and its open WebSockets, within the
// documented window (docs/websocket.md, "Sessions": the sessions projection's latency, LISTEN/NOTIFY).
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { accountIdFor } from '#application/identity/accountIds.js';
import { ADMIN_PASSWORD, TEST_JWT_SECRET, loginAs, request, startTestApp, type TestApp } from '../../support/app.js';
import { waitFor } from '../../support/events.js';
import { authenticated, wsToken } from '../ws/harness.js';

const WINDOW_MS = 1_000;

/** Polls `refused` as fast as the server answers; resolves with the ms it took, or fails past the window. */
const refusedWithin = async (refused: () => Promise<boolean>, windowMs: number): Promise<number> => {
  const started = Date.now();
  while (Date.now() - started <= windowMs) {
    if (await refused()) return Date.now() - started;
  }
  throw new Error(`still accepted after ${windowMs} ms`);
};

describe('revocation across two app processes (PostgreSQL, LISTEN/NOTIFY)', function () {
  this.timeout(120_000);
  let a: TestApp;
  let child: ChildProcess;
  let bUrl = '';
  before(async () => {
    a = await startTestApp();
    child = spawn(process.execPath, ['--import', 'tsx', 'tests/support/app-process.ts'], {
      cwd: process.cwd(),
      env: {
        ...process.env,
        NODE_ENV: 'test',
        JWT_SECRET: TEST_JWT_SECRET,
        ADMIN_PASSWORD,
        DATABASE_URL: a.databaseUrl,
        LOG_LEVEL: 'warn',
        RATE_LIMIT_LOGIN_PER_MINUTE: '10000',
        RATE_LIMIT_API_PER_MINUTE: '100000',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    await waitFor(() => /"port":\d+/.test(output), 60_000, 'the second app process to listen');
    bUrl = `http://127.0.0.1:${(JSON.parse(output.split('\n')[0]!) as { port: number }).port}`;
  });
  after(async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    await a?.close();
  });

  it('a logout through A refuses the token in B and closes its WebSocket in B within a second', async () => {
    const { access } = await loginAs(a.baseUrl, 'admin', ADMIN_PASSWORD);
    // B knows the session (read model or, if it has not caught up, the event store)
    expect((await request(bUrl, 'GET', '/api/auth/me', { token: access })).status).to.equal(200);
    const client = await authenticated(`${bUrl.replace('http', 'ws')}/ws/metrics`, await wsToken(bUrl, access));
    const closedAt = client.closed.then(() => Date.now());
    const started = Date.now();
    expect((await request(a.baseUrl, 'POST', '/api/auth/logout', { token: access })).status).to.equal(204);
    const httpMs = await refusedWithin(
      async () => (await request(bUrl, 'GET', '/api/auth/me', { token: access })).status === 401,
      WINDOW_MS,
    );
    const closed = await Promise.race([client.closed, new Promise<null>((r) => setTimeout(() => r(null), WINDOW_MS))]);
    expect(closed, 'the WebSocket in B is still open').to.deep.equal({ code: 4401, reason: 'session_ended' });
    const wsMs = (await closedAt) - started;
    expect(wsMs).to.be.below(WINDOW_MS);
    console.log(`      cross-process: HTTP refused after ${httpMs} ms, WebSocket closed after ${wsMs} ms`);
  });

  it('a disable through B ends the sessions A serves, and a role change through A is seen by B', async () => {
    const admin = await loginAs(a.baseUrl, 'admin', ADMIN_PASSWORD);
    const created = await request(a.baseUrl, 'POST', '/api/users', {
      token: admin.access,
      body: { username: 'two-proc', password: 'password-one-1', role: 'admin' },
    });
    expect(created.status).to.equal(201);
    const user = await loginAs(a.baseUrl, 'two-proc', 'password-one-1');
    const adminOfB = await loginAs(bUrl, 'admin', ADMIN_PASSWORD);
    expect(
      (
        await request(bUrl, 'PATCH', `/api/users/${accountIdFor('two-proc')}`, {
          token: adminOfB.access,
          body: { role: 'viewer' },
        })
      ).status,
    ).to.equal(200);
    await refusedWithin(
      async () => (await request(a.baseUrl, 'GET', '/api/users', { token: user.access })).status === 401,
      WINDOW_MS,
    );
  });
});
