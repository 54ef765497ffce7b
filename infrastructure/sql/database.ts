import { mkdirSync } from 'node:fs';
import path from 'node:path';
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
  const executor = createPgExecutor({ connectionString, max: options.poolSize ?? 10, applicationName: options.applicationName });
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

/** Embedded PostgreSQL (PGlite) under `dataDir`, or in memory when dataDir is null. */
export const openPgliteDatabase = (dataDir: string | null): Database => {
  const connection = (dataDir === null ? {} : { filename: ensureDir(path.resolve(dataDir, 'pgdata')) }) as Knex.StaticConnectionConfig;
  const knex = knexFactory({ client: ClientPgLite, dialect: 'postgres', connection, useNullAsDefault: false });
  const executor = createKnexPgliteExecutor(knex);
  return { kind: 'pglite', knex, executor, connectionString: null, close: () => executor.close() };
};

const ensureDir = (dir: string): string => {
  mkdirSync(dir, { recursive: true });
  return dir;
};
