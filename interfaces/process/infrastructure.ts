import type { EventStore, Upcaster } from '#application/shared/eventStore.js';
import { createPostgresEventStore } from '#infrastructure/eventstore/postgres.js';
import { withShredding } from '#infrastructure/eventstore/shredding.js';
import type { LegacyPersonalData } from '#application/privacy/ports.js';
import { createContactKeys, type ContactKeys } from '#infrastructure/privacy/contactKeys.js';
import { createLegacyPersonalData } from '#infrastructure/privacy/legacyEncryption.js';
import { optionalSecretCipher } from '#infrastructure/secrets/secretCipher.js';
import { openPgliteDatabase, openPostgresDatabase, type Database } from '#infrastructure/sql/database.js';

export type EventStoreSettings =
  { kind: 'pglite'; dataDir: string } | { kind: 'postgres' } | { kind: 'eventstoredb'; url: string };
export type DatabaseSettings = { kind: 'postgres'; url: string } | { kind: 'pglite'; dataDir: string };

export type Infrastructure = {
  db: Database;
  /** the configured store behind the crypto-shredding decorator: personal data encrypted per contact */
  store: EventStore;
  /** the contacts' data keys (in `db`): forgetting and retention destroy them */
  contactKeys: ContactKeys;
  /** `chatbot contacts encrypt-legacy`: the raw store's events from before crypto-shredding, encrypted in place */
  legacyPersonalData: LegacyPersonalData;
  close(): Promise<void>;
};

/**
 * Opens the read-model database and the event store the configuration names. Embedded mode runs
 * both on one PGlite instance (a single connection, shared in turn); PostgreSQL keeps the events in
 * the read-model database unless EventStoreDB is configured.
 */
export const openInfrastructure = async (
  settings: { eventStore: EventStoreSettings; database: DatabaseSettings; fernetKeys?: readonly string[] },
  options: { applicationName?: string; upcaster?: Upcaster } = {},
): Promise<Infrastructure> => {
  const db =
    settings.database.kind === 'postgres'
      ? openPostgresDatabase(settings.database.url, { applicationName: options.applicationName })
      : openPgliteDatabase(settings.database.dataDir);
  let store: EventStore;
  let contactKeys: ContactKeys;
  let legacyPersonalData: LegacyPersonalData;
  try {
    contactKeys = createContactKeys({ knex: db.knex, cipher: optionalSecretCipher(settings.fernetKeys ?? []) });
    const raw = await openEventStore(settings.eventStore, db, options.upcaster);
    legacyPersonalData = createLegacyPersonalData({ store: raw, keys: contactKeys });
    store = withShredding(raw, contactKeys);
  } catch (error) {
    await db.close();
    throw error;
  }
  return {
    db,
    store,
    contactKeys,
    legacyPersonalData,
    close: async () => {
      await store.close();
      await db.close();
    },
  };
};

const openEventStore = async (settings: EventStoreSettings, db: Database, upcaster?: Upcaster): Promise<EventStore> => {
  switch (settings.kind) {
    case 'eventstoredb': {
      const { createEventStoreDbEventStore } = await import('#infrastructure/eventstore/eventStoreDb.js');
      return createEventStoreDbEventStore({ connectionString: settings.url, upcaster });
    }
    case 'postgres':
      if (db.kind !== 'postgres') throw new Error('EVENT_STORE=postgres needs DATABASE_URL');
      return createPostgresEventStore({
        executor: db.executor,
        listenConnectionString: db.connectionString ?? undefined,
        upcaster,
      });
    case 'pglite': {
      if (db.kind === 'pglite') return createPostgresEventStore({ executor: db.executor, upcaster });
      // Events embedded, read models on PostgreSQL (EVENT_STORE=pglite with DATABASE_URL): a PGlite of its own.
      const events = openPgliteDatabase(settings.dataDir);
      const store = await createPostgresEventStore({ executor: events.executor, upcaster });
      return {
        ...store,
        close: async () => {
          await store.close();
          await events.close();
        },
      };
    }
    default: {
      const _exhaustive: never = settings;
      throw new Error('unknown event store');
    }
  }
};
