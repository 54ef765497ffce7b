import { accountDecider, type Account } from '#domain/identity/account.js';
import { AccountAlreadyExists, AccountNotFound, LastAdmin } from '#domain/identity/errors.js';
import {
  accountStreamId,
  unknownLoginStreamId,
  type Role,
  type SessionRevocationReason,
} from '#domain/identity/events.js';
import { checkPassword, checkRole, checkUsername } from '#domain/identity/rules.js';
import { unknownLoginDecider } from '#domain/identity/unknownLogin.js';
import { handleCommand, type CommandContext } from '#application/shared/commandHandler.js';
import { accountIdFor } from './accountIds.js';
import type { IdentityDeps } from './login.js';
import { endSessions } from './sessions.js';

/** What account administration needs (the CLI builds it without a token service). */
export type AccountDeps = Pick<IdentityDeps, 'store' | 'passwords' | 'log' | 'runtime' | 'sessions' | 'accounts'>;

/** Creates an account; 409 username_taken when the username is taken (also when two admins race for it). */
export const createAccount = async (
  deps: AccountDeps,
  input: { username: string; password: string; role: Role },
  context: CommandContext,
): Promise<{ accountId: string; username: string; role: Role }> => {
  const username = checkUsername(input.username);
  const role = checkRole(input.role);
  const accountId = accountIdFor(username);
  const passwordHash = await deps.passwords.hashPassword(checkPassword(input.password));
  await handleCommand(
    deps.store,
    accountStreamId(accountId),
    accountDecider,
    () => ({
      type: 'CreateAccount' as const,
      data: { accountId, username, role, passwordHash, createdBy: context.actor },
    }),
    context,
    { runtime: deps.runtime },
  );
  deps.log.info('account created', {
    accountId,
    username,
    role,
    by: context.actor,
    correlationId: context.correlationId,
  });
  return { accountId, username, role };
};

/**
 * The admin account from ADMIN_USERNAME/ADMIN_PASSWORD, created once: later starts (and other
 * processes starting at the same time) find it and change nothing, not even the password.
 */
export const ensureAdminAccount = async (
  deps: AccountDeps,
  admin: { username: string; password: string },
  context: CommandContext,
): Promise<'created' | 'exists'> => {
  try {
    await createAccount(deps, { ...admin, role: 'admin' }, context);
    return 'created';
  } catch (error) {
    if (error instanceof AccountAlreadyExists) return 'exists';
    throw error;
  }
};

export type AdminAction =
  | { type: 'disable' }
  | { type: 'enable' }
  | { type: 'unlock'; source?: string | null }
  | { type: 'reset-password'; password: string }
  | { type: 'change-role'; role: Role };

/** Which sessions an account change ends: every one, for these. `enable` starts nothing again. */
const ENDS_SESSIONS: Partial<
  Record<AdminAction['type'], Exclude<SessionRevocationReason, 'refresh_token_reuse' | 'logout'>>
> = {
  disable: 'account_disabled',
  'reset-password': 'password_changed',
  'change-role': 'role_changed',
};

/** The only active admin may not disable or demote itself: nobody could administer the product afterwards. */
const checkNotLastAdmin = async (deps: AccountDeps, state: Account, action: AdminAction, actor: string) => {
  // The CLI ('system') stays the way back in: it may, and can enable an admin again.
  if (actor === 'system' || state.status !== 'active' || state.role !== 'admin') return;
  if (action.type !== 'disable' && !(action.type === 'change-role' && action.role !== 'admin')) return;
  const others = (await deps.accounts.activeAdminIds()).filter((id) => id !== state.accountId);
  if (others.length === 0) throw new LastAdmin();
};

/** Admin operations on an existing account; each is an event (or nothing, when nothing changes). */
export const administerAccount = async (
  deps: AccountDeps,
  accountId: string,
  action: AdminAction,
  context: CommandContext,
): Promise<{ changed: boolean; sessionsEnded: number }> => {
  const by = context.actor;
  const { clock } = deps.runtime;
  if (action.type === 'unlock') return unlockLogin(deps, accountId, action.source ?? null, context);
  const passwordHash =
    action.type === 'reset-password' ? await deps.passwords.hashPassword(checkPassword(action.password)) : '';
  const role = action.type === 'change-role' ? checkRole(action.role) : null;
  let sessions: readonly string[] = [];
  const { events } = await handleCommand(
    deps.store,
    accountStreamId(accountId),
    accountDecider,
    async (state) => {
      if (state.status === 'none') throw new AccountNotFound(accountId);
      await checkNotLastAdmin(deps, state, action, by);
      sessions = state.sessions;
      switch (action.type) {
        case 'disable':
          return { type: 'DisableAccount' as const, data: { accountId, by } };
        case 'enable':
          return { type: 'EnableAccount' as const, data: { accountId, by } };
        case 'reset-password':
          return { type: 'ChangePassword' as const, data: { accountId, passwordHash, changedBy: by } };
        case 'change-role':
          return { type: 'ChangeRole' as const, data: { accountId, role: role!, changedBy: by } };
        default: {
          const _exhaustive: never = action;
          throw new AccountNotFound(accountId);
        }
      }
    },
    context,
    { runtime: deps.runtime },
  );
  const reason = ENDS_SESSIONS[action.type];
  const sessionsEnded =
    reason !== undefined && events.length > 0
      ? await endSessions(deps, { accountId, known: sessions, reason }, context)
      : 0;
  deps.log.info(`account ${action.type}`, {
    accountId,
    by,
    changed: events.length > 0,
    sessionsEnded,
    at: clock().toISOString(),
    correlationId: context.correlationId,
  });
  return { changed: events.length > 0, sessionsEnded };
};

/**
 * Lifts login locks: an admin's (or the CLI's) unlock, every lock of the name or only `source`'s, or
 * the expiry job's (`expiredOnly`: only locks that have run out). Names without an account have locks
 * too (`login-unknown-<id>`), so the same endpoint unlocks them.
 */
export const unlockLogin = async (
  deps: Pick<AccountDeps, 'store' | 'runtime'>,
  accountId: string,
  source: string | null,
  context: CommandContext,
  expiredOnly = false,
): Promise<{ changed: boolean; sessionsEnded: number }> => {
  const now = deps.runtime.clock().toISOString();
  const by = context.actor;
  const account = await handleCommand(
    deps.store,
    accountStreamId(accountId),
    accountDecider,
    () => ({ type: 'UnlockAccount' as const, data: { accountId, by, now, source, expiredOnly } }),
    context,
    { runtime: deps.runtime },
  ).catch((error: unknown) => {
    if (error instanceof AccountNotFound) return null;
    throw error;
  });
  if (account !== null) return { changed: account.events.length > 0, sessionsEnded: 0 };
  const unknown = await handleCommand(
    deps.store,
    unknownLoginStreamId(accountId),
    unknownLoginDecider,
    () => ({ type: 'UnlockUnknownLogin' as const, data: { accountId, by, now, source, expiredOnly } }),
    context,
    { runtime: deps.runtime },
  );
  if (unknown.nextExpectedRevision === -1) throw new AccountNotFound(accountId);
  return { changed: unknown.events.length > 0, sessionsEnded: 0 };
};
