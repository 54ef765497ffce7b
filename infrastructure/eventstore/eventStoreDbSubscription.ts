import {
  START,
  eventTypeFilter,
  excludeSystemEvents,
  streamNameFilter,
  type AllStreamResolvedEvent,
  type AllStreamSubscription,
  type EventStoreDBClient,
  type Filter,
  type Position,
  type RecordedEvent as EsdbRecordedEvent,
} from '@eventstore/db-client';
import type { AllFilter, RecordedEvent, SubscribeOptions, Subscription } from '#application/shared/eventStore.js';
import { isSystemEvent, matchesFilter, safeNumber } from './eventStoreDbMapping.js';

export type EventStoreDbSubscriptionOptions = SubscribeOptions & {
  client: EventStoreDBClient;
  /** newest record in $all, system events included */
  rawHeadPosition: () => Promise<number>;
  toRecorded: (event: EsdbRecordedEvent, position: number) => RecordedEvent;
  /** called once the subscription is over, whatever ended it */
  onClosed: () => void;
};

type CheckpointReached = (subscription: AllStreamSubscription, position: Position) => void;

/**
 * The server filters on one thing only, by prefix: stream prefixes when given (usually the narrowest),
 * else event types, else it just leaves out system events. The exact filter runs again on our side.
 */
const serverFilter = (filter: AllFilter | undefined, checkpointReached: CheckpointReached): Filter => {
  if (filter?.streamPrefixes && filter.streamPrefixes.length > 0)
    return streamNameFilter({ prefixes: [...filter.streamPrefixes], checkpointReached });
  if (filter?.eventTypes && filter.eventTypes.length > 0)
    return eventTypeFilter({ prefixes: [...filter.eventTypes], checkpointReached });
  return excludeSystemEvents({ checkpointReached });
};

const asError = (error: unknown): Error => (error instanceof Error ? error : new Error(String(error)));

/**
 * A catch-up subscription to $all. Caught up is the server's `caughtUp` message (server 23.10 or later).
 * Older servers never send it; there, catch-up is over once an event or a filter checkpoint reaches the
 * newest record that existed when the subscription started.
 *
 * Events are handled one at a time from the stream's buffer, while the caughtUp message and checkpoints
 * arrive as soon as the client reads them: each such signal remembers how many events had arrived
 * before it and only takes effect once all of those have been handled, so onCaughtUp never overtakes
 * an event stored before the subscription started.
 */
export const eventStoreDbSubscription = (options: EventStoreDbSubscriptionOptions): Subscription => {
  const start = options.after ?? 0;
  let position = start;
  let stopped = false;
  let caughtUp = false;
  let inHandler = false;
  let received = 0;
  let handled = 0;
  let rawHead = Number.POSITIVE_INFINITY;
  let live: AllStreamSubscription | undefined;
  const signals: Array<{ after: number; checkpoint: number | null }> = [];

  const cancel = async () => {
    const subscription = live;
    if (!subscription) return;
    try {
      await subscription.unsubscribe();
    } catch (_error) {
      // The call may never have been established; there is nothing left to cancel then.
    }
    subscription.destroy();
  };

  const fail = (error: unknown) => {
    if (stopped) return;
    stopped = true;
    void cancel();
    options.onError?.(asError(error));
  };

  const fireCaughtUp = () => {
    if (caughtUp || stopped) return;
    caughtUp = true;
    try {
      options.onCaughtUp?.(position);
    } catch (error) {
      fail(error);
    }
  };

  const settle = () => {
    while (signals.length > 0 && signals[0]!.after <= handled) {
      const signal = signals.shift()!;
      if (signal.checkpoint === null || signal.checkpoint >= rawHead) fireCaughtUp();
    }
  };

  const signal = (checkpoint: number | null) => {
    if (!live || caughtUp) return;
    signals.push({ after: received + live.readableLength, checkpoint });
    settle();
  };

  const run = async () => {
    rawHead = await options.rawHeadPosition();
    if (stopped) return;
    live = options.client.subscribeToAll({
      fromPosition: start > 0 ? { commit: BigInt(start), prepare: BigInt(start) } : START,
      filter: serverFilter(options.filter, (_subscription, checkpoint) =>
        signal(safeNumber(checkpoint.commit, 'checkpoint position')),
      ),
    });
    // Errors after the loop below has let go of the stream must not become uncaught exceptions.
    live.on('error', () => undefined);
    live.on('caughtUp', () => signal(null));
    if (rawHead <= start) fireCaughtUp();

    for await (const resolved of live as AsyncIterable<AllStreamResolvedEvent>) {
      received += 1;
      const event = resolved.event;
      if (event && !stopped) {
        // `after` is exclusive, but the server starts at the event on that position.
        const at = safeNumber(event.position.commit, 'commit position');
        if (at > position && !isSystemEvent(event) && matchesFilter(event, options.filter)) {
          inHandler = true;
          try {
            await options.onEvent(options.toRecorded(event, at));
          } finally {
            inHandler = false;
          }
          position = at;
        }
        handled += 1;
        if (at >= rawHead) fireCaughtUp();
      } else {
        handled += 1;
      }
      settle();
      if (stopped) return;
    }
    if (!stopped) throw new Error('EventStoreDB ended the subscription');
  };

  const done = run()
    .catch(fail)
    .finally(() => {
      live?.destroy();
      options.onClosed();
    });

  return {
    get position() {
      return position;
    },
    async stop() {
      if (!stopped) {
        stopped = true;
        await cancel();
      }
      // From inside a handler the loop cannot finish before this returns; it stops right after.
      if (!inHandler) await done;
    },
  };
};

export type FilteredReadOptions = {
  client: EventStoreDBClient;
  /** exclusive */
  after: number;
  filter: AllFilter | undefined;
  maxCount: number;
  rawHeadPosition: () => Promise<number>;
  toRecorded: (event: EsdbRecordedEvent, position: number) => RecordedEvent;
};

/**
 * A filtered $all read done by a short-lived filtered subscription: the server skips the events that do
 * not match (a $all read in client v6 would send them all), and caught-up (or a checkpoint past the head
 * seen at the start) ends the read. Collects up to maxCount matching events after `after`.
 */
export const readFilteredThroughSubscription = (options: FilteredReadOptions): Promise<RecordedEvent[]> =>
  new Promise<RecordedEvent[]>((resolve, reject) => {
    const found: RecordedEvent[] = [];
    let settled = false;
    // Assigned before any callback can run: the subscription reads the head before it subscribes.
    let subscription: Subscription | null = null;
    const finish = (error?: Error) => {
      if (settled) return;
      settled = true;
      const stopping = subscription ? subscription.stop() : Promise.resolve();
      void stopping.catch(() => undefined).then(() => (error ? reject(error) : resolve(found)));
    };
    subscription = eventStoreDbSubscription({
      client: options.client,
      after: options.after,
      filter: options.filter,
      rawHeadPosition: options.rawHeadPosition,
      toRecorded: options.toRecorded,
      onClosed: () => undefined,
      onEvent: (event) => {
        if (settled) return;
        found.push(event);
        if (found.length >= options.maxCount) finish();
      },
      onCaughtUp: () => finish(),
      onError: (error) => finish(error),
    });
  });
