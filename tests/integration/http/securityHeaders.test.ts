import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import express, { Router } from 'express';
import helmet from 'helmet';
import { createLogger } from '#infrastructure/logging/logger.js';
import { createHttpApp } from '#interfaces/http/app.js';

const listen = async (app: express.Express): Promise<{ url: string; server: http.Server }> => {
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
};

describe('security headers, computed once', () => {
  let ours: { url: string; server: http.Server };
  let reference: { url: string; server: http.Server };

  before(async () => {
    const router = Router().get('/api/thing', (_req, res) => void res.json({ ok: true }));
    ours = await listen(
      createHttpApp({
        logger: createLogger({ level: 'error', service: 'test' }),
        corsOrigins: ['https://console.example.com'],
        bodyLimit: '10kb',
        routers: [router],
      }),
    );
    // helmet run per request with its defaults: every header it sets must still be there.
    const plain = express();
    plain.use(helmet({ contentSecurityPolicy: false, crossOriginEmbedderPolicy: false }));
    plain.get('/api/thing', (_req, res) => void res.json({ ok: true }));
    reference = await listen(plain);
  });
  after(() => {
    ours.server.close();
    reference.server.close();
  });

  it('sends every header helmet sets per request, plus our CSP, on every response', async () => {
    const [mine, theirs] = await Promise.all([fetch(`${ours.url}/api/thing`), fetch(`${reference.url}/api/thing`)]);
    const helmetHeaders = [...theirs.headers.keys()].filter(
      (name) =>
        !['content-type', 'content-length', 'etag', 'date', 'connection', 'keep-alive', 'x-powered-by'].includes(name),
    );
    expect(helmetHeaders.length).to.be.greaterThan(8);
    for (const name of helmetHeaders) expect(mine.headers.get(name), name).to.equal(theirs.headers.get(name));
    expect(mine.headers.get('content-security-policy'))
      .to.include("default-src 'self'")
      .and.include("frame-ancestors 'none'");
    expect(mine.headers.get('x-powered-by')).to.equal(null);
    // Twice: a replayed header set must not accumulate or disappear.
    const again = await fetch(`${ours.url}/nowhere`);
    expect(again.status).to.equal(404);
    expect(again.headers.get('content-security-policy')).to.equal(mine.headers.get('content-security-policy'));
  });

  it('CORS: no Origin gets only Vary: Origin; an allowed origin gets the CORS headers, another none', async () => {
    const none = await fetch(`${ours.url}/api/thing`);
    expect(none.headers.get('vary')).to.include('Origin');
    expect(none.headers.get('access-control-allow-origin')).to.equal(null);
    const allowed = await fetch(`${ours.url}/api/thing`, { headers: { origin: 'https://console.example.com' } });
    expect(allowed.headers.get('access-control-allow-origin')).to.equal('https://console.example.com');
    expect(allowed.headers.get('access-control-allow-credentials')).to.equal('true');
    expect(allowed.headers.get('access-control-expose-headers')).to.include('X-Correlation-Id');
    const other = await fetch(`${ours.url}/api/thing`, { headers: { origin: 'https://evil.example' } });
    expect(other.headers.get('access-control-allow-origin')).to.equal(null);
    const preflight = await fetch(`${ours.url}/api/thing`, {
      method: 'OPTIONS',
      headers: { origin: 'https://console.example.com', 'access-control-request-method': 'POST' },
    });
    expect(preflight.status).to.equal(204);
    expect(preflight.headers.get('access-control-max-age')).to.equal('600');
  });
});
