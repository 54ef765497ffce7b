import { Writable } from 'node:stream';
import pg from 'pg';
import type { EventStore } from '#application/shared/eventStore.js';
import { createPostgresEventStore } from '#infrastructure/eventstore/postgres.js';
import { createLogger, type Logger } from '#infrastructure/logging/logger.js';
import { openPostgresDatabase, type Database } from '#infrastructure/sql/database.js';
import { migrateLatest } from '#infrastructure/sql/migrate.js';
import { TEST_DATABASE_URL, uniqueName } from './events.js';

const adminQuery = async (sql: string): Promise<void> => {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
};

export type SecretsTestDb = { schema: string; db: Database; store: EventStore; close(): Promise<void> };

/** A fresh, migrated schema with its own event store; `close` drops it. */
export const openSecretsTestDb = async (): Promise<SecretsTestDb> => {
  const schema = uniqueName('secrets_test');
  await adminQuery(`create schema "${schema}"`);
  const db = openPostgresDatabase(TEST_DATABASE_URL, { searchPath: schema, poolSize: 4, applicationName: schema });
  const store = await createPostgresEventStore({ executor: db.executor, schema });
  await migrateLatest(db);
  return {
    schema,
    db,
    store,
    close: async () => {
      await store.close();
      await db.close();
      await adminQuery(`drop schema if exists "${schema}" cascade`);
    },
  };
};

/** The production logger (redaction and all), writing to memory at debug level. */
export const captureLogger = (): { logger: Logger; output: () => Promise<string> } => {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk.toString('utf8'));
      callback();
    },
  });
  return {
    logger: createLogger({ level: 'debug', service: 'test-secrets', stream }),
    output: async () => {
      // Transports may deliver on a later tick.
      await new Promise((resolve) => setImmediate(resolve));
      return chunks.join('');
    },
  };
};
