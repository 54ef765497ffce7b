import type { SessionRevocationReason, WsScope } from '#domain/identity/events.js';
import { sessionStreamId, wsTokenStreamId } from '#domain/identity/events.js';
import { rotationOutcome, sessionDecider } from '#domain/identity/session.js';
import { wsTokenDecider } from '#domain/identity/wsToken.js';
import { handleCommand, type CommandContext } from '#application/shared/commandHandler.js';
import { UnauthorizedError } from '#application/shared/errors.js';
import type { IdentityDeps, TokenPair } from './login.js';
import type { IssuedToken, Principal, WsClaims } from './ports.js';

/** Kept for the routers that only authenticate: the token service and the allowlist. */
export type SessionDeps = IdentityDeps;
export type Authenticator = Pick<IdentityDeps, 'tokens' | 'sessions'>;

/** A valid access token of an active session, with the account's current role; 401 otherwise. */
export const authenticate = async (deps: Authenticator, token: string | null | undefined): Promise<Principal> => {
  const claims = deps.tokens.verify(token, 'access');
  return deps.sessions.check(claims);
};

/** Rotates the refresh token; presenting an already-rotated one revokes the whole family. */
export const refresh = async (
  deps: IdentityDeps,
  refreshToken: string,
  request: CommandContext,
): Promise<TokenPair> => {
  const { clock, newId } = deps.runtime;
  const claims = deps.tokens.verify(refreshToken, 'refresh');
  const newTokenId = newId();
  const access = deps.tokens.issueAccessToken({ accountId: claims.accountId, sessionId: claims.sessionId });
  const next = deps.tokens.issueRefreshToken({
    accountId: claims.accountId,
    sessionId: claims.sessionId,
    tokenId: newTokenId,
  });
  const { events, state } = await handleCommand(
    deps.store,
    sessionStreamId(claims.sessionId),
    sessionDecider,
    () => ({
      type: 'RotateRefreshToken' as const,
      data: {
        sessionId: claims.sessionId,
        presentedTokenId: claims.jti,
        newTokenId,
        expiresAt: next.expiresAt,
        now: clock().toISOString(),
        accessTokenId: access.jti,
        accessExpiresAt: access.expiresAt,
      },
    }),
    { ...request, actor: claims.accountId },
    { runtime: deps.runtime },
  );
  const outcome = rotationOutcome(events);
  if (outcome?.kind === 'reuse_detected') {
    deps.sessions.ended(claims.sessionId);
    deps.log.warn('SECURITY_REFRESH_TOKEN_REUSE session revoked', {
      accountId: claims.accountId,
      sessionId: claims.sessionId,
      ip: request.ip,
      correlationId: request.correlationId,
    });
    throw new UnauthorizedError(
      'refresh_token_reused',
      'This refresh token was already used; the whole session has been revoked.',
    );
  }
  if (state.status !== 'active' || state.accountId !== claims.accountId)
    throw new UnauthorizedError('token_revoked', 'The session of this token has been revoked.');
  // The account as it is now (role, disabled): the same check every request makes.
  const principal = await deps.sessions.check({ ...claims, expiresAt: 0 });
  return {
    access,
    refresh: next,
    accountId: claims.accountId,
    username: principal.username,
    role: principal.role,
    sessionId: claims.sessionId,
  };
};

export const logout = async (deps: IdentityDeps, principal: Principal, request: CommandContext): Promise<void> => {
  await handleCommand(
    deps.store,
    sessionStreamId(principal.sessionId),
    sessionDecider,
    () => ({ type: 'Logout' as const, data: { sessionId: principal.sessionId, by: principal.accountId } }),
    { ...request, actor: principal.accountId },
    { runtime: deps.runtime },
  );
  deps.sessions.ended(principal.sessionId);
};

/**
 * Ends sessions of an account that someone else decided to end (reset, role change, disable): one
 * SessionRevoked per session, decided by the session decider. `known` are the sessions the account
 * stream says were opened since the last such change (complete, even before any read model has seen
 * them); the read model adds sessions older than that bookkeeping.
 */
export const endSessions = async (
  deps: Pick<IdentityDeps, 'store' | 'sessions' | 'runtime'>,
  input: {
    accountId: string;
    known: readonly string[];
    reason: Exclude<SessionRevocationReason, 'refresh_token_reuse' | 'logout'>;
  },
  context: CommandContext,
): Promise<number> => {
  const ids = new Set([...input.known, ...(await deps.sessions.activeOf(input.accountId))]);
  let ended = 0;
  for (const sessionId of ids) {
    const { events } = await handleCommand(
      deps.store,
      sessionStreamId(sessionId),
      sessionDecider,
      () => ({
        type: 'RevokeSession' as const,
        data: { sessionId, accountId: input.accountId, reason: input.reason, by: context.actor },
      }),
      context,
      { runtime: deps.runtime },
    );
    deps.sessions.ended(sessionId);
    ended += events.length;
  }
  return ended;
};

/** A short-lived, single-use token for the WebSocket's first message, bound to the caller's session. */
export const issueWsToken = async (
  deps: IdentityDeps,
  principal: Principal,
  request: CommandContext,
  scope: WsScope = 'metrics:read',
): Promise<IssuedToken> => {
  const token = deps.tokens.issueWsToken({ accountId: principal.accountId, sessionId: principal.sessionId, scope });
  await handleCommand(
    deps.store,
    wsTokenStreamId(token.jti),
    wsTokenDecider,
    () => ({
      type: 'IssueWsToken' as const,
      data: {
        jti: token.jti,
        accountId: principal.accountId,
        sessionId: principal.sessionId,
        scope,
        expiresAt: token.expiresAt,
      },
    }),
    { ...request, actor: principal.accountId },
    { runtime: deps.runtime },
  );
  return token;
};

/**
 * Verifies and consumes a ws token exactly once across every process (expected revision on its
 * stream), and only while its session is active.
 */
export const consumeWsToken = async (
  deps: IdentityDeps,
  token: string,
  scope: WsScope,
  request: CommandContext,
): Promise<WsClaims> => {
  const { clock } = deps.runtime;
  const claims = deps.tokens.verify(token, 'ws', { scope });
  await handleCommand(
    deps.store,
    wsTokenStreamId(claims.jti),
    wsTokenDecider,
    () => ({ type: 'ConsumeWsToken' as const, data: { jti: claims.jti, now: clock().toISOString() } }),
    { ...request, actor: claims.accountId },
    { runtime: deps.runtime },
  );
  await deps.sessions.check({ ...claims });
  return claims;
};
