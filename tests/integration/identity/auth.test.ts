import { expect } from 'chai';
import jwt from 'jsonwebtoken';
import { accountIdFor } from '#application/identity/accountIds.js';
import { ADMIN_PASSWORD, TEST_JWT_SECRET, loginAs, request, startTestApp, type TestApp } from '../../support/app.js';

const errorShape = (body: any, code: string) => {
  expect(body).to.have.property('error');
  expect(body.error.code).to.equal(code);
  expect(body.error.message).to.be.a('string').and.not.empty;
  expect(body.error.correlationId).to.be.a('string').and.not.empty;
};

describe('authentication over HTTP (real Postgres)', function () {
  this.timeout(60_000);
  let t: TestApp;
  before(async () => {
    t = await startTestApp({ env: { CORS_ORIGINS: 'https://console.example.com', LOGIN_MAX_FAILURES: '5' } });
  });
  after(async () => {
    await t.close();
  });

  it('admin logs in with ADMIN_PASSWORD and /api/auth/me returns the user payload', async () => {
    const login = await request(t.baseUrl, 'POST', '/api/auth/login', {
      body: { username: 'admin', password: ADMIN_PASSWORD },
    });
    expect(login.status).to.equal(200);
    expect(login.body).to.include.keys('access_token', 'token_type', 'expires_in', 'refresh_token');
    expect(login.body.token_type).to.equal('Bearer');
    expect(login.body.expires_in).to.equal(900);
    const me = await request(t.baseUrl, 'GET', '/api/auth/me', { token: login.body.access_token });
    expect(me.status).to.equal(200);
    expect(me.body).to.include({ id: accountIdFor('admin'), username: 'admin', role: 'admin' });
  });

  it('/api/auth/me names the reason class of every rejected token without echoing it', async () => {
    const { access } = await loginAs(t.baseUrl, 'admin', ADMIN_PASSWORD);
    const claims = jwt.decode(access) as Record<string, unknown>;
    const expired = jwt.sign({ ...claims, iat: 1_000, exp: 2_000 }, TEST_JWT_SECRET, {
      algorithm: 'HS256',
      header: { alg: 'HS256', typ: 'at+jwt' },
    });
    const forged = jwt.sign(claims, 'another-secret-that-is-also-long-enough-000000', {
      algorithm: 'HS256',
      header: { alg: 'HS256', typ: 'at+jwt' },
    });
    const cases: Array<[Record<string, string>, string]> = [
      [{}, 'token_missing'],
      [{ authorization: 'Bearer not-a-jwt' }, 'token_malformed'],
      [{ authorization: 'Basic YWRtaW46YWRtaW4=' }, 'token_malformed'],
      [{ authorization: `Bearer ${expired}` }, 'token_expired'],
      [{ authorization: `Bearer ${forged}` }, 'token_invalid_signature'],
    ];
    for (const [headers, code] of cases) {
      const response = await request(t.baseUrl, 'GET', '/api/auth/me', { headers });
      expect(response.status, code).to.equal(401);
      errorShape(response.body, code);
      expect(JSON.stringify(response.body)).not.to.include(forged.split('.')[2]!);
    }
  });

  it('logout revokes the session: the same access token then gets 401 token_revoked', async () => {
    const { access } = await loginAs(t.baseUrl, 'admin', ADMIN_PASSWORD);
    expect((await request(t.baseUrl, 'POST', '/api/auth/logout', { token: access })).status).to.equal(204);
    const me = await request(t.baseUrl, 'GET', '/api/auth/me', { token: access });
    expect(me.status).to.equal(401);
    errorShape(me.body, 'token_revoked');
  });

  it('refresh rotates the token, and reusing a rotated one revokes the whole family', async () => {
    const first = await loginAs(t.baseUrl, 'admin', ADMIN_PASSWORD);
    const rotated = await request(t.baseUrl, 'POST', '/api/auth/refresh', { body: { refresh_token: first.refresh } });
    expect(rotated.status).to.equal(200);
    expect(rotated.body.refresh_token).not.to.equal(first.refresh);
    const reuse = await request(t.baseUrl, 'POST', '/api/auth/refresh', { body: { refresh_token: first.refresh } });
    expect(reuse.status).to.equal(401);
    errorShape(reuse.body, 'refresh_token_reused');
    const afterReuse = await request(t.baseUrl, 'POST', '/api/auth/refresh', {
      body: { refresh_token: rotated.body.refresh_token },
    });
    expect(afterReuse.status).to.equal(401);
    const me = await request(t.baseUrl, 'GET', '/api/auth/me', { token: rotated.body.access_token });
    expect(me.status).to.equal(401);
    errorShape(me.body, 'token_revoked');
  });

  it('an access token is refused as a refresh token, and a refresh token as an access token', async () => {
    const { access, refresh } = await loginAs(t.baseUrl, 'admin', ADMIN_PASSWORD);
    const asRefresh = await request(t.baseUrl, 'POST', '/api/auth/refresh', { body: { refresh_token: access } });
    expect(asRefresh.status).to.equal(401);
    errorShape(asRefresh.body, 'token_wrong_type');
    const asAccess = await request(t.baseUrl, 'GET', '/api/auth/me', { token: refresh });
    expect(asAccess.status).to.equal(401);
    errorShape(asAccess.body, 'token_wrong_type');
  });

  it('POST /api/auth/ws-token returns a 60 s ws token that is not an access token', async () => {
    const { access } = await loginAs(t.baseUrl, 'admin', ADMIN_PASSWORD);
    const response = await request(t.baseUrl, 'POST', '/api/auth/ws-token', { token: access });
    expect(response.status).to.equal(200);
    expect(response.body.expires_in).to.equal(60);
    expect(jwt.decode(response.body.ws_token, { complete: true })?.header.typ).to.equal('ws+jwt');
    const asAccess = await request(t.baseUrl, 'GET', '/api/auth/me', { token: response.body.ws_token });
    expect(asAccess.status).to.equal(401);
    errorShape(asAccess.body, 'token_wrong_type');
  });

  it('an unknown username gets the same answer as a wrong password, and is recorded', async () => {
    const head = await t.app.infra.store.headPosition();
    const unknown = await request(t.baseUrl, 'POST', '/api/auth/login', {
      body: { username: 'nobody-here', password: 'whatever-123' },
    });
    const wrong = await request(t.baseUrl, 'POST', '/api/auth/login', {
      body: { username: 'admin', password: 'wrong-password' },
    });
    expect(unknown.status).to.equal(401);
    expect(wrong.status).to.equal(401);
    expect(unknown.body.error.code).to.equal(wrong.body.error.code);
    expect(unknown.body.error.message).to.equal(wrong.body.error.message);
    const events = await t.app.infra.store.readAll({ after: head, filter: { eventTypes: ['LoginFailed'] } });
    expect(events.map((e) => e.data.reason)).to.deep.equal(['unknown_user', 'wrong_password']);
    expect(events[0]!.data.username).to.equal('nobody-here');
    expect(events[0]!.metadata.ip).to.be.a('string');
  });

  it('logs SECURITY_LOGIN_FAILED with ip, username and correlation id, and never the password', async () => {
    await request(t.baseUrl, 'POST', '/api/auth/login', {
      body: { username: 'admin', password: 'secret-wrong-pw-42' },
      headers: { 'x-correlation-id': 'corr-login-failed-1' },
    });
    const line = t
      .logs()
      .find((l) => String(l.message).includes('SECURITY_LOGIN_FAILED') && l.correlationId === 'corr-login-failed-1');
    expect(line, 'a SECURITY_LOGIN_FAILED line').to.exist;
    expect(line).to.include({ username: 'admin' });
    expect(line!.ip).to.be.a('string');
    expect(t.rawLogs()).not.to.include('secret-wrong-pw-42');
    expect(t.rawLogs()).not.to.include(ADMIN_PASSWORD);
  });

  it('carries X-Correlation-Id from the request into the response and into the events it caused', async () => {
    const head = await t.app.infra.store.headPosition();
    const response = await request(t.baseUrl, 'POST', '/api/auth/login', {
      body: { username: 'admin', password: ADMIN_PASSWORD },
      headers: { 'x-correlation-id': 'incident-4711-abc' },
    });
    expect(response.headers.get('x-correlation-id')).to.equal('incident-4711-abc');
    const events = await t.app.infra.store.readAll({ after: head });
    expect(events.length).to.be.greaterThan(0);
    for (const event of events) expect(event.metadata.correlationId).to.equal('incident-4711-abc');
    const fresh = await request(t.baseUrl, 'GET', '/healthz', {
      headers: { 'x-correlation-id': 'bad id with spaces' },
    });
    expect(fresh.headers.get('x-correlation-id')).to.match(/^[0-9a-f-]{36}$/);
  });

  it('bad input gets a clear 4xx JSON error and appends nothing', async () => {
    const head = await t.app.infra.store.headPosition();
    const malformed = await request(t.baseUrl, 'POST', '/api/auth/login', {
      rawBody: '{"username": "admin", "password": ',
    });
    expect(malformed.status).to.equal(400);
    errorShape(malformed.body, 'malformed_json');
    const wrongTypes = await request(t.baseUrl, 'POST', '/api/auth/login', { body: { username: 42, password: ['x'] } });
    expect(wrongTypes.status).to.equal(400);
    errorShape(wrongTypes.body, 'validation_failed');
    const extra = await request(t.baseUrl, 'POST', '/api/auth/login', {
      body: { username: 'admin', password: 'x', admin: true },
    });
    expect(extra.status).to.equal(400);
    const huge = await request(t.baseUrl, 'POST', '/api/auth/login', {
      rawBody: JSON.stringify({ username: 'admin', password: 'x'.repeat(200_000) }),
    });
    expect(huge.status).to.equal(413);
    errorShape(huge.body, 'payload_too_large');
    const notFound = await request(t.baseUrl, 'GET', '/api/nope');
    expect(notFound.status).to.equal(404);
    errorShape(notFound.body, 'not_found');
    expect(await t.app.infra.store.headPosition()).to.equal(head);
  });

  it('sends a strict CSP and CORS headers only to allowlisted origins', async () => {
    const allowed = await request(t.baseUrl, 'GET', '/healthz', { headers: { origin: 'https://console.example.com' } });
    expect(allowed.headers.get('access-control-allow-origin')).to.equal('https://console.example.com');
    const denied = await request(t.baseUrl, 'GET', '/healthz', { headers: { origin: 'https://evil.example.net' } });
    expect(denied.headers.get('access-control-allow-origin')).to.equal(null);
    const csp = allowed.headers.get('content-security-policy') ?? '';
    expect(csp).to.include("script-src 'self'");
    expect(csp).not.to.include('unsafe-inline');
    expect(csp).to.include("frame-ancestors 'none'");
  });
});
