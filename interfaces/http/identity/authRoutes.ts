import { Router, type RequestHandler } from 'express';
import { z } from 'zod';
import { login } from '#application/identity/login.js';
import { issueWsToken, logout, refresh } from '#application/identity/sessions.js';
import type { IdentityDeps, TokenPair } from '#application/identity/login.js';
import { PASSWORD_MAX_LENGTH } from '#domain/identity/rules.js';
import { commandContext } from '../shared/context.js';
import { parseInput } from '../shared/validate.js';
import { authOf, requireAuth, toHttpTokenError } from './authenticate.js';
import { rejectOddText } from '../shared/text.js';

/**
 * Any name up to a bound: a name that cannot exist is still a login attempt, recorded (escaped) and
 * answered like an unknown one. The password bound is the one every password rule uses.
 */
export const LoginBody = z
  .object({ username: z.string().min(1).max(1024), password: z.string().min(1).max(PASSWORD_MAX_LENGTH) })
  .strict();
export const RefreshBody = z.object({ refresh_token: z.string().min(1).max(4096) }).strict();

const tokenResponse = (pair: TokenPair) => ({
  access_token: pair.access.token,
  token_type: 'Bearer',
  expires_in: pair.access.expiresIn,
  refresh_token: pair.refresh.token,
  refresh_expires_in: pair.refresh.expiresIn,
});

const noStore: RequestHandler = (_req, res, next) => {
  res.set('Cache-Control', 'no-store');
  next();
};

export type AuthRoutesOptions = {
  identity: IdentityDeps;
  /** per-IP login limiter (and fail-closed check); runs before any password work */
  loginLimiter: RequestHandler;
};

/**
 * GET /api/auth/me alone, for createHttpApp's `hotRouters`: the console asks it on every view, and it is
 * the cheapest authenticated read (the access token's check and the session allowlist, nothing else).
 */
export const authMeRoutes = ({ identity }: Pick<AuthRoutesOptions, 'identity'>): Router => {
  const router = Router();
  router.get('/api/auth/me', noStore, requireAuth(identity), (req, res) => {
    const auth = authOf(req);
    res.status(200).json({
      id: auth.accountId,
      username: auth.username,
      role: auth.role,
      session_id: auth.sessionId,
      expires_at: new Date(auth.expiresAt * 1000).toISOString(),
    });
  });
  return router;
};

/** /api/auth/*: login, refresh, logout, ws-token (me: authMeRoutes). */
export const authRoutes = ({ identity, loginLimiter }: AuthRoutesOptions): Router => {
  const router = Router();
  // A login's odd name is recorded (escaped) as an attempt and answered 401, not refused unrecorded.
  router.use('/api/auth', rejectOddText({ 'POST /login': ['username', 'password'] }));
  const authenticated = requireAuth(identity);
  router.use('/api/auth', noStore);

  router.post('/api/auth/login', loginLimiter, async (req, res) => {
    const body = parseInput(LoginBody, req.body);
    const pair = await login(identity, body, commandContext(req));
    res.status(200).json(tokenResponse(pair));
  });

  router.post('/api/auth/refresh', async (req, res, next) => {
    const body = parseInput(RefreshBody, req.body);
    try {
      const pair = await refresh(identity, body.refresh_token, commandContext(req));
      res.status(200).json(tokenResponse(pair));
    } catch (error) {
      next(toHttpTokenError(error));
    }
  });

  router.post('/api/auth/logout', authenticated, async (req, res) => {
    const auth = authOf(req);
    await logout(identity, auth, commandContext(req, auth.accountId));
    res.status(204).end();
  });

  router.post('/api/auth/ws-token', authenticated, async (req, res) => {
    const auth = authOf(req);
    const token = await issueWsToken(identity, auth, commandContext(req, auth.accountId));
    res.status(200).json({ ws_token: token.token, expires_in: token.expiresIn, scope: 'metrics:read' });
  });

  return router;
};
