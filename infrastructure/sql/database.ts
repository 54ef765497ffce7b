import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import v8 from 'node:v8';
import { PGlite } from '@electric-sql/pglite';
import knexFactory, { type Knex } from 'knex';
import ClientPgLite from 'knex-pglite';
import { createKnexPgliteExecutor, createPgExecutor, type SqlExecutor } from './executor.js';

/** The read-model database: knex for projections and queries, a raw executor for the event store. */
export type Database = {
  readonly kind: 'postgres' | 'pglite';
  readonly knex: Knex;
  readonly executor: SqlExecutor;
  /** PostgreSQL only: for LISTEN connections and advisory-lock sessions */
  readonly connectionString: string | null;
  close(): Promise<void>;
};

export type PostgresDatabaseOptions = {
  poolSize?: number;
  applicationName?: string;
  /** schema knex resolves unqualified read-model tables in (tests and benchmarks isolate themselves with it); default: the server's */
  searchPath?: string;
};

export const openPostgresDatabase = (connectionString: string, options: PostgresDatabaseOptions = {}): Database => {
  const executor = createPgExecutor({
    connectionString,
    max: options.poolSize ?? 10,
    applicationName: options.applicationName,
  });
  const knex = knexFactory({
    client: 'pg',
    connection: { connectionString, application_name: options.applicationName ?? 'chatbot' },
    pool: { min: 0, max: options.poolSize ?? 10 },
    ...(options.searchPath === undefined ? {} : { searchPath: [options.searchPath] }),
  });
  return {
    kind: 'postgres',
    knex,
    executor,
    connectionString,
    close: async () => {
      await Promise.all([knex.destroy(), executor.close()]);
    },
  };
};

/** Another process has the embedded database open: PGlite is single-process, a second opener would corrupt it. */
export class EmbeddedDatabaseInUseError extends Error {
  readonly code = 'embedded_database_in_use';
  constructor(
    readonly dataDir: string,
    readonly pid: number,
  ) {
    super(
      `the embedded database in ${dataDir} is in use by process ${pid}; stop it first (PGlite allows one process at a time)`,
    );
    this.name = 'EmbeddedDatabaseInUseError';
  }
}

const processAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/** A pid file next to the data: refuses a second live process, takes over from a dead one. */
const lockDataDir = (dir: string): (() => void) => {
  const file = path.join(dir, 'chatbot.pid');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      // eslint-disable-next-line security/detect-non-literal-fs-filename -- the pid file inside DATA_DIR, set by the operator
      writeFileSync(file, String(process.pid), { flag: 'wx' });
      return () => rmSync(file, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      // eslint-disable-next-line security/detect-non-literal-fs-filename -- same pid file
      const pid = Number(readFileSync(file, 'utf8').trim());
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && processAlive(pid))
        throw new EmbeddedDatabaseInUseError(dir, pid);
      rmSync(file, { force: true }); // stale: its process is gone (or it is ours)
    }
  }
  throw new Error(`could not lock ${dir}`);
};

/**
 * PostgreSQL settings for the embedded database, sized for a laptop's read models rather than a
 * server's: PGlite's defaults (shared_buffers 128MB) grow its WebAssembly memory, which never shrinks,
 * to about 200 MiB at idle; these keep it near 150 MiB (bench/startup.ts).
 */
export const PGLITE_LOW_MEMORY_SETTINGS = [
  'shared_buffers=16MB',
  'work_mem=2MB',
  'maintenance_work_mem=16MB',
  'temp_buffers=2MB',
] as const;

/**
 * V8 compiles PGlite's WebAssembly (PostgreSQL) with its baseline compiler only, without the optimizing
 * tier-up. Optimizing PostgreSQL's big hot functions (the parser, the executor) takes tens of MiB of
 * compiler memory in background threads, which the C allocator keeps after the compile (about 60 MiB
 * of an idle embedded process), and CPU that competes with the start-up itself; on the 2 shared cores
 * of bench/startup.ts the baseline code opened the database, created one (initdb) and ran the same
 * inserts and queries faster, not slower. Process-wide V8 flags, set before the first PGlite is made:
 * they apply to the WebAssembly compiled after them.
 */
export const PGLITE_V8_FLAGS = ['--no-wasm-tier-up', '--no-wasm-dynamic-tiering'] as const;

const startParams = (): string[] => [
  ...((PGlite as unknown as { defaultStartParams?: string[] }).defaultStartParams ?? []),
  ...PGLITE_LOW_MEMORY_SETTINGS.flatMap((setting) => ['-c', setting]),
];

/**
 * Creates a new embedded data directory in a short-lived child process. initdb grows PGlite's
 * WebAssembly memory to about 650 MiB, and WebAssembly memory is never given back: done in the app's
 * own process, a first start would idle at twice the memory of every later one.
 */
/** Where the child imports PGlite from: this module's resolution, or the bare name from the working
 *  directory where a loader compiled this file without `import.meta.resolve` (tsx's CommonJS path). */
const pgliteSpecifier = (): string =>
  typeof import.meta.resolve === 'function' ? import.meta.resolve('@electric-sql/pglite') : '@electric-sql/pglite';

const initDataDirInChild = (dir: string): void => {
  const script =
    `import { PGlite } from ${JSON.stringify(pgliteSpecifier())};\n` +
    `const db = new PGlite(${JSON.stringify(dir)});\nawait db.waitReady;\nawait db.close();\n`;
  const result = spawnSync(process.execPath, [...PGLITE_V8_FLAGS, '--input-type=module', '-e', script], {
    stdio: ['ignore', 'ignore', 'pipe'],
    encoding: 'utf8',
    timeout: 300_000,
  });
  if (result.status !== 0)
    throw new Error(
      `could not create the embedded database in ${dir}: ${result.error?.message ?? result.stderr.trim().split('\n').pop()}`,
    );
};

/** Embedded PostgreSQL (PGlite) under `dataDir`, or in memory when dataDir is null. */
export const openPgliteDatabase = (dataDir: string | null): Database => {
  const dir = dataDir === null ? null : ensureDir(path.resolve(dataDir, 'pgdata'));
  const unlock = dir === null ? () => undefined : lockDataDir(path.dirname(dir));
  try {
    // eslint-disable-next-line security/detect-non-literal-fs-filename -- DATA_DIR, set by the operator
    if (dir !== null && !existsSync(path.join(dir, 'PG_VERSION'))) initDataDirInChild(dir);
  } catch (error) {
    unlock();
    throw error;
  }
  v8.setFlagsFromString(PGLITE_V8_FLAGS.join(' '));
  const pglite = new PGlite(dir ?? undefined, { startParams: startParams() });
  const connection = { pglite } as unknown as Knex.StaticConnectionConfig;
  const knex = knexFactory({ client: ClientPgLite, dialect: 'postgres', connection, useNullAsDefault: false });
  const executor = createKnexPgliteExecutor(knex);
  return {
    kind: 'pglite',
    knex,
    executor,
    connectionString: null,
    close: async () => {
      try {
        await executor.close();
        // knex closes the instance with its connection; one that never served a query is closed here.
        if (!pglite.closed) await pglite.close();
      } finally {
        unlock();
      }
    },
  };
};

const ensureDir = (dir: string): string => {
  // eslint-disable-next-line security/detect-non-literal-fs-filename -- DATA_DIR, set by the operator
  mkdirSync(dir, { recursive: true });
  return dir;
};
