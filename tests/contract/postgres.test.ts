import pg from 'pg';
import { createPostgresEventStore } from '#infrastructure/eventstore/postgres.js';
import { createPgExecutor } from '#infrastructure/sql/executor.js';
import { openPgliteDatabase } from '#infrastructure/sql/database.js';
import { TEST_DATABASE_URL, uniqueName } from '../support/events.js';
import { eventStoreContract } from './eventStore.contract.js';

eventStoreContract('PostgreSQL', async (options) => {
  const schema = uniqueName('es_contract');
  const executor = createPgExecutor({ connectionString: TEST_DATABASE_URL, max: 12 });
  const store = await createPostgresEventStore({
    executor,
    schema,
    listenConnectionString: TEST_DATABASE_URL,
    upcaster: options?.upcaster,
  });
  return {
    store,
    teardown: async () => {
      await store.close();
      await executor.close();
      const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
      await client.connect();
      await client.query(`drop schema if exists "${schema}" cascade`);
      await client.end();
    },
  };
});

// One PGlite for the whole run (opening one takes seconds, up to 20 s on a loaded machine), one schema
// per test as on PostgreSQL. The embedded product's unqualified tables are exercised by the app's tests.
let pglite: ReturnType<typeof openPgliteDatabase> | null = null;
after(async () => {
  await pglite?.close();
});

eventStoreContract('embedded PGlite', async (options) => {
  pglite ??= openPgliteDatabase(null);
  const database = pglite;
  const schema = uniqueName('es_contract');
  const store = await createPostgresEventStore({ executor: database.executor, schema, upcaster: options?.upcaster });
  return {
    store,
    teardown: async () => {
      await store.close();
      await database.executor.query(`drop schema if exists "${schema}" cascade`);
    },
  };
});
