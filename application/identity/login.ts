import { randomUUID } from 'node:crypto';
import { accountDecider, isLocked, loginOutcome, type LockoutPolicy } from '#domain/identity/account.js';
import { sessionDecider } from '#domain/identity/session.js';
import { accountStreamId, sessionStreamId, unknownLoginStreamId, type Role } from '#domain/identity/events.js';
import {
  eventMetadata,
  handleCommand,
  loadAggregate,
  type CommandContext,
} from '#application/shared/commandHandler.js';
import type { EventStore } from '#application/shared/eventStore.js';
import { LockedError, UnauthorizedError } from '#application/shared/errors.js';
import { accountIdFor, isValidUsername, normaliseUsername } from './accountIds.js';
import type { IssuedToken, LockoutView, PasswordHasher, TokenIssuer } from './ports.js';

export type Log = {
  info(message: string, fields?: Record<string, unknown>): unknown;
  warn(message: string, fields?: Record<string, unknown>): unknown;
  error(message: string, fields?: Record<string, unknown>): unknown;
};

export type IdentityDeps = {
  store: EventStore;
  passwords: PasswordHasher;
  tokens: TokenIssuer;
  policy: LockoutPolicy;
  refreshTtlSeconds: number;
  lockouts?: LockoutView;
  log: Log;
  clock?: () => Date;
};

export type TokenPair = {
  access: IssuedToken;
  refresh: IssuedToken;
  accountId: string;
  username: string;
  role: Role;
  sessionId: string;
};

export type RequestInfo = CommandContext & { ip: string | null; userAgent: string | null };

/** The same answer for an unknown username, a wrong password and a disabled account. */
const invalidCredentials = () => new UnauthorizedError('invalid_credentials', 'Invalid username or password.');

/**
 * Every attempt is an event: LoginSucceeded/LoginFailed on the account stream (lockout decided
 * there, under optimistic concurrency), or LoginFailed{unknown_user} on a stream of its own.
 */
export const login = async (
  deps: IdentityDeps,
  input: { username: string; password: string },
  request: RequestInfo,
): Promise<TokenPair> => {
  const clock = deps.clock ?? (() => new Date());
  const username = normaliseUsername(input.username);
  const accountId = accountIdFor(username);
  const logFields = { ip: request.ip, username, correlationId: request.correlationId };

  // The edge view (Redis projection) spares argon2 for accounts known to be locked.
  const knownLockedUntil = (await deps.lockouts?.lockedUntil(accountId)) ?? null;
  const { state } = isValidUsername(username)
    ? await loadAggregate(deps.store, accountStreamId(accountId), accountDecider)
    : { state: accountDecider.initialState() };

  if (state.status === 'none') {
    await deps.passwords.verifyAgainstDummy(input.password);
    const at = clock().toISOString();
    await deps.store.append(unknownLoginStreamId(accountId), [
      {
        id: randomUUID(),
        type: 'LoginFailed',
        data: {
          accountId,
          username: username.slice(0, 64),
          reason: 'unknown_user',
          ip: request.ip,
          userAgent: request.userAgent,
          failureCount: 0,
          lockedUntil: null,
          at,
        },
        metadata: eventMetadata({ ...request, actor: 'anonymous' }, clock()),
      },
    ]);
    deps.log.warn('SECURITY_LOGIN_FAILED unknown user', { ...logFields, reason: 'unknown_user' });
    throw invalidCredentials();
  }

  const now = clock();
  const lockedNow =
    isLocked(state, now.toISOString()) || (knownLockedUntil !== null && knownLockedUntil > now.getTime());
  const passwordMatches =
    state.status === 'active' || (state.status === 'locked' && !lockedNow)
      ? await deps.passwords.verifyPassword(state.passwordHash, input.password)
      : false;

  const sessionId = randomUUID();
  const result = await handleCommand(
    deps.store,
    accountStreamId(accountId),
    accountDecider,
    () => ({
      type: 'RecordLoginAttempt' as const,
      data: {
        accountId,
        passwordMatches,
        ip: request.ip,
        userAgent: request.userAgent,
        sessionId,
        now: clock().toISOString(),
        policy: deps.policy,
      },
    }),
    { ...request, actor: accountId },
    { runtime: { clock, newId: randomUUID } },
  );
  const outcome = loginOutcome(result.events);
  switch (outcome?.kind) {
    case 'succeeded': {
      if (result.state.status === 'none') throw invalidCredentials();
      deps.log.info('login succeeded', { ...logFields, accountId, sessionId });
      return startSession(
        deps,
        { accountId, username: result.state.username, role: result.state.role, sessionId },
        request,
      );
    }
    case 'locked': {
      const retryAfter = Math.max(1, Math.ceil((Date.parse(outcome.until) - clock().getTime()) / 1000));
      deps.log.warn(`SECURITY_LOGIN_FAILED account locked${outcome.justLocked ? ' (lockout started)' : ''}`, {
        ...logFields,
        accountId,
        reason: 'account_locked',
        lockedUntil: outcome.until,
      });
      if (outcome.justLocked)
        deps.log.warn('lockout: account locked after repeated failures', {
          ...logFields,
          accountId,
          lockedUntil: outcome.until,
        });
      throw new LockedError(`The account is locked until ${outcome.until} after too many failed logins.`, retryAfter);
    }
    case 'wrong_password':
      deps.log.warn('SECURITY_LOGIN_FAILED wrong password', {
        ...logFields,
        accountId,
        reason: 'wrong_password',
        failureCount: outcome.failureCount,
      });
      throw invalidCredentials();
    case 'disabled':
      deps.log.warn('SECURITY_LOGIN_FAILED account disabled', { ...logFields, accountId, reason: 'account_disabled' });
      throw invalidCredentials();
    case undefined:
      throw invalidCredentials();
    default: {
      const _exhaustive: never = outcome;
      throw invalidCredentials();
    }
  }
};

/** SessionStarted + AccessTokenIssued on a new session stream; returns the access and refresh tokens. */
export const startSession = async (
  deps: IdentityDeps,
  account: { accountId: string; username: string; role: Role; sessionId: string },
  request: CommandContext,
): Promise<TokenPair> => {
  const clock = deps.clock ?? (() => new Date());
  const refreshTokenId = randomUUID();
  const refresh = deps.tokens.issueRefreshToken({
    accountId: account.accountId,
    sessionId: account.sessionId,
    tokenId: refreshTokenId,
  });
  const access = deps.tokens.issueAccessToken(account);
  const started = sessionDecider.decide(
    {
      type: 'StartSession',
      data: {
        sessionId: account.sessionId,
        accountId: account.accountId,
        refreshTokenId,
        expiresAt: refresh.expiresAt,
      },
    },
    sessionDecider.initialState(),
  );
  const metadata = eventMetadata({ ...request, actor: account.accountId }, clock());
  await deps.store.append(
    sessionStreamId(account.sessionId),
    [
      ...started.map((e) => ({ id: randomUUID(), type: e.type, data: { ...e.data }, metadata })),
      {
        id: randomUUID(),
        type: 'AccessTokenIssued',
        data: {
          accountId: account.accountId,
          sessionId: account.sessionId,
          jti: access.jti,
          expiresAt: access.expiresAt,
        },
        metadata,
      },
    ],
    { expectedRevision: 'no_stream' },
  );
  return { access, refresh, ...account };
};
