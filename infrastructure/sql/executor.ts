import pg from 'pg';
import type { Knex } from 'knex';

/** One SQL session: plain parameterised queries ($1, $2, ...). */
export interface SqlSession {
  query<R = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<{ rows: R[] }>;
}

/**
 * What the event store and the projection runner need from a database: queries and transactions.
 * Two implementations: a pg Pool (PostgreSQL) and the connection of a knex-pglite instance
 * (embedded). Going through knex's single pooled connection in embedded mode serialises our
 * transactions with knex's own, which PGlite (one session) requires.
 */
export interface SqlExecutor extends SqlSession {
  readonly kind: 'postgres' | 'pglite';
  transaction<T>(fn: (session: SqlSession) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export type PgExecutorOptions = { connectionString: string; max?: number; applicationName?: string };

export const createPgExecutor = (options: PgExecutorOptions): SqlExecutor & { pool: pg.Pool } => {
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: options.max ?? 10,
    application_name: options.applicationName ?? 'chatbot',
    connectionTimeoutMillis: 5_000,
  });
  // An idle client that loses its server (Postgres restart) emits 'error' on the pool;
  // without a listener that would crash the process. The next query reconnects.
  pool.on('error', () => undefined);
  return {
    kind: 'postgres',
    pool,
    query: async <R>(sql: string, params?: readonly unknown[]) => {
      const result = await pool.query(sql, params as unknown[]);
      return { rows: result.rows as R[] };
    },
    transaction: async <T>(fn: (session: SqlSession) => Promise<T>) => {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const session: SqlSession = {
          query: async <R>(sql: string, params?: readonly unknown[]) => ({
            rows: (await client.query(sql, params as unknown[])).rows as R[],
          }),
        };
        const result = await fn(session);
        await client.query('COMMIT');
        client.release();
        return result;
      } catch (error) {
        // A broken connection must not go back to the pool.
        await client.query('ROLLBACK').then(
          () => client.release(),
          (rollbackError: Error) => client.release(rollbackError),
        );
        throw error;
      }
    },
    close: () => pool.end(),
  };
};

type PgliteLike = { query: (sql: string, params?: unknown[]) => Promise<{ rows: unknown[] }> };
type KnexClientInternals = {
  acquireConnection(): Promise<unknown>;
  releaseConnection(connection: unknown): Promise<void>;
};

/** Runs raw SQL on the single connection of a knex-pglite instance, in turn with knex's own queries. */
export const createKnexPgliteExecutor = (knex: Knex): SqlExecutor => {
  const client = knex.client as unknown as KnexClientInternals;
  const withConnection = async <T>(fn: (connection: PgliteLike) => Promise<T>): Promise<T> => {
    const connection = (await client.acquireConnection()) as PgliteLike;
    try {
      return await fn(connection);
    } finally {
      await client.releaseConnection(connection);
    }
  };
  const sessionOf = (connection: PgliteLike): SqlSession => ({
    query: async <R>(sql: string, params?: readonly unknown[]) => ({
      rows: (await connection.query(sql, params as unknown[])).rows as R[],
    }),
  });
  return {
    kind: 'pglite',
    query: (sql, params) => withConnection((connection) => sessionOf(connection).query(sql, params)),
    transaction: (fn) =>
      withConnection(async (connection) => {
        await connection.query('BEGIN');
        try {
          const result = await fn(sessionOf(connection));
          await connection.query('COMMIT');
          return result;
        } catch (error) {
          await connection.query('ROLLBACK');
          throw error;
        }
      }),
    close: () => knex.destroy(),
  };
};
