import { randomUUID } from 'node:crypto';
import { accountDecider } from '#domain/identity/account.js';
import {
  SessionAlreadyRevoked,
  SessionExpired,
  SessionNotFound,
  UnknownRefreshToken,
  WsTokenAlreadyUsed,
  WsTokenExpired,
  WsTokenNotFound,
} from '#domain/identity/errors.js';
import { accountStreamId, sessionStreamId, wsTokenStreamId, type WsScope } from '#domain/identity/events.js';
import { rotationOutcome, sessionDecider } from '#domain/identity/session.js';
import { wsTokenDecider } from '#domain/identity/wsToken.js';
import {
  eventMetadata,
  handleCommand,
  loadAggregate,
  type CommandContext,
} from '#application/shared/commandHandler.js';
import { UnauthorizedError } from '#application/shared/errors.js';
import type { IdentityDeps, TokenPair } from './login.js';
import type { AccessClaims, IssuedToken, WsClaims } from './ports.js';
import type { RevocationRegistry } from './revocations.js';

export type SessionDeps = IdentityDeps & { revocations: RevocationRegistry };

/** A valid, unrevoked access token, or a 401 naming the reason class (missing, malformed, expired, ...). */
export const authenticate = (
  deps: Pick<SessionDeps, 'tokens' | 'revocations'>,
  token: string | null | undefined,
): AccessClaims => {
  const claims = deps.tokens.verify(token, 'access');
  if (deps.revocations.isRevoked(claims))
    throw new UnauthorizedError('token_revoked', 'The session of this token has been revoked.');
  return claims;
};

/** Rotates the refresh token; presenting an already-rotated one revokes the whole family. */
export const refresh = async (deps: SessionDeps, refreshToken: string, request: CommandContext): Promise<TokenPair> => {
  const claims = deps.tokens.verify(refreshToken, 'refresh');
  const clock = deps.clock ?? (() => new Date());
  const { state: account } = await loadAggregate(deps.store, accountStreamId(claims.accountId), accountDecider);
  if (account.status === 'none' || account.status === 'disabled' || deps.revocations.isRevoked(claims)) {
    throw new UnauthorizedError('token_revoked', 'The session of this token has been revoked.');
  }
  const newTokenId = randomUUID();
  const expiresAt = new Date(clock().getTime() + deps.refreshTtlSeconds * 1000).toISOString();
  let events;
  try {
    ({ events } = await handleCommand(
      deps.store,
      sessionStreamId(claims.sessionId),
      sessionDecider,
      () => ({
        type: 'RotateRefreshToken' as const,
        data: {
          sessionId: claims.sessionId,
          presentedTokenId: claims.jti,
          newTokenId,
          expiresAt,
          now: clock().toISOString(),
        },
      }),
      { ...request, actor: claims.accountId },
      { runtime: { clock, newId: randomUUID } },
    ));
  } catch (error) {
    if (
      error instanceof SessionAlreadyRevoked ||
      error instanceof SessionNotFound ||
      error instanceof UnknownRefreshToken
    ) {
      throw new UnauthorizedError('token_revoked', 'The session of this token has been revoked.');
    }
    if (error instanceof SessionExpired)
      throw new UnauthorizedError('token_expired', 'The session has expired; log in again.');
    throw error;
  }
  const outcome = rotationOutcome(events);
  if (outcome?.kind === 'reuse_detected') {
    deps.revocations.revokeSession(claims.sessionId);
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
  if (outcome?.kind !== 'rotated')
    throw new UnauthorizedError('token_revoked', 'The session of this token has been revoked.');
  const access = deps.tokens.issueAccessToken({
    accountId: claims.accountId,
    username: account.username,
    role: account.role,
    sessionId: claims.sessionId,
  });
  const next = deps.tokens.issueRefreshToken({
    accountId: claims.accountId,
    sessionId: claims.sessionId,
    tokenId: newTokenId,
  });
  await deps.store.append(sessionStreamId(claims.sessionId), [
    {
      id: randomUUID(),
      type: 'AccessTokenIssued',
      data: { accountId: claims.accountId, sessionId: claims.sessionId, jti: access.jti, expiresAt: access.expiresAt },
      metadata: eventMetadata({ ...request, actor: claims.accountId }, clock()),
    },
  ]);
  return {
    access,
    refresh: next,
    accountId: claims.accountId,
    username: account.username,
    role: account.role,
    sessionId: claims.sessionId,
  };
};

export const logout = async (deps: SessionDeps, claims: AccessClaims, request: CommandContext): Promise<void> => {
  const clock = deps.clock ?? (() => new Date());
  const { events } = await handleCommand(
    deps.store,
    sessionStreamId(claims.sessionId),
    sessionDecider,
    () => ({
      type: 'RevokeSession' as const,
      data: { sessionId: claims.sessionId, reason: 'logout' as const, by: claims.accountId },
    }),
    { ...request, actor: claims.accountId },
    { runtime: { clock, newId: randomUUID } },
  );
  if (events.length > 0) {
    await deps.store.append(sessionStreamId(claims.sessionId), [
      {
        id: randomUUID(),
        type: 'LoggedOut',
        data: { accountId: claims.accountId, sessionId: claims.sessionId },
        metadata: eventMetadata({ ...request, actor: claims.accountId }, clock()),
      },
    ]);
  }
  deps.revocations.revokeSession(claims.sessionId);
};

/** A short-lived, single-use token for the WebSocket's first message. */
export const issueWsToken = async (
  deps: SessionDeps,
  claims: AccessClaims,
  request: CommandContext,
  scope: WsScope = 'metrics:read',
): Promise<IssuedToken> => {
  const token = deps.tokens.issueWsToken({ accountId: claims.accountId, scope });
  await handleCommand(
    deps.store,
    wsTokenStreamId(token.jti),
    wsTokenDecider,
    () => ({
      type: 'IssueWsToken' as const,
      data: { jti: token.jti, accountId: claims.accountId, scope, expiresAt: token.expiresAt },
    }),
    { ...request, actor: claims.accountId },
    { runtime: { clock: deps.clock ?? (() => new Date()), newId: randomUUID } },
  );
  return token;
};

export type WsTokenRejection =
  | 'missing'
  | 'malformed'
  | 'expired'
  | 'invalid_signature'
  | 'wrong_type'
  | 'wrong_scope'
  | 'already_used'
  | 'revoked'
  | 'unknown';

export class WsTokenRejected extends Error {
  constructor(readonly reason: WsTokenRejection) {
    super(`ws token rejected: ${reason}`);
    this.name = 'WsTokenRejected';
  }
}

/** Verifies and consumes a ws token exactly once across every process (expected revision on its stream). */
export const consumeWsToken = async (
  deps: SessionDeps,
  token: string,
  scope: WsScope,
  request: CommandContext,
): Promise<WsClaims> => {
  const claims = deps.tokens.verify(token, 'ws', { scope });
  if (deps.revocations.isRevoked({ accountId: claims.accountId, sessionId: '' })) throw new WsTokenRejected('revoked');
  const clock = deps.clock ?? (() => new Date());
  try {
    await handleCommand(
      deps.store,
      wsTokenStreamId(claims.jti),
      wsTokenDecider,
      () => ({ type: 'ConsumeWsToken' as const, data: { jti: claims.jti, now: clock().toISOString() } }),
      { ...request, actor: claims.accountId },
      { runtime: { clock, newId: randomUUID } },
    );
  } catch (error) {
    if (error instanceof WsTokenAlreadyUsed) throw new WsTokenRejected('already_used');
    if (error instanceof WsTokenExpired) throw new WsTokenRejected('expired');
    if (error instanceof WsTokenNotFound) throw new WsTokenRejected('unknown');
    throw error;
  }
  return claims;
};
