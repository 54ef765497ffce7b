import type { Command } from 'commander';
import { loadConfig, type Config } from '#infrastructure/config/config.js';
import { prepareEnvironment } from '#infrastructure/config/dotenv.js';
import { openPgliteDatabase, openPostgresDatabase, type Database } from '#infrastructure/sql/database.js';
import { migrateLatest, migrationStatus } from '#infrastructure/sql/migrate.js';
import { openInfrastructure, type Infrastructure } from '#interfaces/process/infrastructure.js';
import { allProjections } from '#projections/registry.js';
import { projectionStatus, startProjections, type Projection } from '#projections/runner.js';

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
  /** database + event store with the migrations applied first (as the app does), closed when `fn` settles */
  withInfrastructure<T>(fn: (infra: Infrastructure) => Promise<T>): Promise<T>;
  /**
   * withInfrastructure, and the named read models brought up to date first, so a read shows every
   * write before it (the CLI's own writes included, with no app running to project them).
   */
  withReadModels<T>(projections: readonly string[], fn: (infra: Infrastructure) => Promise<T>): Promise<T>;
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

/** How long a read waits for its read models to catch up before it shows them as they are, with a warning. */
const CATCH_UP_TIMEOUT_MS = 30_000;
const quietProjectionLog = { info: () => undefined, warn: () => undefined, error: () => undefined };
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Applies the events the projections have not applied yet, then stops. When another process runs a
 * projection (PostgreSQL with the app up), waits for that process to catch up instead.
 */
const catchUp = async (
  infra: Infrastructure,
  projections: readonly Projection[],
  io: CliIo,
  timeoutMs = CATCH_UP_TIMEOUT_MS,
): Promise<void> => {
  if (projections.length === 0) return;
  const runner = startProjections({
    db: infra.db,
    store: infra.store,
    projections,
    logger: quietProjectionLog,
    lockRetryMs: 200,
    pollIntervalMs: 50,
    maxBackoffMs: 1_000,
  });
  const deadline = Date.now() + timeoutMs;
  const pending = new Set(projections.map((p) => p.name));
  const failed = new Set<string>();
  try {
    while (pending.size > 0 && Date.now() < deadline) {
      for (const status of runner.status()) {
        if (!pending.has(status.name)) continue;
        if (status.state === 'live') pending.delete(status.name);
        else if (status.state === 'failing' && status.failures >= 3) {
          // A batch that keeps failing will not pass by waiting: show the read model as it is, say why.
          pending.delete(status.name);
          failed.add(status.name);
        } else if (status.state === 'waiting_for_lock') {
          const projection = projections.find((p) => p.name === status.name)!;
          const [cluster] = await projectionStatus(infra.db, infra.store, [projection]);
          if (cluster !== undefined && cluster.lagEvents === 0) pending.delete(status.name);
        }
      }
      if (pending.size > 0) await pause(20);
    }
    for (const status of runner.status().filter((s) => pending.has(s.name) || failed.has(s.name)))
      io.err(
        `warning: read model ${status.name} is not up to date (${status.state}${status.lastError === null ? '' : `: ${status.lastError}`}); showing it as it is`,
      );
  } finally {
    await runner.stop();
  }
};

/**
 * A fresh installation, or a CLI newer than the last start: the tables it reads and writes must exist, so
 * pending migrations are applied as the app does at start. A database migrated by a newer version is left
 * alone (the migrate commands say what to do about it).
 */
const migratePending = async (db: Database, io: CliIo): Promise<void> => {
  const status = await migrationStatus(db);
  if (status.unknown.length > 0) {
    io.err(
      `note: the database was migrated by a newer version (${status.unknown.join(', ')}); not migrating (see \`chatbot migrate status\`)`,
    );
    return;
  }
  if (status.pending.length === 0) return;
  const { applied } = await migrateLatest(db);
  if (applied.length > 0) io.err(`applied ${applied.length} pending migration(s) first, as the app does at start`);
};

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
  const projections = options.projections ?? (() => allProjections());
  const withInfrastructure = async <T>(fn: (infra: Infrastructure) => Promise<T>): Promise<T> => {
    const c = getConfig();
    embeddedNotice(c);
    const infra = await openInfrastructure(c, { applicationName: 'chatbot-cli' });
    try {
      await migratePending(infra.db, io);
      return await fn(infra);
    } finally {
      await infra.close();
    }
  };
  return {
    io,
    config: getConfig,
    projections,
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
    withInfrastructure,
    withReadModels: (names, fn) =>
      withInfrastructure(async (infra) => {
        const registered = projections();
        const wanted = names.map((name) => {
          const projection = registered.find((p) => p.name === name);
          if (projection === undefined) throw new Error(`read model ${name} is not a registered projection`);
          return projection;
        });
        await catchUp(infra, wanted, io);
        return fn(infra);
      }),
  };
};
