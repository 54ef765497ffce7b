import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError } from 'commander';
import { ConfigError } from '#infrastructure/config/config.js';
import { auditCommand } from './commands/audit.js';
import { eventsCommand } from './commands/events.js';
import { doctorCommand } from './commands/doctor.js';
import { migrateCommand } from './commands/migrate.js';
import { projectionsCommand } from './commands/projections.js';
import { secretsCommand } from './commands/secrets.js';
import { usersCommand } from './commands/users.js';
import { contactsCommand } from './commands/contacts.js';
import { CliError, createCliContext, type CliCommand, type CliContext } from './context.js';

/** Every command module, one file each in commands/: add yours here. */
const commands: readonly CliCommand[] = [
  migrateCommand,
  projectionsCommand,
  secretsCommand,
  usersCommand,
  auditCommand,
  eventsCommand,
  doctorCommand,
  contactsCommand,
];

export const buildProgram = (context: CliContext): Command => {
  const program = new Command('chatbot')
    .description('chatbot operations: migrations, projections and more (run `chatbot <command> --help`)')
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({
      writeOut: (text) => context.io.out(text.trimEnd()),
      writeErr: (text) => context.io.err(text.trimEnd()),
    });
  for (const register of commands) register(program, context);
  // Subcommands inherit neither exitOverride nor the output settings.
  const inherit = (command: Command) => {
    for (const sub of command.commands) {
      sub.exitOverride().showHelpAfterError().configureOutput(program.configureOutput());
      inherit(sub);
    }
  };
  inherit(program);
  return program;
};

/** Runs one command line (without `node script`); returns the exit code, reporting failures in one place. */
export const runCli = async (argv: readonly string[], context: CliContext = createCliContext()): Promise<number> => {
  const program = buildProgram(context);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // help and version are "errors" with code 0; usage errors were already printed by commander.
      return error.exitCode === 0 ? 0 : 2;
    }
    if (error instanceof ConfigError) context.io.err(error.message);
    else if (error instanceof CliError) {
      context.io.err(`error: ${error.message}`);
      return error.exitCode;
    } else {
      const code =
        typeof (error as { code?: unknown }).code === 'string' ? ` [${(error as { code: string }).code}]` : '';
      context.io.err(`error${code}: ${error instanceof Error ? error.message : String(error)}`);
    }
    return 1;
  }
};

const invokedDirectly = (): boolean => {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    // eslint-disable-next-line security/detect-non-literal-fs-filename -- process.argv[1], the script node was started with
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
};

// `tsx interfaces/cli/main.ts ...` (npm run chatbot); bin/chatbot.js imports runCli instead.
if (invokedDirectly()) process.exit(await runCli(process.argv.slice(2)));
