import { accountDecider, lockedFor, loginOutcome, type Account, type LockoutPolicy } from '#domain/identity/account.js';
import { accountStreamId, sessionStreamId, unknownLoginStreamId, type Role } from '#domain/identity/events.js';
import { lockoutRefuses } from '#domain/identity/lockout.js';
import { printable, USERNAME_MAX_LENGTH } from '#domain/identity/rules.js';
import { sessionDecider } from '#domain/identity/session.js';
import { unknownLoginDecider } from '#domain/identity/unknownLogin.js';
import { handleCommand, type CommandContext } from '#application/shared/commandHandler.js';
import type { EventStore } from '#application/shared/eventStore.js';
import { LockedError, UnauthorizedError } from '#application/shared/errors.js';
import type { Runtime } from '#application/shared/runtime.js';
import { accountIdFor, isValidUsername, normaliseUsername } from './accountIds.js';
import type { SessionAllowlist } from './allowlist.js';
import type { IssuedToken, PasswordHasher, TokenIssuer } from './ports.js';

export type Log = {
  info(message: string, fields?: Record<string, unknown>): unknown;
  warn(message: string, fields?: Record<string, unknown>): unknown;
  error(message: string, fields?: Record<string, unknown>): unknown;
};

/** What the accounts read model answers for the rules that span accounts. */
export type AccountsReadModel = {
  /** ids of the accounts that are admins and not disabled */
  activeAdminIds(): Promise<string[]>;
};

export type IdentityDeps = {
  store: EventStore;
  passwords: PasswordHasher;
  tokens: TokenIssuer;
  policy: LockoutPolicy;
  sessions: SessionAllowlist;
  accounts: AccountsReadModel;
  log: Log;
  runtime: Runtime;
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

/** The same answer for a locked account and a locked unknown name: it says nothing about existence. */
const locked = (until: string, now: Date) =>
  new LockedError(
    `Too many failed logins: try again after ${until}.`,
    Math.max(1, Math.ceil((Date.parse(until) - now.getTime()) / 1000)),
  );

/**
 * Every attempt is an event: LoginSucceeded/LoginFailed on the account stream (lockout decided
 * there, under optimistic concurrency), or LoginFailed{unknown_user} on the name's own stream,
 * where the same lockout rules decide. The account stream is read once: the password is verified
 * inside the command against the hash of the very state the decision is made on.
 */
export const login = async (
  deps: IdentityDeps,
  input: { username: string; password: string },
  request: RequestInfo,
): Promise<TokenPair> => {
  const { clock, newId } = deps.runtime;
  const username = normaliseUsername(input.username);
  const accountId = accountIdFor(username);
  // What is logged and recorded of a name nobody has: bounded and escaped.
  const shownName = printable(username.slice(0, USERNAME_MAX_LENGTH));
  const logFields = { ip: request.ip, username: shownName, correlationId: request.correlationId };
  const sessionId = newId();
  const verified = new Map<string, boolean>();

  const verify = async (state: Account): Promise<boolean> => {
    if (state.status === 'none') return false;
    // A lock refuses whatever the password: spare argon2 (the stream says so, not a cache).
    if (lockedFor(state, request.ip, clock().toISOString())) return false;
    // A retry after a concurrent append re-verifies only when the hash changed.
    const known = verified.get(state.passwordHash);
    if (known !== undefined) return known;
    const matches = await deps.passwords.verifyPassword(state.passwordHash, input.password);
    verified.set(state.passwordHash, matches);
    return matches;
  };

  const accountResult = isValidUsername(username)
    ? await handleCommand(
        deps.store,
        accountStreamId(accountId),
        accountDecider,
        async (state) => ({
          type: 'RecordLoginAttempt' as const,
          data: {
            accountId,
            passwordMatches: await verify(state),
            ip: request.ip,
            userAgent: request.userAgent,
            sessionId,
            now: clock().toISOString(),
            policy: deps.policy,
          },
        }),
        { ...request, actor: accountId },
        { runtime: deps.runtime },
      )
    : null;

  const events =
    accountResult !== null && accountResult.state.status !== 'none'
      ? accountResult.events
      : await recordUnknown(deps, { accountId, username: shownName, password: input.password }, request);
  const outcome = loginOutcome(events);
  switch (outcome?.kind) {
    case 'succeeded': {
      const state = accountResult?.state;
      if (state === undefined || state.status === 'none') throw invalidCredentials();
      deps.log.info('login succeeded', { ...logFields, accountId, sessionId });
      // The session's events are caused by LoginSucceeded: the request's chain is one tree, not three roots.
      const succeededAt = accountResult?.events.findIndex((event) => event.type === 'LoginSucceeded') ?? -1;
      const causationId = succeededAt >= 0 ? (accountResult?.eventIds[succeededAt] ?? null) : null;
      return startSession(
        deps,
        { accountId, username: state.username, role: state.role, sessionId },
        { ...request, causationId: causationId ?? request.causationId ?? null },
      );
    }
    case 'locked':
      deps.log.warn(`SECURITY_LOGIN_FAILED account locked${outcome.justLocked ? ' (lockout started)' : ''}`, {
        ...logFields,
        accountId,
        reason: 'account_locked',
        lockedUntil: outcome.until,
      });
      if (outcome.justLocked)
        deps.log.warn('lockout: login locked after repeated failures', {
          ...logFields,
          accountId,
          lockedUntil: outcome.until,
        });
      throw locked(outcome.until || clock().toISOString(), clock());
    case 'failed':
      deps.log.warn(`SECURITY_LOGIN_FAILED ${outcome.reason.replace('_', ' ')}`, {
        ...logFields,
        accountId,
        reason: outcome.reason,
        failureCount: outcome.failureCount,
      });
      throw invalidCredentials();
    case undefined:
      throw invalidCredentials();
    default: {
      const _exhaustive: never = outcome;
      throw invalidCredentials();
    }
  }
};

/** A name without an account: the same argon2 time, the same lockout, on `login-unknown-<id>`. */
const recordUnknown = async (
  deps: IdentityDeps,
  name: { accountId: string; username: string; password: string },
  request: RequestInfo,
) => {
  const { clock } = deps.runtime;
  let burned = false;
  const { events } = await handleCommand(
    deps.store,
    unknownLoginStreamId(name.accountId),
    unknownLoginDecider,
    async (state) => {
      const now = clock().toISOString();
      // Locked names skip argon2 exactly as locked accounts do, so timing tells nothing either.
      if (!burned && !lockoutRefuses(state.lockout, request.ip, now)) {
        burned = true;
        await deps.passwords.verifyAgainstDummy(name.password);
      }
      return {
        type: 'RecordUnknownLogin' as const,
        data: {
          accountId: name.accountId,
          username: name.username,
          ip: request.ip,
          userAgent: request.userAgent,
          now,
          policy: deps.policy,
        },
      };
    },
    { ...request, actor: 'anonymous' },
    { runtime: deps.runtime },
  );
  return events;
};

/** SessionStarted + AccessTokenIssued on a new session stream; returns the access and refresh tokens. */
export const startSession = async (
  deps: IdentityDeps,
  account: { accountId: string; username: string; role: Role; sessionId: string },
  request: CommandContext,
): Promise<TokenPair> => {
  const { newId } = deps.runtime;
  const refreshTokenId = newId();
  const refresh = deps.tokens.issueRefreshToken({
    accountId: account.accountId,
    sessionId: account.sessionId,
    tokenId: refreshTokenId,
  });
  const access = deps.tokens.issueAccessToken(account);
  // A reset, role change or disable that revoked this session before it started refuses it (401).
  await handleCommand(
    deps.store,
    sessionStreamId(account.sessionId),
    sessionDecider,
    () => ({
      type: 'StartSession' as const,
      data: {
        sessionId: account.sessionId,
        accountId: account.accountId,
        refreshTokenId,
        expiresAt: refresh.expiresAt,
        accessTokenId: access.jti,
        accessExpiresAt: access.expiresAt,
      },
    }),
    { ...request, actor: account.accountId },
    { runtime: deps.runtime },
  );
  return { access, refresh, ...account };
};
