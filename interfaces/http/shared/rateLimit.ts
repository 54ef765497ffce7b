import type { NextFunction, Request, RequestHandler } from 'express';
import type { Redis } from 'ioredis';
import { normaliseUsername } from '#application/identity/accountIds.js';
import { printable } from '#domain/identity/rules.js';
import type { Log } from '#application/identity/login.js';
import type { EventStore } from '#application/shared/eventStore.js';
import type { Runtime } from '#application/shared/runtime.js';
import { RateLimitedError, UnavailableError } from '#application/shared/errors.js';
import { createLimiter, type Limiter } from '#infrastructure/ratelimit/limiter.js';
import { recordRateLimited } from '#application/identity/rateLimited.js';
import { currentContext } from '#infrastructure/logging/context.js';
import { commandContext } from './context.js';

/**
 * Rate limits per IP (login) and per IP and endpoint (the rest of /api).
 * Wiring, in the composition root (interfaces/process/):
 *
 *   const rateLimiting = createRateLimiting({ redis, keyPrefix: 'chatbot:', loginPerMinute, apiPerMinute, store, log: logger, runtime });
 *   createHttpApp({ ..., apiLimiter: rateLimiting.apiLimiter, routers: [authRoutes({ identity, loginLimiter: rateLimiting.loginLimiter }), ...] });
 *
 * `redis` is an ioredis client built with FAIL_FAST_REDIS_OPTIONS (infrastructure/ratelimit/limiter.ts),
 * or null in embedded mode (in-memory counters, one process). Lockout decisions are not made here: the
 * account stream decides (domain/identity/lockout.ts) and GET /api/users/locks reads the login_locks projection.
 * Redis down: login fails closed (503 rate_limiter_unavailable), other /api requests go through.
 * Over the limit: 429 rate_limited with Retry-After, a `rate limit exceeded` log line (ip, username,
 * route, correlationId) and, once per client and window, a RateLimited event on `ratelimit-<ip>`.
 */
export type RateLimitingOptions = {
  redis: Redis | null;
  /** namespace of every key, e.g. 'chatbot:' (tests use a unique one per run) */
  keyPrefix: string;
  loginPerMinute: number;
  apiPerMinute: number;
  store: EventStore;
  log: Log;
  /** time and ids of the RateLimited events */
  runtime: Runtime;
};

export type RateLimiting = {
  /** for POST /api/auth/login, after body parsing (it logs the username); fails closed */
  loginLimiter: RequestHandler;
  /** for app.use('/api', ...): every other /api request, per endpoint; fails open */
  apiLimiter: RequestHandler;
};

export const LOGIN_ROUTE = 'POST /api/auth/login';
const WINDOW_SECONDS = 60;
const WARN_EVERY_MS = 10_000;
/** The API limiter fails open, so it may lease points from Redis (infrastructure/ratelimit/limiter.ts); login never does. */
const API_MAX_LEASE = 32;
const MAX_REMEMBERED_ENDPOINTS = 1_000;

const ID_SEGMENT = /^(?:\d+|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[A-Za-z0-9_-]{20,})$/i;

/**
 * The endpoint a request counts against: method and route pattern when routing matched one, else the
 * path with id-like segments folded to `:id`, so `/api/users/1` and `/api/users/2` share one budget
 * and random paths cannot mint unbounded keys per IP.
 */
export const endpointOf = (method: string, path: string, routePattern?: string): string => {
  if (routePattern !== undefined) return `${method.toUpperCase()} ${routePattern}`;
  const segments = path.split('/').map((segment) => (ID_SEGMENT.test(segment) ? ':id' : segment.toLowerCase()));
  const normalised = segments.join('/').replace(/\/+$/, '') || '/';
  return `${method.toUpperCase()} ${normalised.slice(0, 200)}`;
};

/** Refusals 1, 2, 4, 8... of a window are logged: every abusive IP shows up, a flood stays a few lines. */
export const shouldLogRejection = (rejectedInWindow: number): boolean =>
  rejectedInWindow >= 1 && (rejectedInWindow & (rejectedInWindow - 1)) === 0;

const usernameOf = (req: Request): string | undefined => {
  const body: unknown = req.body;
  if (typeof body !== 'object' || body === null) return undefined;
  const username = (body as { username?: unknown }).username;
  return typeof username === 'string' && username.length > 0
    ? printable(normaliseUsername(username).slice(0, 64))
    : undefined;
};

const routePatternOf = (req: Request): string | undefined => {
  const path: unknown = (req.route as { path?: unknown } | undefined)?.path;
  return typeof path === 'string' ? `${req.baseUrl}${path}` : undefined;
};

const throttled = (log: Log) => {
  let last = 0;
  return (message: string, fields: Record<string, unknown>) => {
    if (Date.now() - last < WARN_EVERY_MS) return;
    last = Date.now();
    log.warn(message, fields);
  };
};

export const createRateLimiting = (options: RateLimitingOptions): RateLimiting => {
  const { log, store, runtime } = options;
  const login = createLimiter({
    redis: options.redis,
    keyPrefix: `${options.keyPrefix}rl:login`,
    name: 'login',
    points: options.loginPerMinute,
    windowSeconds: WINDOW_SECONDS,
  });
  const api = createLimiter({
    redis: options.redis,
    keyPrefix: `${options.keyPrefix}rl:api`,
    name: 'api',
    points: options.apiPerMinute,
    windowSeconds: WINDOW_SECONDS,
    maxLease: API_MAX_LEASE,
  });
  const warnLoginClosed = throttled(log);
  const warnApiOpen = throttled(log);

  const refuse = async (
    req: Request,
    limiter: Limiter,
    route: string,
    retryAfterSeconds: number,
    rejectedInWindow: number,
  ): Promise<RateLimitedError> => {
    const context = commandContext(req);
    const ip = req.ip ?? 'unknown';
    const username = route === LOGIN_ROUTE ? usernameOf(req) : undefined;
    if (shouldLogRejection(rejectedInWindow)) {
      log.warn('rate limit exceeded', {
        ip,
        username,
        route,
        correlationId: context.correlationId,
        limit: limiter.points,
        windowSeconds: limiter.windowSeconds,
        rejectedInWindow,
        retryAfterSeconds,
      });
    }
    if (rejectedInWindow === 1) {
      try {
        await recordRateLimited(
          store,
          { ip, route, limit: limiter.points, windowSeconds: limiter.windowSeconds, username },
          context,
          runtime,
        );
      } catch (error) {
        // The 429 stands without its audit event; the log line above still has the facts.
        log.error('rate limit: RateLimited event not recorded', {
          ip,
          route,
          correlationId: context.correlationId,
          error,
        });
      }
    }
    return new RateLimitedError(
      `Too many requests: at most ${limiter.points} per ${limiter.windowSeconds} s for this endpoint. Retry in ${retryAfterSeconds} s.`,
      retryAfterSeconds,
    );
  };

  // Express 5 passes a rejected promise to next(error); every expected outcome calls next itself.
  const loginLimiter: RequestHandler = async (req, _res, next: NextFunction) => {
    const ip = req.ip ?? 'unknown';
    let decision;
    try {
      decision = await login.consume(ip);
    } catch (error) {
      warnLoginClosed('rate limit store unavailable: login refused (fail closed)', {
        ip,
        username: usernameOf(req),
        correlationId: commandContext(req).correlationId,
        error: error instanceof Error ? error.message : String(error),
      });
      next(
        new UnavailableError(
          'Login is temporarily unavailable: the rate limiter cannot be reached. Try again in a few seconds.',
          'rate_limiter_unavailable',
        ),
      );
      return;
    }
    if (decision.kind === 'allowed') return next();
    next(await refuse(req, login, LOGIN_ROUTE, decision.retryAfterSeconds, decision.rejectedInWindow));
  };

  // endpointOf folds every segment with a regular expression; the same paths come back all the time.
  const endpoints = new Map<string, string>();
  const endpointFor = (req: Request): string => {
    const pattern = routePatternOf(req);
    if (pattern !== undefined) return endpointOf(req.method, '', pattern);
    const raw = `${req.method} ${req.baseUrl}${req.path}`;
    let endpoint = endpoints.get(raw);
    if (endpoint === undefined) {
      endpoint = endpointOf(req.method, `${req.baseUrl}${req.path}`);
      // Bounded: random paths (ids) fill it at most to the bound, then it starts over.
      if (endpoints.size >= MAX_REMEMBERED_ENDPOINTS) endpoints.clear();
      if (raw.length <= 256) endpoints.set(raw, endpoint);
    }
    return endpoint;
  };

  const apiLimiter: RequestHandler = (req, _res, next: NextFunction) => {
    const route = endpointFor(req);
    if (route === LOGIN_ROUTE) return next(); // it has its own, stricter, fail-closed limiter
    // The request context has req.ip already (interfaces/http/app.ts reads it once per request).
    const ip = currentContext()?.ip ?? req.ip ?? 'unknown';
    const key = `${ip}|${route}`;
    // Counted against this process's lease of the key: no promise, no turn of the event loop.
    if (api.consumeLeased(key) !== undefined) return next();
    return apiFromStore(req, next, ip, route, key);
  };

  const apiFromStore = async (req: Request, next: NextFunction, ip: string, route: string, key: string) => {
    let decision;
    try {
      decision = await api.consume(key);
    } catch (error) {
      warnApiOpen('rate limit store unavailable: /api requests let through unlimited', {
        ip,
        route,
        correlationId: commandContext(req).correlationId,
        error: error instanceof Error ? error.message : String(error),
      });
      return next();
    }
    if (decision.kind === 'allowed') return next();
    next(await refuse(req, api, route, decision.retryAfterSeconds, decision.rejectedInWindow));
  };

  return { loginLimiter, apiLimiter };
};
