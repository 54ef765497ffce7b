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

const correlation: RequestHandler = (req, res, next) => {
  const given = req.get('x-correlation-id');
  const correlationId = given && isValidCorrelationId(given) ? given : newCorrelationId();
  res.setHeader('X-Correlation-Id', correlationId);
  runWithContext({ correlationId, ip: req.ip ?? null, userAgent: req.get('user-agent') ?? null }, () => next());
};

export const createHttpApp = (options: HttpAppOptions): express.Express => {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', options.trustProxy ?? false);
  app.use(correlation);
  app.use((req, res, next) => {
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const durationSeconds = Number(process.hrtime.bigint() - started) / 1e9;
      const route = routeLabel(req);
      options.onRequestFinished?.({ method: req.method, route, status: res.statusCode, durationSeconds });
      // Skip building the line when http logs are off: winston would format and redact it anyway.
      if (options.logger.isLevelEnabled('http'))
        options.logger.http('request', {
          method: req.method,
          // a contact's phone number is in these paths: log the route pattern instead
          path: req.path.startsWith('/api/contacts/') ? route : req.path,
          route,
          status: res.statusCode,
          durationMs: Math.round(durationSeconds * 1e5) / 100,
          ip: req.ip,
        });
    });
    next();
  });
  app.use(staticHeaders(helmet({ contentSecurityPolicy, crossOriginEmbedderPolicy: false })));
  const allowed = new Set(options.corsOrigins);
  const corsHandler = cors({
    // A disallowed origin gets no Access-Control-Allow-Origin at all (not an error: same-origin still works).
    origin: (origin, callback) => callback(null, origin !== undefined && allowed.has(origin)),
    credentials: true,
    exposedHeaders: ['X-Correlation-Id', 'Retry-After'],
    maxAge: 600,
  });
  app.use((req, res, next) => {
    // Browsers send Origin on every cross-origin request (and preflight); without it CORS has nothing
    // to allow or refuse, so only the cache hint that the answer depends on Origin is needed.
    if (req.headers.origin === undefined) {
      res.vary('Origin');
      next();
    } else corsHandler(req, res, next);
  });
  if (options.apiLimiter) app.use('/api', options.apiLimiter);
  for (const router of options.rawBodyRouters ?? []) app.use(router);
  app.use(express.json({ limit: options.bodyLimit, strict: true }));
  // Every API route refuses NUL, lone surrogates and control characters in its body and query (400
  // invalid_text), whichever router serves it; the login records odd credentials itself.
  app.use('/api', rejectOddText({ 'POST /auth/login': ['username', 'password'] }));
  for (const router of options.routers) app.use(router);
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

/** The matched route pattern (bounded label set for metrics), not the raw path. */
const routeLabel = (req: express.Request): string => {
  const route: unknown = (req.route as { path?: unknown } | undefined)?.path;
  if (typeof route === 'string') return `${req.baseUrl}${route}`;
  return 'unmatched';
};
