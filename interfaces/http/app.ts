import cors from 'cors';
import express, { type RequestHandler, type Router } from 'express';
import helmet from 'helmet';
import type { Logger } from 'winston';
import { isValidCorrelationId, newCorrelationId, runWithContext } from '#infrastructure/logging/context.js';
import { errorHandler, notFoundHandler } from './shared/errors.js';
import { rejectOddText } from './shared/text.js';

export type HttpAppOptions = {
  logger: Logger;
  corsOrigins: readonly string[];
  bodyLimit: string;
  /** routers mounted in order, after security middleware and body parsing */
  routers: readonly Router[];
  /**
   * Routers of cheap, frequent reads (GET /api/auth/me), mounted twice: right after the API rate limiter
   * for requests without a body or a query string, which need neither the raw-body routers, nor the JSON
   * parser, nor the text check, nor a walk through every other router; and first among `routers` for
   * any other request (a body, a query to check), which goes the whole way as before.
   */
  hotRouters?: readonly Router[];
  /** routers that read the raw body themselves (signed webhooks), mounted before the JSON body parser */
  rawBodyRouters?: readonly Router[];
  /** observes every finished request (Prometheus histogram) */
  onRequestFinished?: (info: { method: string; route: string; status: number; durationSeconds: number }) => void;
  /** per-IP limit for /api routes (login has its own, stricter one) */
  apiLimiter?: RequestHandler;
  /** trust X-Forwarded-For from this many proxies (0: use the socket address) */
  trustProxy?: number | boolean;
};

/** Content Security Policy: no inline script, nothing from other origins. */
const contentSecurityPolicy = {
  useDefaults: false,
  directives: {
    defaultSrc: ["'self'"],
    scriptSrc: ["'self'"],
    styleSrc: ["'self'"],
    imgSrc: ["'self'", 'data:'],
    connectSrc: ["'self'"],
    fontSrc: ["'self'"],
    objectSrc: ["'none'"],
    baseUri: ["'self'"],
    formAction: ["'self'"],
    frameAncestors: ["'none'"],
  },
};

export const createHttpApp = (options: HttpAppOptions): express.Express => {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', options.trustProxy ?? false);
  // One middleware for what every request needs first, instead of four layers for the router to walk:
  // the correlation id and request context, the request timer, the security headers, and CORS.
  const securityHeaders = staticHeaders(helmet({ contentSecurityPolicy, crossOriginEmbedderPolicy: false }));
  const allowed = new Set(options.corsOrigins);
  const corsHandler = cors({
    // A disallowed origin gets no Access-Control-Allow-Origin at all (not an error: same-origin still works).
    origin: (origin, callback) => callback(null, origin !== undefined && allowed.has(origin)),
    credentials: true,
    exposedHeaders: ['X-Correlation-Id', 'Retry-After'],
    maxAge: 600,
  });
  const { logger, onRequestFinished } = options;
  app.use((req, res, next) => {
    const started = process.hrtime.bigint();
    const given = req.headers['x-correlation-id'];
    const correlationId = typeof given === 'string' && isValidCorrelationId(given) ? given : newCorrelationId();
    // req.ip runs proxy-addr on every read: read once, and kept in the context for the rate limiter.
    const ip = req.ip ?? null;
    res.setHeader('X-Correlation-Id', correlationId);
    res.on('finish', () => {
      const durationSeconds = Number(process.hrtime.bigint() - started) / 1e9;
      const route = routeLabel(req);
      onRequestFinished?.({ method: req.method, route, status: res.statusCode, durationSeconds });
      // Skip building the line when http logs are off: winston would format and redact it anyway.
      if (logger.isLevelEnabled('http'))
        logger.http('request', {
          method: req.method,
          // a contact's phone number is in these paths: log the route pattern instead
          path: req.path.startsWith('/api/contacts/') ? route : req.path,
          route,
          status: res.statusCode,
          durationMs: Math.round(durationSeconds * 1e5) / 100,
          ip,
        });
    });
    const userAgent = req.headers['user-agent'];
    runWithContext({ correlationId, ip, userAgent: userAgent ?? null }, () =>
      securityHeaders(req, res, () => {
        // Browsers send Origin on every cross-origin request (and preflight); without it CORS has nothing
        // to allow or refuse, so only the cache hint that the answer depends on Origin is needed.
        if (req.headers.origin === undefined) {
          res.vary('Origin');
          next();
        } else corsHandler(req, res, next);
      }),
    );
  });
  if (options.apiLimiter) app.use(underApi(options.apiLimiter));
  for (const router of options.hotRouters ?? []) app.use(plainOnly(gated(router)));
  for (const router of options.rawBodyRouters ?? []) app.use(router);
  app.use(express.json({ limit: options.bodyLimit, strict: true }));
  // Every API route refuses NUL, lone surrogates and control characters in its body and query (400
  // invalid_text), whichever router serves it; the login records odd credentials itself.
  app.use('/api', rejectOddText({ 'POST /auth/login': ['username', 'password'] }));
  for (const router of [...(options.hotRouters ?? []), ...options.routers]) app.use(gated(router));
  app.use(notFoundHandler);
  app.use(errorHandler(options.logger));
  return app;
};

/**
 * helmet's headers do not depend on the request (our CSP has no nonce): run its middleware once against a
 * recording response and replay the result, instead of a dozen small middlewares on every request.
 */
const staticHeaders = (middleware: RequestHandler): RequestHandler => {
  const set: Array<[string, string | number | readonly string[]]> = [];
  const removed: string[] = [];
  const recorder = {
    setHeader: (name: string, value: string | number | readonly string[]) => void set.push([name, value]),
    removeHeader: (name: string) => void removed.push(name),
  };
  let synchronous = false;
  void middleware({} as express.Request, recorder as unknown as express.Response, () => {
    synchronous = true;
  });
  if (!synchronous) throw new Error('the security headers middleware did not finish synchronously');
  return (_req, res, next) => {
    for (const name of removed) res.removeHeader(name);
    for (const [name, value] of set) res.setHeader(name, value);
    next();
  };
};

/**
 * `app.use('/api', handler)` without Express's mount (which rewrites req.url and parses it again, and
 * puts it back afterwards): the same requests, `/api` and `/api/...` in any letter case, enter it.
 */
const underApi = (handler: RequestHandler): RequestHandler => {
  return (req, res, next) => {
    const path = req.path;
    const under =
      path.length >= 4 &&
      path.slice(0, 4).toLowerCase() === '/api' &&
      (path.length === 4 || path.charCodeAt(4) === 47); /* '/' */
    return under ? handler(req, res, next) : next();
  };
};

/**
 * Enters `handler` only for a request without a body (no Content-Length, no Transfer-Encoding: what the
 * JSON parser would skip too) and without a query string (what the text check would find nothing in).
 */
const plainOnly = (handler: RequestHandler): RequestHandler => {
  const wrapped: RequestHandler & { stack?: unknown } = (req, res, next) => {
    const headers = req.headers;
    if (headers['content-length'] !== undefined || headers['transfer-encoding'] !== undefined) return next();
    if (req.url.includes('?')) return next();
    return handler(req, res, next);
  };
  // Visible to whatever walks the app's layers, like gated's.
  wrapped.stack = (handler as { stack?: unknown }).stack;
  return wrapped;
};

/** The matched route pattern (bounded label set for metrics), not the raw path. */
const routeLabel = (req: express.Request): string => {
  const route: unknown = (req.route as { path?: unknown } | undefined)?.path;
  if (typeof route === 'string') return `${req.baseUrl}${route}`;
  return 'unmatched';
};

/** Where a path pattern's literal part ends (path-to-regexp 8: parameters, wildcards, groups, escapes). */
const PATTERN_SYNTAX = /[:*{}()\\?+[\]]/;
const LOWER_PATH = Symbol('lower-case path');

/**
 * A router entered only for requests whose path can match one of its layers. Express walks every
 * mounted router for every request, each walk costing a URL parse and a match per layer, so a request
 * for the tenth router paid for the nine before it. When every layer of the router has a string path
 * with a literal beginning (`/api/auth/...`), a request whose path (lower-cased: Express matches
 * without case) starts with none of them cannot match any layer, and skips the router; a router with
 * any other layer (no path, `/`, a RegExp) is entered as before.
 */
type Gate = { prefixes: string[]; root: boolean } | 'always';

const gateOf = (stack: ReadonlyArray<{ rawPath?: unknown; route?: unknown }>): Gate => {
  const prefixes: string[] = [];
  let root = false;
  for (const layer of stack) {
    const raw = layer.rawPath;
    const paths = Array.isArray(raw) ? (raw as unknown[]) : [raw];
    for (const path of paths) {
      if (typeof path !== 'string') return 'always';
      // A route (not a `use`) on `/` matches `/` alone.
      if (path === '/' && layer.route !== undefined) {
        root = true;
        continue;
      }
      const literal = path.split(PATTERN_SYNTAX)[0]!.toLowerCase();
      if (literal === '' || literal === '/') return 'always';
      prefixes.push(literal);
    }
  }
  return prefixes.length === 0 && !root ? 'always' : { prefixes, root };
};

const gated = (router: Router): RequestHandler => {
  const stack = (router as unknown as { stack?: Array<{ rawPath?: unknown; route?: unknown }> }).stack;
  if (!Array.isArray(stack)) return router;
  // Worked out again whenever the router gains layers (routes added after mounting).
  let gate: Gate = 'always';
  let layers = -1;
  const handler: RequestHandler & { stack?: unknown } = (req, res, next) => {
    if (layers !== stack.length) {
      gate = gateOf(stack);
      layers = stack.length;
    }
    if (gate === 'always') return void router(req, res, next);
    const holder = req as unknown as { [LOWER_PATH]?: string };
    const path = (holder[LOWER_PATH] ??= req.path.toLowerCase());
    let enter = gate.root && path === '/';
    for (let i = 0; !enter && i < gate.prefixes.length; i++) enter = path.startsWith(gate.prefixes[i]!);
    if (enter) void router(req, res, next);
    else next();
  };
  // The router's layers stay visible to whatever walks the app (the OpenAPI test lists the served routes).
  handler.stack = stack;
  return handler;
};
