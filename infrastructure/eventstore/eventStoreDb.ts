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
  EventStoreUnavailableError,
  InvalidAppendError,
  type AppendResult,
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
  appendConflict,
  fromEsdbEvent,
  isSystemEvent,
  portError,
  positionOfStreamEvent,
  retryOutcome,
  safeNumber,
  toEsdbMetadata,
} from './eventStoreDbMapping.js';
import type { Event } from '#domain/shared/event.js';
import { eventStoreDbSubscription, readFilteredThroughSubscription } from './eventStoreDbSubscription.js';
import { prepareAppend } from './validation.js';

export type EventStoreDbEventStoreOptions = {
  /** e.g. esdb://eventstore:2113?tls=false, or a cluster: esdb://h1:2113,h2:2113,h3:2113 */
  connectionString: string;
  upcaster?: Upcaster;
  /** events fetched per page of an unfiltered $all read */
  pageSize?: number;
  /**
   * How many of a stream's last events an append looks through for its own ids before writing, so that
   * a retry is recognised whatever expected revision it carries (default 32: a retry comes soon after its first attempt; each append reads up to this many events first; 0 turns the check off).
   */
  idempotenceWindow?: number;
  /** deadline of the /healthz probe's read (default 5 s) */
  pingDeadlineMs?: number;
};

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
      return BigInt(expected);
  }
};

/** The port's checks (prepareAppend), and EventStoreDB's own: `$` names belong to the server. */
const validateAppend = (streamId: string, events: readonly NewEvent[], expected: ExpectedRevision): void => {
  const prepared = prepareAppend(streamId, events, expected);
  if (prepared instanceof Error) throw prepared;
  // readAll and subscriptions skip `$` streams and types, so an event there would be invisible.
  if (streamId.startsWith('$')) throw new InvalidAppendError('stream names starting with $ are reserved', streamId);
  if (events.some((event) => event.type.startsWith('$')))
    throw new InvalidAppendError('event types starting with $ are reserved', streamId);
};

const fromPositionAfter = (after: number | undefined): ReadPosition =>
  after !== undefined && after > 0 ? { commit: BigInt(after), prepare: BigInt(after) } : START;

/**
 * The EventStoreDB adapter (client v6, server 23.10 or later; docker compose runs 24.10). Written
 * against the client's code and the server's source; its contract run against a real server is opt-in
 * (EVENTSTORE_URL) and has not been seen on our machines: see docs/architecture.md.
 *
 * Positions: the global `position` is the event's commit position in $all. Appends through gRPC are
 * implicit transactions, where every event's commit position is its own log position, so positions
 * are unique and strictly increasing. Reads from a position include the event at that position, so
 * `after` is enforced here by dropping events at or below it.
 *
 * Idempotency (the port's promise): the server only dedupes a retry whose expected revision is the one
 * before its first write (for `any` and `stream_exists` it relies on an in-memory cache of recent ids,
 * lost on restart), and a retry whose expected revision is the current one is written again. So before
 * writing, an append reads the stream's last `idempotenceWindow` events and answers a retry from them
 * (same ids, types and data: `idempotent: true`; anything else: DuplicateEventIdError). Past the
 * window, the server's own check still runs. The server's reply does not say whether it wrote, so
 * every append carries a random attempt id in its metadata and the last event is read back: another
 * attempt id means the server took it for a retry (`idempotent: true`).
 * Not enforced: EventStoreDB has no index of event ids across streams, so an id already stored in
 * another stream is written again instead of raising DuplicateEventIdError.
 */
export const createEventStoreDbEventStore = (options: EventStoreDbEventStoreOptions): EventStore => {
  const client = EventStoreDBClient.connectionString(options.connectionString);
  const upcast = options.upcaster ?? ((event: RecordedEvent) => event);
  const pageSize = Math.max(2, options.pageSize ?? 500);
  const window = Math.max(0, options.idempotenceWindow ?? 32);
  const subscriptions = new Set<Subscription>();
  let closed = false;
  let probe: Promise<void> | null = null;

  const assertOpen = () => {
    if (closed) throw new Error('event store is closed');
  };

  const readStreamRaw = async (streamId: string, readOptions: EsdbReadStreamOptions): Promise<EsdbRecordedEvent[]> => {
    try {
      const resolved = await collect(client.readStream(streamId, readOptions));
      return resolved.flatMap((r) => (r.event ? [r.event] : []));
    } catch (error) {
      if (error instanceof StreamNotFoundError) return [];
      throw portError(error, streamId);
    }
  };

  /** One page of $all; `from` is inclusive. */
  const readAllPage = async (from: ReadPosition, direction: typeof FORWARDS | typeof BACKWARDS, maxCount: number) => {
    try {
      return await collect(client.readAll({ fromPosition: from, direction, maxCount }));
    } catch (error) {
      throw portError(error, null);
    }
  };

  /** Position of the newest record in $all, system events included (0 when empty). */
  const rawHeadPosition = async (): Promise<number> => {
    const [last] = await readAllPage(END, BACKWARDS, 1);
    return last?.event ? safeNumber(last.event.position.commit, 'commit position') : 0;
  };

  /**
   * The newest record, or a retryable error after `deadlineMs`. Client 6.2.1 gives reads an infinite
   * gRPC deadline whatever the options say, so the read is cancelled here.
   */
  const probeOnce = async (deadlineMs: number): Promise<void> => {
    const read = client.readAll({ fromPosition: END, direction: BACKWARDS, maxCount: 1 });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      void read.cancel().catch(() => undefined);
    }, deadlineMs);
    try {
      await collect(read);
    } catch (error) {
      if (!timedOut) throw portError(error, null);
    } finally {
      clearTimeout(timer);
    }
    if (timedOut) throw new EventStoreUnavailableError(`EventStoreDB did not answer within ${deadlineMs} ms`);
  };

  /** After an exact-revision conflict: one of our ids where the retry would have put them is a partial retry. */
  const clashAfterConflict = async (
    streamId: string,
    events: readonly NewEvent[],
    expected: ExpectedRevision,
    error: WrongExpectedVersionError,
  ): Promise<string | null> => {
    const actual = error.actualVersion === 'no_stream' ? -1 : safeNumber(error.actualVersion, 'stream revision');
    const expectedLast = expected === 'no_stream' ? -1 : typeof expected === 'number' ? expected : undefined;
    if (expectedLast === undefined || actual <= expectedLast) return null;
    const ours = new Set(events.map((e) => e.id.toLowerCase()));
    const stored = await readStreamRaw(streamId, { fromRevision: BigInt(expectedLast + 1), maxCount: events.length });
    return stored.find((e) => ours.has(e.id.toLowerCase()))?.id ?? null;
  };

  const store: EventStore = {
    kind: 'eventstoredb',

    async append(streamId, events, appendOptions): Promise<AppendResult> {
      assertOpen();
      const expected = appendOptions?.expectedRevision ?? 'any';
      validateAppend(streamId, events, expected);
      if (window > 0) {
        const recent = await readStreamRaw(streamId, {
          direction: BACKWARDS,
          fromRevision: END,
          maxCount: Math.max(window, events.length),
        });
        const retry = retryOutcome(events, recent);
        if (retry instanceof Error) throw retry;
        if (retry) return retry;
      }
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
        if (error instanceof WrongExpectedVersionError)
          throw appendConflict(
            streamId,
            events,
            expected,
            error,
            await clashAfterConflict(streamId, events, expected, error),
          );
        throw portError(error, streamId);
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
      const filter = readOptions.filter;
      if ((filter?.eventTypes?.length ?? 0) > 0 || (filter?.streamPrefixes?.length ?? 0) > 0) {
        // v6 cannot filter a $all read on the server, but a subscription can: the server skips what does
        // not match, so a projection of rare events does not page through everything else.
        const events = await readFilteredThroughSubscription({
          client,
          after: readOptions.after ?? 0,
          filter,
          maxCount: limit,
          rawHeadPosition,
          toRecorded: (event, position) => upcast(fromEsdbEvent(event, position)),
        });
        return events as RecordedEvent<E>[];
      }
      let scanned = readOptions.after ?? 0;
      let from = fromPositionAfter(readOptions.after);
      for (;;) {
        const page = await readAllPage(from, FORWARDS, pageSize);
        for (const { event } of page) {
          if (!event) continue;
          const position = safeNumber(event.position.commit, 'commit position');
          if (position <= scanned) continue;
          scanned = position;
          if (isSystemEvent(event)) continue;
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

    ping() {
      assertOpen();
      // /healthz gives up after its own timeout, but the read goes on while the server hangs: at most one
      // probe in flight, every caller meanwhile shares it, and its deadline ends it.
      probe ??= probeOnce(options.pingDeadlineMs ?? 5_000).finally(() => {
        probe = null;
      });
      return probe;
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
