// The HTTP path's shortcuts (bench/README.md, "The HTTP path") change what a request costs, not what it
// is answered: verified tokens are remembered until their expiry while the session is still asked about
// on every request, and routers are skipped only for paths none of their layers can match.
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import { Router, type Express } from 'express';
import type { Authenticator } from '#application/identity/sessions.js';
import type { AccessClaims, Principal } from '#application/identity/ports.js';
import { UnauthorizedError } from '#application/shared/errors.js';
import { createTokenService } from '#infrastructure/identity/jwt.js';
import { createLogger } from '#infrastructure/logging/logger.js';
import { createHttpApp } from '#interfaces/http/app.js';
import { authOf, requireAuth } from '#interfaces/http/identity/authenticate.js';
import { TEST_JWT_SECRET } from '../../support/app.js';
import { manualRuntime } from '../../support/runtime.js';

const listen = async (app: Express): Promise<{ url: string; server: http.Server }> => {
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
};
const [ACC1, SES1, ACC2, SES2] = [1, 2, 3, 4].map((n) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`) as [
  string,
  string,
  string,
  string,
];
const logger = createLogger({ level: 'error', service: 'test' });

describe('HTTP fast path: verified tokens remembered, sessions asked every time', () => {
  const runtime = manualRuntime('2026-03-01T10:00:00.000Z');
  const tokens = createTokenService({
    secret: TEST_JWT_SECRET,
    issuer: 'chatbot',
    audience: 'chatbot-api',
    accessTtlSeconds: 900,
    refreshTtlSeconds: 3600,
    wsTtlSeconds: 30,
    now: () => runtime.clock().getTime(),
  });
  let verifies = 0;
  const counted = {
    ...tokens,
    verify: ((...args: Parameters<typeof tokens.verify>) => {
      verifies += 1;
      return tokens.verify(...args);
    }) as typeof tokens.verify,
  };
  const checked: AccessClaims[] = [];
  const revoked = new Set<string>();
  const deps: Authenticator & { runtime: typeof runtime } = {
    tokens: counted,
    runtime,
    sessions: {
      check: (claims: AccessClaims): Promise<Principal> => {
        checked.push(claims);
        if (revoked.has(claims.sessionId))
          return Promise.reject(new UnauthorizedError('token_revoked', 'The session of this token has been revoked.'));
        return Promise.resolve({ ...claims, username: 'someone', role: 'viewer' });
      },
    } as unknown as Authenticator['sessions'],
  };
  let app: { url: string; server: http.Server };
  before(async () => {
    const router = Router().get('/api/who', requireAuth(deps), (req, res) => void res.json(authOf(req)));
    app = await listen(createHttpApp({ logger, corsOrigins: [], bodyLimit: '10kb', routers: [router] }));
  });
  after(() => app.server.close());
  const who = (token: string) => fetch(`${app.url}/api/who`, { headers: { authorization: `Bearer ${token}` } });

  it('verifies a token once, asks the session allowlist on every request, and refuses at once when it says revoked', async () => {
    const token = tokens.issueAccessToken({ accountId: ACC1, sessionId: SES1 }).token;
    verifies = 0;
    checked.length = 0;
    for (let i = 0; i < 3; i++) expect((await who(token)).status).to.equal(200);
    expect(verifies).to.equal(1);
    expect(checked.map((c) => c.sessionId)).to.deep.equal([SES1, SES1, SES1]);
    revoked.add(SES1);
    const refused = await who(token);
    expect(refused.status).to.equal(401);
    expect(((await refused.json()) as { error: { code: string } }).error.code).to.equal('token_revoked');
    expect(checked).to.have.length(4);
  });

  it('a remembered token still expires on time, and a changed token is verified (and refused) on its own', async () => {
    const issued = tokens.issueAccessToken({ accountId: ACC2, sessionId: SES2 });
    expect((await who(issued.token)).status).to.equal(200);
    // one character of the payload changed: another key, so a full verify, which fails
    const [header, payload, signature] = issued.token.split('.') as [string, string, string];
    const forged = `${header}.${payload.slice(0, -2)}${payload.endsWith('A') ? 'B' : 'A'}${payload.slice(-1)}.${signature}`;
    const forgedAnswer = await who(forged);
    expect(forgedAnswer.status).to.equal(401);
    runtime.advance(899_000);
    expect((await who(issued.token)).status).to.equal(200);
    runtime.advance(1_000);
    const expired = await who(issued.token);
    expect(expired.status).to.equal(401);
    expect(((await expired.json()) as { error: { code: string } }).error.code).to.equal('token_expired');
  });
});

describe('HTTP fast path: routers skipped only where they cannot match', () => {
  let app: { url: string; server: http.Server };
  const late = Router();
  before(async () => {
    const first = Router()
      .get('/', (_req, res) => void res.json({ from: 'root' }))
      .get('/healthz', (_req, res) => void res.json({ from: 'health' }));
    const params = Router().get('/api/items/:id', (req, res) => void res.json({ from: 'items', id: req.params['id'] }));
    const pathless = Router().use((req, res, next) => {
      if (req.path === '/anything/here') res.json({ from: 'pathless' });
      else next();
    });
    app = await listen(
      createHttpApp({ logger, corsOrigins: [], bodyLimit: '10kb', routers: [first, params, late, pathless] }),
    );
    // a route added after the app was built is still reached
    late.get('/api/late', (_req, res) => void res.json({ from: 'late' }));
  });
  after(() => app.server.close());
  const get = async (path: string, init?: RequestInit) => {
    const res = await fetch(`${app.url}${path}`, init);
    return { status: res.status, body: res.status === 204 ? null : ((await res.json()) as Record<string, unknown>) };
  };

  it('answers exactly what Express answers without the gates', async () => {
    expect(await get('/')).to.deep.equal({ status: 200, body: { from: 'root' } });
    expect(await get('/HEALTHZ/')).to.deep.equal({ status: 200, body: { from: 'health' } });
    expect(await get('/API/Items/42')).to.deep.equal({ status: 200, body: { from: 'items', id: '42' } });
    expect(await get('/api/late')).to.deep.equal({ status: 200, body: { from: 'late' } });
    expect(await get('/anything/here')).to.deep.equal({ status: 200, body: { from: 'pathless' } });
    expect((await get('/api/items')).status).to.equal(404);
    expect((await get('/nowhere')).status).to.equal(404);
    const options = await fetch(`${app.url}/api/items/1`, { method: 'OPTIONS' });
    expect(options.headers.get('allow')).to.include('GET');
  });
});

describe('HTTP fast path: hot routes early for plain requests, the whole way for the rest', () => {
  let app: { url: string; server: http.Server };
  const limited: string[] = [];
  let rawRouterSeen = 0;
  before(async () => {
    const hot = Router().get('/api/hot', (req, res) => void res.json({ from: 'hot', body: req.body ?? null }));
    // Mounted after the early hot mount and before the JSON parser: only the long way passes here.
    const raw = Router().use((_req, _res, next) => {
      rawRouterSeen += 1;
      next();
    });
    app = await listen(
      createHttpApp({
        logger,
        corsOrigins: [],
        bodyLimit: '10kb',
        hotRouters: [hot],
        routers: [],
        rawBodyRouters: [raw],
        apiLimiter: (req, res, next) => {
          limited.push(req.originalUrl);
          if (req.headers['x-refuse'] === undefined) next();
          else res.status(429).json({ error: { code: 'rate_limited' } });
        },
      }),
    );
  });
  after(() => app.server.close());
  const call = async (path: string, init?: RequestInit) => {
    const res = await fetch(`${app.url}${path}`, init);
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const codeOf = (body: Record<string, unknown>) => (body['error'] as { code?: string } | undefined)?.code;

  it('serves a plain GET early, after the rate limiter, and anything with a query or a body the whole way', async () => {
    rawRouterSeen = 0;
    expect(await call('/api/hot')).to.deep.equal({ status: 200, body: { from: 'hot', body: null } });
    expect(await call('/API/Hot/')).to.deep.equal({ status: 200, body: { from: 'hot', body: null } });
    expect(rawRouterSeen).to.equal(0);
    expect(await call('/api/hot?a=1')).to.deep.equal({ status: 200, body: { from: 'hot', body: null } });
    expect(rawRouterSeen).to.equal(1);
    // the limiter runs before the early mount
    expect((await call('/api/hot', { headers: { 'x-refuse': '1' } })).status).to.equal(429);
  });

  it('still refuses odd text in the query and a malformed or odd body of the same route', async () => {
    const odd = await call('/api/hot?name=%00');
    expect([odd.status, codeOf(odd.body)]).to.deep.equal([400, 'invalid_text']);
    const { request } = await import('node:http');
    const send = (body: string) =>
      new Promise<{ status: number; body: Record<string, unknown> }>((resolve, reject) => {
        const req = request(
          `${app.url}/api/hot`,
          { method: 'GET', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
          (res) => {
            let text = '';
            res.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
            res.on('end', () =>
              resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown> }),
            );
          },
        );
        req.on('error', reject);
        req.end(body);
      });
    const malformed = await send('{"a":');
    expect([malformed.status, codeOf(malformed.body)]).to.deep.equal([400, 'malformed_json']);
    const oddBody = await send('{"a":"x\\u0000y"}');
    expect([oddBody.status, codeOf(oddBody.body)]).to.deep.equal([400, 'invalid_text']);
    const parsed = await send('{"a":"b"}');
    expect(parsed).to.deep.equal({ status: 200, body: { from: 'hot', body: { a: 'b' } } });
  });

  it('the API limiter sees /api and /api/... in any case, and nothing else', async () => {
    limited.length = 0;
    for (const path of ['/api', '/API/hot', '/api/nowhere', '/apix', '/healthz', '/x/api/hot'])
      await fetch(`${app.url}${path}`);
    expect(limited).to.deep.equal(['/api', '/API/hot', '/api/nowhere']);
  });
});
