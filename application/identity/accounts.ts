import { randomUUID } from 'node:crypto';
import { accountDecider } from '#domain/identity/account.js';
import { AccountAlreadyExists, AccountNotFound } from '#domain/identity/errors.js';
import { accountStreamId, ROLES, type Role } from '#domain/identity/events.js';
import { handleCommand, type CommandContext } from '#application/shared/commandHandler.js';
import { ConflictError, NotFoundError, ValidationError } from '#application/shared/errors.js';
import { accountIdFor, isValidUsername, normaliseUsername } from './accountIds.js';
import type { IdentityDeps } from './login.js';
import type { RevocationRegistry } from './revocations.js';

export type AccountDeps = Pick<IdentityDeps, 'store' | 'passwords' | 'log' | 'clock'> & {
  revocations?: RevocationRegistry;
};

export const MIN_PASSWORD_LENGTH = 8;

const checkPassword = (password: string) => {
  if (password.length < MIN_PASSWORD_LENGTH)
    throw new ValidationError(
      `The password must have at least ${MIN_PASSWORD_LENGTH} characters.`,
      undefined,
      'weak_password',
    );
  if (password.length > 1024)
    throw new ValidationError('The password is too long (1024 characters at most).', undefined, 'weak_password');
};

/** Creates an account; 409 when the username is taken (also when two admins race for it). */
export const createAccount = async (
  deps: AccountDeps,
  input: { username: string; password: string; role: Role },
  context: CommandContext,
): Promise<{ accountId: string; username: string; role: Role }> => {
  const username = normaliseUsername(input.username);
  if (!isValidUsername(username))
    throw new ValidationError(
      'The username must be 2-64 characters: letters, digits, dot, dash or underscore.',
      undefined,
      'invalid_username',
    );
  if (!ROLES.includes(input.role))
    throw new ValidationError(`The role must be one of ${ROLES.join(', ')}.`, undefined, 'invalid_role');
  checkPassword(input.password);
  const accountId = accountIdFor(username);
  const passwordHash = await deps.passwords.hashPassword(input.password);
  try {
    await handleCommand(
      deps.store,
      accountStreamId(accountId),
      accountDecider,
      () => ({
        type: 'CreateAccount' as const,
        data: { accountId, username, role: input.role, passwordHash, createdBy: context.actor },
      }),
      context,
      { runtime: { clock: deps.clock ?? (() => new Date()), newId: randomUUID } },
    );
  } catch (error) {
    if (error instanceof AccountAlreadyExists)
      throw new ConflictError(`The username ${username} is taken.`, 'username_taken');
    throw error;
  }
  deps.log.info('account created', {
    accountId,
    username,
    role: input.role,
    by: context.actor,
    correlationId: context.correlationId,
  });
  return { accountId, username, role: input.role };
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
    if (error instanceof ConflictError) return 'exists';
    throw error;
  }
};

type AdminAction =
  | { type: 'disable' }
  | { type: 'enable' }
  | { type: 'unlock' }
  | { type: 'reset-password'; password: string }
  | { type: 'change-role'; role: Role };

/** Admin operations on an existing account; each is an event (or nothing, when nothing changes). */
export const administerAccount = async (
  deps: AccountDeps,
  accountId: string,
  action: AdminAction,
  context: CommandContext,
): Promise<{ changed: boolean }> => {
  const by = context.actor;
  const clock = deps.clock ?? (() => new Date());
  let passwordHash = '';
  if (action.type === 'reset-password') {
    checkPassword(action.password);
    passwordHash = await deps.passwords.hashPassword(action.password);
  }
  if (action.type === 'change-role' && !ROLES.includes(action.role))
    throw new ValidationError(`The role must be one of ${ROLES.join(', ')}.`, undefined, 'invalid_role');
  try {
    const { events } = await handleCommand(
      deps.store,
      accountStreamId(accountId),
      accountDecider,
      () => {
        switch (action.type) {
          case 'disable':
            return { type: 'DisableAccount' as const, data: { accountId, by } };
          case 'enable':
            return { type: 'EnableAccount' as const, data: { accountId, by } };
          case 'unlock':
            return { type: 'UnlockAccount' as const, data: { accountId, by, now: clock().toISOString() } };
          case 'reset-password':
            return { type: 'ChangePassword' as const, data: { accountId, passwordHash, changedBy: by } };
          case 'change-role':
            return { type: 'ChangeRole' as const, data: { accountId, role: action.role, changedBy: by } };
          default: {
            const _exhaustive: never = action;
            throw new ValidationError('unknown action');
          }
        }
      },
      context,
      { runtime: { clock, newId: randomUUID } },
    );
    if (action.type === 'disable') deps.revocations?.accountDisabled(accountId);
    if (action.type === 'enable') deps.revocations?.accountEnabled(accountId);
    if ((action.type === 'reset-password' || action.type === 'change-role') && events.length > 0)
      deps.revocations?.credentialsChanged(accountId, clock());
    deps.log.info(`account ${action.type}`, {
      accountId,
      by,
      changed: events.length > 0,
      correlationId: context.correlationId,
    });
    return { changed: events.length > 0 };
  } catch (error) {
    if (error instanceof AccountNotFound) throw new NotFoundError('No such account.', 'account_not_found');
    throw error;
  }
};

export const accountIdOf = (username: string): string => accountIdFor(username);
