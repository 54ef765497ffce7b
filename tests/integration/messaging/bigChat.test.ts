import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { setPaused, isPaused } from '#application/messaging/conversations.js';
import { chatIdFor, inboundEventIdFor } from '#application/messaging/ids.js';
import { receiveInbound, type InboundDeps } from '#application/messaging/inbound.js';
import { addNumber } from '#application/messaging/numbers.js';
import type { EventStore, ReadStreamOptions } from '#application/shared/eventStore.js';
import { chatStreamId } from '#domain/messaging/events.js';
import { testMetadata, uniqueName } from '../../support/events.js';
import { dropSchema, openTestSchema, type TestSchema } from '../../support/projections.js';
import { manualRuntime } from '../../support/runtime.js';

/**
 * A chat of 10,000 inbound messages on the real PostgreSQL store: taking one more message reads none
 * of them, a redelivery is still recorded once, and the responder's pause check reads the history once
 * per process, then only what is new. Counted as events handed back by the store, not timed.
 */
describe('a long chat: inbound messages do not re-read the history', function () {
  this.timeout(120_000);
  const schema = uniqueName('bigchat');
  let t: TestSchema;
  /** events the store handed back per stream id */
  const read = new Map<string, number>();
  let store: EventStore;
  const runtime = manualRuntime('2026-03-01T10:00:00.000Z');
  const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };
  let deps: InboundDeps;
  const contact = '34600000001';
  const chatId = chatIdFor('sales', contact);
  const stream = chatStreamId(chatId);
  const message = (providerMessageId: string, contactName: string | null = null) => ({
    numberId: 'sales',
    providerMessageId,
    from: contact,
    contactName,
    kind: 'text' as const,
    text: 'hola',
    sentAt: '2026-03-01T09:59:00.000Z',
  });

  before(async () => {
    t = await openTestSchema(schema, { create: true });
    // The real store, counting what its reads return (every call still goes to PostgreSQL).
    const inner = t.store;
    store = Object.assign(Object.create(inner) as EventStore, {
      readStream: async (streamId: string, options?: ReadStreamOptions) => {
        const events = await inner.readStream(streamId, options);
        read.set(streamId, (read.get(streamId) ?? 0) + events.length);
        return events;
      },
    });
    deps = {
      store,
      runtime,
      log: silent,
      queries: { messageIdForProviderId: () => Promise.resolve(null) },
      newCorrelationId: randomUUID,
    };
    await addNumber(
      { store, runtime, log: silent },
      { numberId: 'sales', name: 'Sales', kind: 'simulator' },
      {
        correlationId: randomUUID(),
        actor: 'admin',
      },
    );
    // 10,000 earlier messages, as receiveInbound records them (same ids, same data shape).
    for (let batch = 0; batch < 10; batch++) {
      const events = Array.from({ length: 1_000 }, (_, j) => {
        const providerMessageId = `wamid.old.${batch * 1_000 + j}`;
        return {
          id: inboundEventIdFor('sales', providerMessageId),
          type: 'MessageReceived',
          data: {
            messageId: randomUUID(),
            numberId: 'sales',
            chatId,
            contact,
            contactName: null,
            providerMessageId,
            kind: 'text',
            text: 'hola',
            sentAt: '2026-03-01T09:00:00.000Z',
          },
          metadata: testMetadata(),
        };
      });
      await inner.append(stream, events);
    }
  });
  after(async () => {
    await t.close();
    await dropSchema(schema);
  });

  it('takes the 10,001st message without reading the chat, and a redelivery appends nothing', async () => {
    read.clear();
    const first = await receiveInbound(deps, message('wamid.new'));
    expect(first.duplicate).to.equal(false);
    expect(first.eventId).to.equal(inboundEventIdFor('sales', 'wamid.new'));
    expect(read.get(stream) ?? 0, 'chat events read to take a message').to.equal(0);

    // Meta retries the webhook; later the same delivery comes again with a changed profile name.
    const again = await receiveInbound(deps, message('wamid.new'));
    const renamed = await receiveInbound(deps, message('wamid.new', 'Ana'));
    expect([again.duplicate, renamed.duplicate]).to.deep.equal([true, true]);
    // an old delivery, thousands of events back, is recognised too (the SQL stores index every id)
    expect((await receiveInbound(deps, message('wamid.old.7'))).duplicate).to.equal(true);
    expect(read.get(stream) ?? 0).to.equal(0);
    const all = await t.store.readStream(stream);
    expect(all).to.have.length(10_001);
    expect(
      all.filter((e) => (e.data as { providerMessageId: string }).providerMessageId === 'wamid.new'),
    ).to.have.length(1);
  });

  it("the responder's pause check folds the history once per process, then reads only new events", async () => {
    read.clear();
    expect(await isPaused(store, chatId)).to.equal(false);
    expect(read.get(stream)).to.equal(10_001);
    read.clear();
    await receiveInbound(deps, message('wamid.newer'));
    expect(await isPaused(store, chatId)).to.equal(false);
    expect(read.get(stream)).to.equal(1);
    // a pause appended meanwhile (by any process) is seen at once
    await setPaused({ store, runtime, log: silent }, { chatId, numberId: 'sales', contact }, true, {
      correlationId: randomUUID(),
      actor: 'op-1',
    });
    read.clear();
    expect(await isPaused(store, chatId)).to.equal(true);
    expect(read.get(stream)).to.equal(1);
  });
});
