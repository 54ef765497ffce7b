// The EventStoreDB run of the event store contract. No EventStoreDB can run on the build machines
// (no Docker engine, no package), so it is opt-in: start a throwaway in-memory node and point
// EVENTSTORE_URL at it with `bash scripts/eventstore-contract.sh` (never at the production node: test
// streams would stay there forever). Without EVENTSTORE_URL the skip is printed, never silent.
import { EventStoreDBClient } from '@eventstore/db-client';
import { createEventStoreDbEventStore } from '#infrastructure/eventstore/eventStoreDb.js';

const url = process.env.EVENTSTORE_URL;

if (url) {
  // Loaded only here, so the skip below does not depend on the suite's imports.
  const { eventStoreContract } = await import('./eventStore.contract.js');
  eventStoreContract('EventStoreDB', async (options) => {
    // Every test of the suite uses its own stream prefix, so runs against one node do not collide.
    const store = createEventStoreDbEventStore({ connectionString: url, upcaster: options?.upcaster });
    await store.ping().catch(async (error: unknown) => {
      await store.close();
      throw error;
    });
    // Tombstone (hard delete): the stream can never be written or read again.
    const admin = EventStoreDBClient.connectionString(url);
    return {
      store,
      teardown: async () => {
        await store.close();
        await admin.dispose();
      },
      deleteStream: async (streamId: string) => {
        await admin.tombstoneStream(streamId);
      },
    };
  });
} else {
  describe('EventStoreDB contract', function () {
    it('runs against a real EventStoreDB node when EVENTSTORE_URL is set', function () {
      process.stdout.write('SKIPPED: EventStoreDB contract (EVENTSTORE_URL not set)\n');
      this.skip();
    });
  });
}
