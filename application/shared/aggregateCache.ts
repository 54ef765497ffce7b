import type { Decider, Event } from '#domain/shared/event.js';
import type { EventStore, RecordedEvent } from './eventStore.js';

type Entry = { state: unknown; revision: number };

/** per store, per decider: stream id -> the fold so far (insertion order = least recently used first) */
const caches = new WeakMap<EventStore, WeakMap<object, Map<string, Entry>>>();

/** streams kept per store and decider; the least recently used one is dropped past it */
export const AGGREGATE_CACHE_SIZE = 10_000;

/** per store, per decider: stream id -> the load in flight and the one queued behind it */
type Flight = { current: Promise<unknown>; next: Promise<unknown> | null };
const flights = new WeakMap<EventStore, WeakMap<object, Map<string, Flight>>>();

/**
 * `loadAggregate` for streams read on every message (a chat's pause flag, a number's status), kept
 * per process as an in-memory snapshot: the first load folds the stream, the next ones read only the
 * events after the cached revision (one round trip that returns nothing when the stream has not moved)
 * and fold them onto the cached state. Never stale: every load asks the store for the stream's tail, so
 * an event another process appended is seen exactly as a full read would see it. Streams in the stores
 * only grow (the SQL stores never delete; an EventStoreDB stream re-created after a soft delete keeps
 * counting revisions), so a cached prefix stays the stream's prefix. What a decorator changes on read
 * after the fold (a shredded subject's data) stays in the cached state until the process restarts or
 * the entry is evicted: use it for states that keep no personal data, or only flags derived from it.
 *
 * Concurrent loads of one stream share reads: a load asked for while another is in flight waits for it
 * and then shares the next read with every load asked for meanwhile. That next read starts after each
 * of them was asked for, so none of them can miss an event appended before it asked (the same
 * guarantee as reading alone); under load a hot stream (the number's, read on every message) costs one
 * read per round trip instead of one per message.
 */
export const loadAggregateCached = <State, Command, E extends Event>(
  store: EventStore,
  streamId: string,
  decider: Decider<State, Command, E>,
): Promise<{ state: State; revision: number; eventsRead: number }> => {
  let perDecider = flights.get(store);
  if (!perDecider) flights.set(store, (perDecider = new WeakMap()));
  let inFlight = perDecider.get(decider);
  if (!inFlight) perDecider.set(decider, (inFlight = new Map<string, Flight>()));
  const map = inFlight;
  type Result = { state: State; revision: number; eventsRead: number };
  const begin = (): Promise<Result> => {
    const flight: Flight = { current: loadOnce(store, streamId, decider), next: null };
    map.set(streamId, flight);
    const settled = () => {
      if (map.get(streamId) === flight) map.delete(streamId);
    };
    flight.current.then(settled, settled);
    return flight.current as Promise<Result>;
  };
  const flight = map.get(streamId);
  if (flight === undefined) return begin();
  const ignore = () => undefined;
  flight.next ??= flight.current.then(ignore, ignore).then(begin);
  return flight.next as Promise<Result>;
};

const loadOnce = async <State, Command, E extends Event>(
  store: EventStore,
  streamId: string,
  decider: Decider<State, Command, E>,
): Promise<{ state: State; revision: number; eventsRead: number }> => {
  let perDecider = caches.get(store);
  if (!perDecider) caches.set(store, (perDecider = new WeakMap()));
  let entries = perDecider.get(decider);
  if (!entries) perDecider.set(decider, (entries = new Map<string, Entry>()));
  const cached = entries.get(streamId);
  const from = cached ? cached.revision + 1 : 0;
  const recorded = await store.readStream<E>(streamId, from === 0 ? undefined : { fromRevision: from });
  let state = (cached?.state as State | undefined) ?? decider.initialState();
  let revision = cached?.revision ?? -1;
  for (const r of recorded as RecordedEvent<E>[]) {
    // a read racing another load of the same stream may return events already folded
    if (r.revision <= revision) continue;
    state = decider.evolve(state, { type: r.type, data: r.data } as E);
    revision = r.revision;
  }
  // re-read in case a concurrent load stored a longer fold meanwhile: keep the longest
  const now = entries.get(streamId);
  if (!now || now.revision <= revision) {
    entries.delete(streamId);
    entries.set(streamId, { state, revision });
    if (entries.size > AGGREGATE_CACHE_SIZE) entries.delete(entries.keys().next().value!);
  }
  return { state, revision, eventsRead: recorded.length };
};
