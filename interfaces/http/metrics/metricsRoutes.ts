import { createHash, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Router, type Request } from 'express';
import type { Registry } from 'prom-client';
import { UnauthorizedError } from '#application/shared/errors.js';

/**
 * GET /metrics (Prometheus exposition of `registry`). With a token: `Authorization: Bearer <token>` or
 * 401. Without one: only callers on loopback that did not come through a proxy; everyone else gets the
 * ordinary 404.
 */
export const metricsRoutes = ({ registry, token }: { registry: Registry; token: string | null }): Router => {
  const router = Router();
  router.get('/metrics', async (req, res, next) => {
    // eslint-disable-next-line security/detect-possible-timing-attacks -- null check; the token itself is compared by sameSecret (timingSafeEqual)
    if (token === null) {
      if (!isDirectLoopback(req)) {
        next(); // the ordinary 404: without a token, /metrics does not exist for the outside world
        return;
      }
    } else {
      const given = bearer(req);
      if (given === null || !sameSecret(given, token)) {
        res.set('WWW-Authenticate', 'Bearer realm="metrics"');
        next(
          given === null
            ? new UnauthorizedError('token_missing', 'An Authorization: Bearer <METRICS_TOKEN> header is required.')
            : new UnauthorizedError('token_invalid', 'The metrics token is not valid.'),
        );
        return;
      }
    }
    res
      .set('Content-Type', registry.contentType)
      .set('Cache-Control', 'no-store')
      .send(await registry.metrics());
  });
  return router;
};

const bearer = (req: Request): string | null =>
  /^Bearer\s+(\S+)\s*$/i.exec(req.get('authorization') ?? '')?.[1] ?? null;

/** Constant time whatever the lengths: digests are compared, never the secrets themselves. */
const sameSecret = (given: string, expected: string): boolean =>
  timingSafeEqual(createHash('sha256').update(given).digest(), createHash('sha256').update(expected).digest());

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|::ffff:127\.\d+\.\d+\.\d+)$/;
/**
 * The socket peer, never X-Forwarded-For. A reverse proxy on the same host connects from loopback
 * too, so a request that carries forwarding headers is treated as coming from outside.
 */
const isDirectLoopback = (req: Request): boolean =>
  LOOPBACK.test(req.socket.remoteAddress ?? '') &&
  req.get('x-forwarded-for') === undefined &&
  req.get('forwarded') === undefined &&
  req.get('x-real-ip') === undefined;

export type MetricsServer = { server: http.Server; port: number; close: () => Promise<void> };

/**
 * /metrics alone, without a token, on its own address (METRICS_BIND): for a scraper on a private
 * network or loopback while the main port faces the internet.
 */
export const startMetricsServer = async (
  bind: { host: string; port: number },
  registry: Registry,
): Promise<MetricsServer> => {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if ((req.method === 'GET' || req.method === 'HEAD') && path === '/metrics') {
      registry.metrics().then(
        (body) => {
          res.writeHead(200, { 'Content-Type': registry.contentType, 'Cache-Control': 'no-store' });
          res.end(req.method === 'HEAD' ? undefined : body);
        },
        () => {
          res.writeHead(500, { 'Content-Type': 'application/json' });
          res.end(
            JSON.stringify({
              error: { code: 'internal_error', message: 'Collecting the metrics failed.', correlationId: null },
            }),
          );
        },
      );
      return;
    }
    res.writeHead(404, { 'Content-Type': 'application/json' });
    res.end(
      JSON.stringify({
        error: { code: 'not_found', message: `No route for ${req.method ?? 'GET'} ${path}.`, correlationId: null },
      }),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(bind.port, bind.host, () => resolve());
  });
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
};
