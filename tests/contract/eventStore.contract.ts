import { expect } from 'chai';
import {
  DuplicateEventIdError,
  StreamDeletedError,
  WrongExpectedRevisionError,
  type EventStore,
  type RecordedEvent,
  type Upcaster,
} from '#application/shared/eventStore.js';
import { newEvent, uniqueName, waitFor } from '../support/events.js';
import { appendValidationContract } from './appendValidation.contract.js';

export type EventStoreFactory = (options?: { upcaster?: Upcaster }) => Promise<{
  store: EventStore;
  teardown: () => Promise<void>;
  /** stores that can delete a stream (EventStoreDB); the SQL stores never delete one */
  deleteStream?: (streamId: string) => Promise<void>;
}>;

export const rejectsWith = async (
  promise: Promise<unknown>,
  errorClass: new (...args: never[]) => Error,
): Promise<Error> => {
  try {
    await promise;
  } catch (error) {
    expect(error).to.be.instanceOf(errorClass);
    return error as Error;
  }
  throw new Error(`expected a ${errorClass.name}`);
};

/** The behaviour every event store adapter must have; run once per adapter. */
export const eventStoreContract = (name: string, factory: EventStoreFactory): void => {
  describe(`event store contract: ${name}`, function () {
    this.timeout(30_000);
    let store: EventStore;
    let teardown: () => Promise<void>;
    let deleteStream: ((streamId: string) => Promise<void>) | undefined;
    let prefix: string;
    const stream = (suffix: string) => `${prefix}-${suffix}`;

    // $all scans start from the suite's own first position, not from 0: against a shared node (EventStoreDB)
    // a scan from 0 reads its whole history. The SQL stores start each test on empty tables (0).
    let suiteStart = 0;
    before(async () => {
      const opened = await factory();
      suiteStart = await opened.store.headPosition();
      await opened.teardown();
    });
    beforeEach(async () => {
      ({ store, teardown, deleteStream } = await factory());
      prefix = uniqueName('c');
    });
    afterEach(async () => {
      await teardown();
    });

    describe('append with expected revision', () => {
      it('creates a stream with no_stream and numbers its events from 0', async () => {
        const result = await store.append(stream('a'), [newEvent('A'), newEvent('B')], {
          expectedRevision: 'no_stream',
        });
        expect(result.nextExpectedRevision).to.equal(1);
        expect(result.idempotent).to.equal(false);
        const events = await store.readStream(stream('a'));
        expect(events.map((e) => [e.type, e.revision])).to.deep.equal([
          ['A', 0],
          ['B', 1],
        ]);
        expect(events[1]!.position).to.equal(result.position);
        expect(events[0]!.position).to.be.lessThan(events[1]!.position);
      });

      it('refuses no_stream when the stream exists, naming the actual revision', async () => {
        await store.append(stream('a'), [newEvent('A')], { expectedRevision: 'no_stream' });
        const error = await rejectsWith(
          store.append(stream('a'), [newEvent('B')], { expectedRevision: 'no_stream' }),
          WrongExpectedRevisionError,
        );
        expect((error as WrongExpectedRevisionError).actual).to.equal(0);
        expect(await store.readStream(stream('a'))).to.have.length(1);
      });

      it('accepts the exact current revision and refuses a stale one', async () => {
        const first = await store.append(stream('a'), [newEvent('A')]);
        await store.append(stream('a'), [newEvent('B')], { expectedRevision: first.nextExpectedRevision });
        const error = await rejectsWith(
          store.append(stream('a'), [newEvent('C')], { expectedRevision: first.nextExpectedRevision }),
          WrongExpectedRevisionError,
        );
        expect((error as WrongExpectedRevisionError).actual).to.equal(1);
        expect((await store.readStream(stream('a'))).map((e) => e.type)).to.deep.equal(['A', 'B']);
      });

      it('refuses an exact revision on a missing stream with actual -1', async () => {
        const error = await rejectsWith(
          store.append(stream('missing'), [newEvent('A')], { expectedRevision: 0 }),
          WrongExpectedRevisionError,
        );
        expect((error as WrongExpectedRevisionError).actual).to.equal(-1);
      });

      it('stream_exists fails on a missing stream and passes on an existing one', async () => {
        await rejectsWith(
          store.append(stream('a'), [newEvent('A')], { expectedRevision: 'stream_exists' }),
          WrongExpectedRevisionError,
        );
        await store.append(stream('a'), [newEvent('A')], { expectedRevision: 'no_stream' });
        const result = await store.append(stream('a'), [newEvent('B')], { expectedRevision: 'stream_exists' });
        expect(result.nextExpectedRevision).to.equal(1);
      });

      it('any appends whatever the stream state', async () => {
        await store.append(stream('a'), [newEvent('A')], { expectedRevision: 'any' });
        const result = await store.append(stream('a'), [newEvent('B')], { expectedRevision: 'any' });
        expect(result.nextExpectedRevision).to.equal(1);
      });

      it('lets exactly one of many concurrent writers with the same expected revision win', async () => {
        await store.append(stream('race'), [newEvent('Created')]);
        const attempts = await Promise.allSettled(
          Array.from({ length: 10 }, (_, i) =>
            store.append(stream('race'), [newEvent('Raced', { i })], { expectedRevision: 0 }),
          ),
        );
        expect(attempts.filter((a) => a.status === 'fulfilled')).to.have.length(1);
        for (const failed of attempts.filter((a) => a.status === 'rejected')) {
          expect(failed.reason).to.be.instanceOf(WrongExpectedRevisionError);
        }
        expect(await store.readStream(stream('race'))).to.have.length(2);
      });
    });

    describe('idempotent append by event id', () => {
      it('a retried append with the same ids writes nothing and returns the original result', async () => {
        const events = [newEvent('A'), newEvent('B')];
        const first = await store.append(stream('a'), events, { expectedRevision: 'no_stream' });
        const retry = await store.append(stream('a'), events, { expectedRevision: 'no_stream' });
        expect(retry.idempotent).to.equal(true);
        expect(retry.nextExpectedRevision).to.equal(first.nextExpectedRevision);
        expect(retry.position).to.equal(first.position);
        expect(await store.readStream(stream('a'))).to.have.length(2);
      });

      it('refuses an append that reuses some ids of another append', async () => {
        const [a, b] = [newEvent('A'), newEvent('B')];
        await store.append(stream('a'), [a]);
        await rejectsWith(store.append(stream('a'), [a, b]), DuplicateEventIdError);
        expect(await store.readStream(stream('a'))).to.have.length(1);
        // EventStoreDB keeps no index of event ids across streams, so only the SQL stores can refuse this.
        if (store.kind !== 'eventstoredb') {
          await rejectsWith(store.append(stream('other'), [a]), DuplicateEventIdError);
          expect(await store.readStream(stream('other'))).to.have.length(0);
        }
      });
      // What every store keeps (issue 14.1): a retry is recognised by its ids however the stream moved
      // since, and whatever expected revision the retry carries. The SQL stores index every id forever;
      // EventStoreDB looks for the ids among the stream's last events (a window of 32 by default)
      // before appending, because the server only dedupes a retry whose expected revision is the one
      // before the first write.
      it('a retry after the stream moved on writes nothing, whatever its expected revision', async () => {
        const events = [newEvent('A'), newEvent('B')];
        const first = await store.append(stream('a'), events, { expectedRevision: 'no_stream' });
        const later = await store.append(stream('a'), [newEvent('C')]);
        for (const expectedRevision of [later.nextExpectedRevision, 'any', 'stream_exists'] as const) {
          const retry = await store.append(stream('a'), events, { expectedRevision });
          expect(retry, String(expectedRevision)).to.deep.equal({
            nextExpectedRevision: first.nextExpectedRevision,
            position: first.position,
            idempotent: true,
          });
        }
        expect((await store.readStream(stream('a'))).map((e) => e.type)).to.deep.equal(['A', 'B', 'C']);
      });

      it('refuses an id reused with another type or data, and keeps what was stored', async () => {
        const original = newEvent('Priced', { amount: 10, currency: 'EUR' });
        await store.append(stream('a'), [original]);
        await rejectsWith(
          store.append(stream('a'), [{ ...original, data: { amount: 99, currency: 'EUR' } }]),
          DuplicateEventIdError,
        );
        await rejectsWith(store.append(stream('a'), [{ ...original, type: 'Refunded' }]), DuplicateEventIdError);
        // The same content with its keys in another order is the same event.
        const retry = await store.append(stream('a'), [{ ...original, data: { currency: 'EUR', amount: 10 } }]);
        expect(retry.idempotent).to.equal(true);
        const stored = await store.readStream(stream('a'));
        expect(stored.map((e) => [e.type, e.data])).to.deep.equal([['Priced', { amount: 10, currency: 'EUR' }]]);
      });

      it('a partial retry with stream_exists is a duplicate id, not a revision conflict', async () => {
        const [a, b] = [newEvent('A'), newEvent('B')];
        await store.append(stream('a'), [a], { expectedRevision: 'no_stream' });
        await rejectsWith(
          store.append(stream('a'), [a, b], { expectedRevision: 'stream_exists' }),
          DuplicateEventIdError,
        );
        expect(await store.readStream(stream('a'))).to.have.length(1);
      });
    });

    describe('deleted streams', () => {
      it('answers StreamDeletedError (code stream_deleted) for a deleted stream', async function () {
        if (!deleteStream) {
          // Stated, not silent: the SQL stores have no way to delete a stream, so the error cannot arise.
          process.stdout.write(`SKIPPED: deleted streams on ${name} (this store never deletes a stream)\n`);
          this.skip();
        }
        await store.append(stream('d'), [newEvent('A')]);
        await deleteStream(stream('d'));
        const onRead = await rejectsWith(store.readStream(stream('d')), StreamDeletedError);
        expect((onRead as StreamDeletedError).code).to.equal('stream_deleted');
        const onAppend = await rejectsWith(store.append(stream('d'), [newEvent('B')]), StreamDeletedError);
        expect((onAppend as StreamDeletedError).streamId).to.equal(stream('d'));
      });
    });

    describe('read a stream', () => {
      beforeEach(async () => {
        await store.append(
          stream('r'),
          ['E0', 'E1', 'E2', 'E3', 'E4'].map((t) => newEvent(t, { t })),
        );
      });

      it('reads forwards from a revision with a max count', async () => {
        const events = await store.readStream(stream('r'), { fromRevision: 1, maxCount: 2 });
        expect(events.map((e) => e.type)).to.deep.equal(['E1', 'E2']);
      });

      it('reads backwards from the end or from a revision', async () => {
        expect(
          (await store.readStream(stream('r'), { direction: 'backwards', maxCount: 2 })).map((e) => e.type),
        ).to.deep.equal(['E4', 'E3']);
        expect(
          (await store.readStream(stream('r'), { direction: 'backwards', fromRevision: 1 })).map((e) => e.type),
        ).to.deep.equal(['E1', 'E0']);
      });

      it('returns nothing for a stream that does not exist', async () => {
        expect(await store.readStream(stream('nope'))).to.deep.equal([]);
      });

      it('keeps data and the metadata envelope intact', async () => {
        const event = newEvent(
          'Meta',
          { nested: { n: 1, s: 'ü' }, list: [1, 2] },
          { actor: 'user-1', correlationId: 'corr-123', causationId: 'cause-9', ip: '10.0.0.1' },
        );
        await store.append(stream('m'), [event]);
        const [read] = await store.readStream(stream('m'));
        expect(read!.id).to.equal(event.id);
        expect(read!.streamId).to.equal(stream('m'));
        expect(read!.data).to.deep.equal(event.data);
        expect(read!.metadata).to.deep.include({
          correlationId: 'corr-123',
          causationId: 'cause-9',
          actor: 'user-1',
          ip: '10.0.0.1',
          schemaVersion: 1,
        });
        expect(read!.metadata.occurredAt).to.equal(event.metadata.occurredAt);
        expect(Date.parse(read!.recordedAt)).to.be.closeTo(Date.now(), 60_000);
      });
    });

    describe('read all', () => {
      it('reads after a position in global order, filtered by event type or stream prefix', async () => {
        const start = await store.headPosition();
        await store.append(stream('x-1'), [newEvent('Alpha'), newEvent('Beta')]);
        await store.append(stream('y-1'), [newEvent('Alpha')]);
        await store.append(stream('x-2'), [newEvent('Gamma')]);
        const mine = (events: RecordedEvent[]) => events.filter((e) => e.streamId.startsWith(prefix));

        const all = mine(await store.readAll({ after: start }));
        expect(all.map((e) => e.type)).to.deep.equal(['Alpha', 'Beta', 'Alpha', 'Gamma']);
        expect(all.map((e) => e.position)).to.deep.equal([...all.map((e) => e.position)].sort((a, b) => a - b));

        const alphas = await store.readAll({
          after: start,
          filter: { eventTypes: ['Alpha'], streamPrefixes: [prefix] },
        });
        expect(alphas.map((e) => e.streamId)).to.deep.equal([stream('x-1'), stream('y-1')]);

        const xs = await store.readAll({ after: start, filter: { streamPrefixes: [stream('x-')] } });
        expect(xs.map((e) => e.type)).to.deep.equal(['Alpha', 'Beta', 'Gamma']);

        const afterFirst = mine(
          await store.readAll({ after: all[0]!.position, maxCount: 2, filter: { streamPrefixes: [prefix] } }),
        );
        expect(afterFirst.map((e) => e.type)).to.deep.equal(['Beta', 'Alpha']);
        // Another writer on a shared EventStoreDB node may have moved the head since; the SQL stores are alone.
        if (store.kind === 'eventstoredb') expect(await store.headPosition()).to.be.at.least(all[3]!.position);
        else expect(await store.headPosition()).to.equal(all[3]!.position);
      });

      it('treats a stream prefix literally (no wildcards)', async () => {
        const start = await store.headPosition();
        await store.append(`${prefix}_a`, [newEvent('A')]);
        await store.append(`${prefix}xa`, [newEvent('A')]);
        const events = await store.readAll({ after: start, filter: { streamPrefixes: [`${prefix}_`] } });
        expect(events.map((e) => e.streamId)).to.deep.equal([`${prefix}_a`]);
      });
    });

    describe('subscribe to all', () => {
      it('catches up from a position, then delivers live events in order', async () => {
        await store.append(stream('s'), [newEvent('Before1')]);
        const head = await store.headPosition();
        await store.append(stream('s'), [newEvent('Before2')]);
        const seen: RecordedEvent[] = [];
        let caughtUpAt = -1;
        const subscription = store.subscribeToAll({
          after: head,
          filter: { streamPrefixes: [prefix] },
          onEvent: (e) => {
            seen.push(e);
          },
          onCaughtUp: (position) => {
            caughtUpAt = position;
          },
        });
        try {
          await waitFor(() => caughtUpAt >= 0, 5_000, 'catch-up');
          expect(seen.map((e) => e.type)).to.deep.equal(['Before2']);
          await store.append(stream('s'), [newEvent('Live1'), newEvent('Live2')]);
          await store.append(stream('t'), [newEvent('Live3')]);
          await waitFor(() => seen.length === 4, 5_000, 'live events');
          expect(seen.map((e) => e.type)).to.deep.equal(['Before2', 'Live1', 'Live2', 'Live3']);
          expect(subscription.position).to.be.at.least(seen[3]!.position);
        } finally {
          await subscription.stop();
        }
      });

      it('delivers only events that match the type filter', async () => {
        const head = await store.headPosition();
        const seen: string[] = [];
        const subscription = store.subscribeToAll({
          after: head,
          filter: { eventTypes: [`${prefix}Wanted`] },
          onEvent: (e) => {
            seen.push(e.type);
          },
        });
        try {
          await store.append(stream('f'), [newEvent('Other'), newEvent(`${prefix}Wanted`), newEvent('Other')]);
          await waitFor(() => seen.length === 1, 5_000, 'filtered event');
          await new Promise((resolve) => setTimeout(resolve, 200));
          expect(seen).to.deep.equal([`${prefix}Wanted`]);
        } finally {
          await subscription.stop();
        }
      });

      it('stops on a failing handler and reports the error', async () => {
        const head = await store.headPosition();
        let reported: Error | null = null;
        const subscription = store.subscribeToAll({
          after: head,
          filter: { streamPrefixes: [prefix] },
          onEvent: () => {
            throw new Error('handler broke');
          },
          onError: (error) => {
            reported = error;
          },
        });
        await store.append(stream('e'), [newEvent('Boom')]);
        await waitFor(() => reported !== null, 5_000, 'error report');
        expect((reported as Error | null)?.message).to.equal('handler broke');
        await subscription.stop();
      });
    });

    appendValidationContract(() => ({ store, stream }));

    describe('upcasting', () => {
      it('reads old event versions through the upcaster', async () => {
        await teardown();
        const upcaster: Upcaster = (event) =>
          event.type === 'NameSet' && event.metadata.schemaVersion === 1
            ? { ...event, data: { fullName: event.data.name }, metadata: { ...event.metadata, schemaVersion: 2 } }
            : event;
        ({ store, teardown } = await factory({ upcaster }));
        await store.append(stream('u'), [newEvent('NameSet', { name: 'Ada' })]);
        const [read] = await store.readStream(stream('u'));
        expect(read!.data).to.deep.equal({ fullName: 'Ada' });
        expect(read!.metadata.schemaVersion).to.equal(2);
        const [fromAll] = await store.readAll({ after: suiteStart, filter: { streamPrefixes: [prefix] } });
        expect(fromAll!.data).to.deep.equal({ fullName: 'Ada' });
      });
    });
  });
};
