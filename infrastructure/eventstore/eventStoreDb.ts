import { randomUUID } from 'node:crypto';
import {
  ANY,
  BACKWARDS,
  END,
  EventStoreDBClient,
  FORWARDS,
  NO_STREAM,
  START,
  STREAM_EXISTS,
  StreamNotFoundError,
  WrongExpectedVersionError,
  jsonEvent,
  type AllStreamResolvedEvent,
  type AppendExpectedRevision,
  type ReadPosition,
  type ReadStreamOptions as EsdbReadStreamOptions,
  type RecordedEvent as EsdbRecordedEvent,
} from '@eventstore/db-client';
import {
  DuplicateEventIdError,
  WrongExpectedRevisionError,
  type EventStore,
  type ExpectedRevision,
  type NewEvent,
  type ReadAllOptions,
  type ReadStreamOptions,
  type RecordedEvent,
  type Subscription,
  type Upcaster,
} from '#application/shared/eventStore.js';
import {
  APPEND_ATTEMPT_KEY,
  fromEsdbEvent,
  isSystemEvent,
  matchesFilter,
  positionOfStreamEvent,
  safeNumber,
  toEsdbMetadata,
} from './eventStoreDbMapping.js';
import type { Event } from '#domain/shared/event.js';
import { eventStoreDbSubscription } from './eventStoreDbSubscription.js';

export type EventStoreDbEventStoreOptions = {
  /** e.g. esdb://eventstore:2113?tls=false */
  connectionString: string;
  upcaster?: Upcaster;
  /** events fetched per $all page; v6 of the client cannot filter $all reads on the server, so readAll pages and filters here */
  pageSize?: number;
};

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const collect = async <T>(read: AsyncIterable<T>): Promise<T[]> => {
  const items: T[] = [];
  for await (const item of read) items.push(item);
  return items;
};

const toEsdbExpected = (expected: ExpectedRevision): AppendExpectedRevision => {
  switch (expected) {
    case 'any':
      return ANY;
    case 'no_stream':
      return NO_STREAM;
    case 'stream_exists':
      return STREAM_EXISTS;
    default:
      // -1 is what WrongExpectedRevisionError reports for a missing stream; accept it back as no_stream.
      if (expected === -1) return NO_STREAM;
      if (!Number.isSafeInteger(expected) || expected < -1)
        throw new TypeError(`invalid expected revision: ${expected}`);
      return BigInt(expected);
  }
};

const validateAppend = (streamId: string, events: readonly NewEvent[]): void => {
  if (!streamId || streamId.length > 512) throw new TypeError('streamId must be 1..512 characters');
  // `$` streams belong to EventStoreDB; readAll and subscriptions skip them, so an event there would be invisible.
  if (streamId.startsWith('$')) throw new TypeError(`stream names starting with $ are reserved: ${streamId}`);
  if (events.length === 0) throw new TypeError('append needs at least one event');
  const ids = new Set<string>();
  for (const event of events) {
    if (!UUID.test(event.id)) throw new TypeError(`event id must be a uuid: ${event.id}`);
    if (ids.has(event.id.toLowerCase())) throw new DuplicateEventIdError(event.id);
    ids.add(event.id.toLowerCase());
    if (!event.type || event.type.startsWith('$')) throw new TypeError(`invalid event type: ${event.type}`);
  }
};

const fromPositionAfter = (after: number | undefined): ReadPosition =>
  after !== undefined && after > 0 ? { commit: BigInt(after), prepare: BigInt(after) } : START;

/**
 * The EventStoreDB adapter (client v6, server 23.10 or later; docker compose runs 24.10).
 *
 * Positions: the global `position` is the event's commit position in $all. Appends through gRPC are
 * implicit transactions, where every event's commit position is its own log position, so positions
 * are unique and strictly increasing. Reads from a position include the event at that position, so
 * `after` is enforced here by dropping events at or below it.
 *
 * Idempotency: EventStoreDB itself treats an append whose event ids are already at the expected place
 * in the stream as a success that writes nothing (for `no_stream` and exact revisions this is exact;
 * for `any` it relies on a server-side cache of recent ids and is best effort). Its reply does not say
 * whether anything was written, so every append carries a random attempt id in its metadata, and the
 * last event is read back: another attempt id means the write was a retry (`idempotent: true`).
 * A retry that reuses only some ids is reported by the server as a wrong expected version
 * (its "corrupted idempotency"), which is mapped to DuplicateEventIdError.
 * Not enforced: EventStoreDB has no index of event ids across streams, so an id already stored in
 * another stream is written again instead of raising DuplicateEventIdError.
 */
export const createEventStoreDbEventStore = (options: EventStoreDbEventStoreOptions): EventStore => {
  const client = EventStoreDBClient.connectionString(options.connectionString);
  const upcast = options.upcaster ?? ((event: RecordedEvent) => event);
  const pageSize = Math.max(2, options.pageSize ?? 500);
  const subscriptions = new Set<Subscription>();
  let closed = false;

  const assertOpen = () => {
    if (closed) throw new Error('event store is closed');
  };

  const readStreamRaw = async (streamId: string, readOptions: EsdbReadStreamOptions): Promise<EsdbRecordedEvent[]> => {
    try {
      const resolved = await collect(client.readStream(streamId, readOptions));
      return resolved.flatMap((r) => (r.event ? [r.event] : []));
    } catch (error) {
      if (error instanceof StreamNotFoundError) return [];
      throw error;
    }
  };

  /** One page of $all; `from` is inclusive. */
  const readAllPage = (from: ReadPosition, direction: typeof FORWARDS | typeof BACKWARDS, maxCount: number) =>
    collect(client.readAll({ fromPosition: from, direction, maxCount }));

  /** Position of the newest record in $all, system events included (0 when empty). */
  const rawHeadPosition = async (): Promise<number> => {
    const [last] = await readAllPage(END, BACKWARDS, 1);
    return last?.event ? safeNumber(last.event.position.commit, 'commit position') : 0;
  };

  const conflictError = async (
    streamId: string,
    events: readonly NewEvent[],
    expected: ExpectedRevision,
    error: WrongExpectedVersionError,
  ): Promise<Error> => {
    const actual = error.actualVersion === 'no_stream' ? -1 : safeNumber(error.actualVersion, 'stream revision');
    const expectedLast = expected === 'no_stream' ? -1 : typeof expected === 'number' ? expected : undefined;
    if (expectedLast !== undefined && actual > expectedLast) {
      // Some of our ids where the retry would have put them means a partial retry, not a lost race.
      const ours = new Set(events.map((e) => e.id.toLowerCase()));
      const stored = await readStreamRaw(streamId, { fromRevision: BigInt(expectedLast + 1), maxCount: events.length });
      const clash = stored.find((e) => ours.has(e.id.toLowerCase()));
      if (clash) return new DuplicateEventIdError(clash.id);
    }
    // With `any` the server only refuses a write whose first ids are stored and the rest are not.
    if (expected === 'any') return new DuplicateEventIdError(events[0]!.id);
    return new WrongExpectedRevisionError(streamId, expected, actual);
  };

  const store: EventStore = {
    kind: 'eventstoredb',

    async append(streamId, events, appendOptions) {
      assertOpen();
      validateAppend(streamId, events);
      const expected = appendOptions?.expectedRevision ?? 'any';
      const attempt = randomUUID();
      const payload = events.map((event) =>
        jsonEvent({
          id: event.id,
          type: event.type,
          data: event.data,
          metadata: toEsdbMetadata(event.metadata, attempt),
        }),
      );
      let nextRevision: bigint;
      try {
        ({ nextExpectedRevision: nextRevision } = await client.appendToStream(streamId, payload, {
          expectedRevision: toEsdbExpected(expected),
        }));
      } catch (error) {
        if (error instanceof WrongExpectedVersionError) throw await conflictError(streamId, events, expected, error);
        throw error;
      }
      const [last] = await readStreamRaw(streamId, { fromRevision: nextRevision, maxCount: 1 });
      if (!last) throw new Error(`stream ${streamId}: event ${nextRevision} vanished right after the append`);
      const metadata =
        last.isJson && typeof last.metadata === 'object' && last.metadata !== null
          ? (last.metadata as Record<string, unknown>)
          : {};
      return {
        nextExpectedRevision: safeNumber(nextRevision, 'stream revision'),
        position: positionOfStreamEvent(last),
        idempotent: metadata[APPEND_ATTEMPT_KEY] !== attempt,
      };
    },

    async readStream<E extends Event = Event>(streamId: string, readOptions: ReadStreamOptions = {}) {
      assertOpen();
      const backwards = readOptions.direction === 'backwards';
      const maxCount = readOptions.maxCount === undefined ? undefined : Math.floor(readOptions.maxCount);
      if (maxCount !== undefined && maxCount <= 0) return [];
      let fromRevision: EsdbReadStreamOptions['fromRevision'] = backwards ? END : START;
      if (readOptions.fromRevision !== undefined) {
        const from = Math.floor(readOptions.fromRevision);
        if (from < 0 && backwards) return [];
        if (from >= 0) fromRevision = BigInt(from);
      }
      const events = await readStreamRaw(streamId, {
        direction: backwards ? BACKWARDS : FORWARDS,
        fromRevision,
        ...(maxCount === undefined ? {} : { maxCount }),
      });
      return events.map((event) => upcast(fromEsdbEvent(event, positionOfStreamEvent(event)))) as RecordedEvent<E>[];
    },

    async readAll<E extends Event = Event>(readOptions: ReadAllOptions = {}) {
      assertOpen();
      const limit = readOptions.maxCount === undefined ? Infinity : Math.floor(readOptions.maxCount);
      const found: RecordedEvent<E>[] = [];
      if (limit <= 0) return found;
      let scanned = readOptions.after ?? 0;
      let from = fromPositionAfter(readOptions.after);
      for (;;) {
        const page = await readAllPage(from, FORWARDS, pageSize);
        for (const { event } of page) {
          if (!event) continue;
          const position = safeNumber(event.position.commit, 'commit position');
          if (position <= scanned) continue;
          scanned = position;
          if (isSystemEvent(event) || !matchesFilter(event, readOptions.filter)) continue;
          found.push(upcast(fromEsdbEvent(event, position)) as RecordedEvent<E>);
          if (found.length >= limit) return found;
        }
        const last = page[page.length - 1]?.event;
        if (page.length < pageSize || !last) return found;
        from = last.position;
      }
    },

    subscribeToAll(subscribeOptions) {
      assertOpen();
      const subscription = eventStoreDbSubscription({
        ...subscribeOptions,
        client,
        rawHeadPosition,
        toRecorded: (event, position) => upcast(fromEsdbEvent(event, position)),
        onClosed: () => subscriptions.delete(subscription),
      });
      subscriptions.add(subscription);
      return subscription;
    },

    async headPosition() {
      assertOpen();
      // The newest event a reader can see: EventStoreDB writes its own `$` events that readers skip,
      // and a caller waiting for a subscription to reach the head would wait for them forever.
      let from: ReadPosition = END;
      for (;;) {
        const page: AllStreamResolvedEvent[] = await readAllPage(from, BACKWARDS, pageSize);
        const newest = page.find((r) => r.event !== undefined && !isSystemEvent(r.event));
        if (newest?.event) return safeNumber(newest.event.position.commit, 'commit position');
        const oldest = page[page.length - 1]?.event;
        if (page.length < pageSize || !oldest) return 0;
        from = oldest.position;
      }
    },

    async ping() {
      assertOpen();
      await rawHeadPosition();
    },

    async close() {
      if (closed) return;
      closed = true;
      await Promise.all([...subscriptions].map((s) => s.stop()));
      await client.dispose();
    },
  };
  return store;
};
