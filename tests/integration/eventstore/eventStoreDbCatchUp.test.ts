import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import type { EventStore } from '#application/shared/eventStore.js';
import { createEventStoreDbEventStore } from '#infrastructure/eventstore/eventStoreDb.js';
import { startEsdbReadFake, type FakeEvent } from '../../support/esdbReadFake.js';

/**
 * Filtered $all reads on EventStoreDB (what projections catch up with) go through a server-side
 * filtered subscription that ends at caught-up. Driven through the real client against a read-only fake
 * of Streams.Read (tests/support/esdbReadFake.ts): it shows the adapter speaks the protocol and stops
 * where it should, not that a real server behaves like the fake.
 */
describe('EventStoreDB adapter: filtered catch-up reads through a filtered subscription (real client, fake server)', function () {
  this.timeout(30_000);
  const log: FakeEvent[] = Array.from({ length: 40 }, (_, i) => ({
    streamId: i % 10 === 3 ? `rare-${i}` : `busy-${i % 4}`,
    id: randomUUID(),
    type: i % 10 === 3 ? 'Rare' : 'Busy',
    data: { i },
    position: 100 * (i + 1),
  }));
  const rare = log.filter((e) => e.type === 'Rare');
  let fake: Awaited<ReturnType<typeof startEsdbReadFake>>;
  let store: EventStore;

  beforeEach(async () => {
    fake = await startEsdbReadFake(log);
    store = createEventStoreDbEventStore({ connectionString: fake.url });
  });
  afterEach(async () => {
    await store.close();
    fake.forceClose();
  });

  it('returns only the matching events, the server sending nothing else, and ends at caught-up', async () => {
    const events = await store.readAll({ filter: { eventTypes: ['Rare'] } });
    expect(events.map((e) => [e.type, e.streamId, e.position, e.data])).to.deep.equal(
      rare.map((e) => ['Rare', e.streamId, e.position, e.data]),
    );
    expect(fake.stats.subscriptions).to.equal(1);
    expect(fake.stats.eventsSent, 'only the 4 rare events crossed the wire, plus the head read').to.be.at.most(5);
  });

  it('after is exclusive and maxCount stops the read early', async () => {
    const afterFirst = await store.readAll({ after: rare[0]!.position, filter: { eventTypes: ['Rare'] } });
    expect(afterFirst.map((e) => e.position)).to.deep.equal(rare.slice(1).map((e) => e.position));
    const one = await store.readAll({ maxCount: 1, filter: { streamPrefixes: ['rare-'] } });
    expect(one.map((e) => e.id)).to.deep.equal([rare[0]!.id]);
  });

  it('the exact filter runs again on our side: a type prefix is not a type', async () => {
    const events = await store.readAll({ filter: { eventTypes: ['Bus'] } });
    expect(events).to.deep.equal([]);
  });
});
