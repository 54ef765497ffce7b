import { expect } from 'chai';
import {
  DuplicateEventIdError,
  EventStoreUnavailableError,
  StreamDeletedError,
  WrongExpectedRevisionError,
  type EventStore,
} from '#application/shared/eventStore.js';
import { createEventStoreDbEventStore } from '#infrastructure/eventstore/eventStoreDb.js';
import { newEvent, waitFor } from '../../support/events.js';
import { APPEND, GRPC, READ, startEsdbStandIn, type EsdbStandIn } from '../../support/esdbStandIn.js';

const caught = async (promise: Promise<unknown>): Promise<Error> => {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
};

/** How the server reports errors: gRPC status plus an `exception` trailer the client converts. */
const streamNotFound = (stream: string) => ({
  kind: 'error' as const,
  status: GRPC.NOT_FOUND,
  trailers: { exception: 'stream-not-found', 'stream-name': stream },
});
const streamDeleted = (stream: string) => ({
  kind: 'error' as const,
  status: GRPC.FAILED_PRECONDITION,
  trailers: { exception: 'stream-deleted', 'stream-name': stream },
});
const wrongExpectedVersion = (stream: string, expected: string, actual: string) => ({
  kind: 'error' as const,
  status: GRPC.FAILED_PRECONDITION,
  trailers: {
    exception: 'wrong-expected-version',
    'stream-name': stream,
    'expected-version': expected,
    'actual-version': actual,
  },
});

/**
 * The EventStoreDB adapter through the real client (@eventstore/db-client 6.2.1) against a local gRPC
 * stand-in that answers with scripted errors or hangs (tests/support/esdbStandIn.ts). What this shows:
 * the client's own error conversion lands on the port's errors, and the health probe never piles up.
 * What it cannot show: anything about a real server's behaviour (that is the opt-in contract run).
 */
describe('EventStoreDB adapter through the real client, against a gRPC stand-in', function () {
  this.timeout(30_000);
  let standIn: EsdbStandIn;
  let store: EventStore;

  beforeEach(async () => {
    standIn = await startEsdbStandIn();
    store = createEventStoreDbEventStore({ connectionString: standIn.url, pingDeadlineMs: 1_500 });
  });
  afterEach(async () => {
    await store.close();
    await standIn.close();
  });

  it('/healthz probe: while the server hangs, at most one read is in flight, and its deadline ends it', async () => {
    const timeout = (ms: number) => new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), ms));
    // Like /healthz: each check gives up after its own timeout, five times in a row.
    for (let i = 0; i < 5; i++) {
      const outcome = await caught(Promise.race([store.ping(), timeout(100)]));
      expect(outcome.message).to.equal('timeout');
    }
    await waitFor(() => standIn.calls(READ) >= 1, 5_000, 'the probe reaching the stand-in');
    expect(store.ping()).to.equal(store.ping());
    expect(standIn.calls(READ)).to.equal(1);
    // The deadline ends the hanging read with a retryable error; the next probe is a new read.
    const ended = await caught(store.ping());
    expect(ended).to.be.instanceOf(EventStoreUnavailableError);
    expect((ended as EventStoreUnavailableError).kind).to.equal('unavailable');
    void store.ping().catch(() => undefined);
    await waitFor(() => standIn.calls(READ) === 2, 5_000, 'a fresh probe');
  });

  it('a deleted stream answers StreamDeletedError on read and on append', async () => {
    standIn.script(READ, streamDeleted('gone-1'));
    const onRead = await caught(store.readStream('gone-1'));
    expect(onRead).to.be.instanceOf(StreamDeletedError);
    expect(onRead).to.include({ code: 'stream_deleted', kind: 'conflict', streamId: 'gone-1' });

    // The append's retry check reads first: a deleted stream is refused there.
    standIn.script(READ, streamDeleted('gone-2'));
    expect(await caught(store.append('gone-2', [newEvent('A')]))).to.be.instanceOf(StreamDeletedError);
    // And if the server refuses the write itself.
    standIn.script(READ, streamNotFound('gone-3'));
    standIn.script(APPEND, streamDeleted('gone-3'));
    const onAppend = await caught(store.append('gone-3', [newEvent('A')]));
    expect(onAppend).to.be.instanceOf(StreamDeletedError);
    expect(standIn.calls(APPEND)).to.equal(1);
  });

  it('a wrong expected version on stream_exists (the server rejecting a partial retry) is a duplicate id', async () => {
    standIn.script(READ, streamNotFound('s'));
    standIn.script(APPEND, wrongExpectedVersion('s', '0', '3'));
    const partial = await caught(
      store.append('s', [newEvent('A'), newEvent('B')], { expectedRevision: 'stream_exists' }),
    );
    expect(partial).to.be.instanceOf(DuplicateEventIdError);

    // On an exact revision it stays a conflict, naming the actual revision, when none of our ids is there.
    standIn.script(READ, streamNotFound('s'), streamNotFound('s'));
    standIn.script(APPEND, wrongExpectedVersion('s', '0', '3'));
    const conflict = await caught(store.append('s', [newEvent('A')], { expectedRevision: 0 }));
    expect(conflict).to.be.instanceOf(WrongExpectedRevisionError);
    expect((conflict as WrongExpectedRevisionError).actual).to.equal(3);
  });

  it('an unavailable node answers a retryable EventStoreUnavailableError', async () => {
    standIn.script(READ, { kind: 'error', status: GRPC.UNAVAILABLE, message: 'node is shutting down' });
    const error = await caught(store.readStream('any'));
    expect(error).to.be.instanceOf(EventStoreUnavailableError);
    expect((error as EventStoreUnavailableError).retryable).to.equal(true);
  });
});
