import { randomBytes } from 'node:crypto';
import type { Command } from 'commander';
import { accountIdFor } from '#application/identity/accountIds.js';
import { administerAccount, createAccount, type AccountDeps } from '#application/identity/accounts.js';
import { ROLES, type Role } from '#domain/identity/events.js';
import { hashPassword, verifyAgainstDummy, verifyPassword } from '#infrastructure/identity/passwords.js';
import { newCorrelationId } from '#infrastructure/logging/context.js';
import type { Infrastructure } from '#interfaces/process/infrastructure.js';
import { accountsProjection, accountsReader, listAccounts } from '#projections/identity/accounts.js';
import { sessionsReader } from '#projections/identity/sessions.js';
import { createSessionAllowlist } from '#application/identity/allowlist.js';
import { systemRuntime } from '#infrastructure/shared/runtime.js';
import { CliError, type CliCommand, type CliContext } from '../context.js';
import { table } from '../table.js';

const quietLog = { info: () => undefined, warn: () => undefined, error: () => undefined };

const readStdin = async (): Promise<string> => {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
};

/** From stdin with --password-stdin (never from argv: it would land in shell history), else generated and shown once. */
const passwordFrom = async (options: {
  passwordStdin?: boolean;
}): Promise<{ password: string; generated: boolean }> => {
  if (options.passwordStdin) {
    const password = await readStdin();
    if (!password) throw new CliError('--password-stdin: nothing was read from standard input');
    return { password, generated: false };
  }
  return { password: randomBytes(15).toString('base64url'), generated: true };
};

const role = (value: string): Role => {
  if (!ROLES.includes(value as Role)) throw new CliError(`role must be one of ${ROLES.join(', ')}`);
  return value as Role;
};

const deps = (infra: Infrastructure): AccountDeps => ({
  store: infra.store,
  passwords: { hashPassword, verifyPassword, verifyAgainstDummy },
  log: quietLog,
  runtime: systemRuntime,
  sessions: createSessionAllowlist({
    readModel: sessionsReader(infra.db.knex),
    store: infra.store,
    clock: systemRuntime.clock,
  }),
  accounts: accountsReader(infra.db.knex),
});
const cliContext = () => ({ correlationId: newCorrelationId(), actor: 'system', userAgent: 'chatbot-cli', ip: null });

const administer = (
  context: CliContext,
  username: string,
  action: Parameters<typeof administerAccount>[2],
  verb: string,
) =>
  context.withInfrastructure(async (infra) => {
    const { changed } = await administerAccount(deps(infra), accountIdFor(username), action, cliContext());
    context.io.out(changed ? `${username}: ${verb}` : `${username}: nothing to change`);
  });

/** `chatbot users create|list|disable|enable|unlock|reset-password|role`: every change is an event, actor 'system'. */
export const usersCommand: CliCommand = (program: Command, context) => {
  const users = program.command('users').description('user accounts (admins, operators, viewers)');

  users
    .command('create <username>')
    .description(
      'create an account; the password is read from stdin with --password-stdin, else generated and printed once',
    )
    .option('--role <role>', `one of ${ROLES.join(', ')}`, 'operator')
    .option('--password-stdin', 'read the password from standard input')
    .action(async (username: string, options: { role: string; passwordStdin?: boolean }) => {
      const { password, generated } = await passwordFrom(options);
      await context.withInfrastructure(async (infra) => {
        const created = await createAccount(
          deps(infra),
          { username, password, role: role(options.role) },
          cliContext(),
        );
        context.io.out(`created ${created.username} (${created.role}) id ${created.accountId}`);
        if (generated) context.io.out(`password: ${password}   (shown only now)`);
      });
    });

  users
    .command('list')
    .description('accounts from the accounts read model (brought up to date first)')
    .action(async () => {
      const rows = await context.withReadModels([accountsProjection.name], ({ db }) => listAccounts(db.knex));
      context.io.out(
        table(
          ['USERNAME', 'ROLE', 'STATUS', 'LOCKED UNTIL', 'LAST LOGIN', 'ID'],
          rows.map((r) => [r.username, r.role, r.status, r.locked_until ?? '-', r.last_login_at ?? '-', r.id]),
        ),
      );
    });

  users
    .command('disable <username>')
    .description('refuse logins and revoke its tokens')
    .action((username: string) => administer(context, username, { type: 'disable' }, 'disabled'));
  users
    .command('enable <username>')
    .description('allow logins again')
    .action((username: string) => administer(context, username, { type: 'enable' }, 'enabled'));
  users
    .command('unlock <username>')
    .description('lift a login lockout')
    .action((username: string) => administer(context, username, { type: 'unlock' }, 'unlocked'));
  users
    .command('role <username> <role>')
    .description('change the role')
    .action((username: string, newRole: string) =>
      administer(context, username, { type: 'change-role', role: role(newRole) }, `role is now ${newRole}`),
    );
  users
    .command('reset-password <username>')
    .description('set a new password (stdin with --password-stdin, else generated and printed once)')
    .option('--password-stdin', 'read the password from standard input')
    .action(async (username: string, options: { passwordStdin?: boolean }) => {
      const { password, generated } = await passwordFrom(options);
      await administer(context, username, { type: 'reset-password', password }, 'password changed');
      if (generated) context.io.out(`password: ${password}   (shown only now)`);
    });
};
