import type { Command } from 'commander';
import { loadConfig, type Config } from '#infrastructure/config/config.js';
import { prepareEnvironment } from '#infrastructure/config/dotenv.js';
import { openPgliteDatabase, openPostgresDatabase, type Database } from '#infrastructure/sql/database.js';
import { openInfrastructure, type Infrastructure } from '#interfaces/process/infrastructure.js';
import { allProjections } from '#projections/registry.js';
import type { Projection } from '#projections/runner.js';

/** Where command output goes; tests pass their own. */
export type CliIo = {
  /** results (stdout) */
  out(line: string): void;
  /** progress, notices and errors (stderr) */
  err(line: string): void;
  /** stderr is a terminal: progress bars instead of progress lines */
  readonly interactive: boolean;
  readonly errStream: NodeJS.WritableStream;
};

export type CliContext = {
  readonly io: CliIo;
  /** validated configuration (process.env + .env), loaded on first use */
  config(): Config;
  /** the registered projections (projections/registry.ts) */
  projections(): Projection[];
  /** the read-model database only: enough for migrations, and works while the event store is down */
  withDatabase<T>(fn: (db: Database) => Promise<T>): Promise<T>;
  /** database + event store, closed when `fn` settles */
  withInfrastructure<T>(fn: (infra: Infrastructure) => Promise<T>): Promise<T>;
};

/** One command module: registers its (sub)commands on the program. */
export type CliCommand = (program: Command, context: CliContext) => void;

/** A usage or operation error the CLI reports as one line and exit code 1 (or `exitCode`). */
export class CliError extends Error {
  readonly code = 'cli_error';
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export const processIo = (): CliIo => ({
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  interactive: process.stderr.isTTY === true,
  errStream: process.stderr,
});

/** The CLI is an entry point: it alone reads the environment, like interfaces/process/main.ts. */
export const createCliContext = (
  options: { io?: CliIo; env?: NodeJS.ProcessEnv; cwd?: string; projections?: () => Projection[] } = {},
): CliContext => {
  const io = options.io ?? processIo();
  let config: Config | null = null;
  const getConfig = (): Config => {
    if (config) return config;
    const env = prepareEnvironment({
      cwd: options.cwd ?? process.cwd(),
      env: options.env ?? process.env,
      print: (line) => io.err(line),
    });
    config = loadConfig(env);
    return config;
  };
  const embeddedNotice = (c: Config) => {
    if (c.database.kind === 'pglite')
      io.err(
        `embedded database in ${c.database.dataDir}: stop the embedded app first (PGlite allows one process at a time)`,
      );
  };
  return {
    io,
    config: getConfig,
    projections: options.projections ?? (() => allProjections()),
    async withDatabase(fn) {
      const c = getConfig();
      embeddedNotice(c);
      const db =
        c.database.kind === 'postgres'
          ? openPostgresDatabase(c.database.url, { applicationName: 'chatbot-cli', poolSize: 2 })
          : openPgliteDatabase(c.database.dataDir);
      try {
        return await fn(db);
      } finally {
        await db.close();
      }
    },
    async withInfrastructure(fn) {
      const c = getConfig();
      embeddedNotice(c);
      const infra = await openInfrastructure(c, { applicationName: 'chatbot-cli' });
      try {
        return await fn(infra);
      } finally {
        await infra.close();
      }
    },
  };
};
