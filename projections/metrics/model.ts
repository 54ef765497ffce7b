import type { LiveEvent, LlmToday, MetricsSnapshot, ProviderMetrics } from '#application/metrics/live.js';
import type { RecordedEvent } from '#application/shared/eventStore.js';
import { hasTypeIn } from '#application/shared/eventTypes.js';
import type { AppEventType, EventOfType } from '#domain/events.js';
import { emptyWindow, percentile, windowAdd, windowTotals, type Window } from './windows.js';

/**
 * The live metrics model: a pure fold of events into a small state, and the snapshot of that state
 * at a given instant. No I/O and no clock: time comes in as `now`, so a test replays a history
 * and reads exact numbers. Windows count events by `metadata.occurredAt` (when it happened, not when
 * it was stored), so folding an old history from position 0 leaves the windows empty and only the
 * lasting state (queue, circuits, locks, processes, sessions) behind.
 *
 * The fold reads the catalogue's types (domain/events.ts): LoginFailed, AccountLocked {accountId, until},
 * AccountUnlocked {accountId}, RateLimited, ProcessStarted/Stopped/Crashed {name, instance}. The message,
 * LLM and WhatsApp parts of the snapshot (queue, rates, providers, circuits, sessions) have their state
 * here already; they move once those contexts declare their events and add a case below.
 */

export const MESSAGE_RATE_WINDOW_SECONDS = 10;
export const MINUTE_WINDOW_SECONDS = 60;

/** The event types the fold reads: the live feed subscribes and the projection filters with exactly these. */
export const METRICS_EVENT_TYPES = [
  'LoginFailed',
  'AccountLocked',
  'AccountUnlocked',
  'RateLimited',
  'ProcessStarted',
  'ProcessStopped',
  'ProcessCrashed',
  'LlmCallSucceeded',
  'LlmCallFailed',
  'FallbackUsed',
  'ProviderCircuitOpened',
  'ProviderCircuitHalfOpened',
  'ProviderCircuitClosed',
  'MessageReceived',
  'MessageQueued',
  'MessageRequeued',
  'MessageSent',
  'MessageDeadLettered',
  'MessageDropped',
] as const satisfies readonly AppEventType[];
type MetricsEventType = (typeof METRICS_EVENT_TYPES)[number];
const isMetricsEvent = hasTypeIn(METRICS_EVENT_TYPES);

export type CircuitState = ProviderMetrics['circuit'];
export type ProcessState = MetricsSnapshot['processes'][number]['state'];
export type ProjectionLag = MetricsSnapshot['projections'][number];

export type ProviderState = { readonly calls: Window; readonly circuit: CircuitState };
export type ProcessEntry = {
  readonly name: string;
  readonly instance: string | null;
  readonly state: Exclude<ProcessState, 'unknown'>;
  readonly since: string;
};

export type MetricsState = {
  /** newest global position folded in (0: nothing yet) */
  readonly position: number;
  readonly inbound: Window;
  readonly outbound: Window;
  readonly providers: ReadonlyMap<string, ProviderState>;
  /** message key -> queued at (epoch ms) */
  readonly queue: ReadonlyMap<string, number>;
  readonly loginFailures: Window;
  readonly lockouts: Window;
  readonly rateLimited: Window;
  /** account id -> locked until (epoch ms; Infinity when the event named no end) */
  readonly locked: ReadonlyMap<string, number>;
  /** keyed by name + instance */
  readonly processes: ReadonlyMap<string, ProcessEntry>;
  /** WhatsApp session key -> the process instance that holds it */
  readonly sessions: ReadonlyMap<string, string | null>;
  /** the LLM chain's totals for the UTC day of the newest LLM event (day null: none yet) */
  readonly llmToday: LlmDay;
};

export type LlmDay = Readonly<Omit<LlmToday, 'day'> & { day: string | null }>;
const emptyLlmDay = (day: string | null): LlmDay => ({
  day,
  calls: 0,
  failed: 0,
  fallbacks: 0,
  tokensIn: 0,
  tokensOut: 0,
  costUsd: 0,
});

export const initialMetricsState = (): MetricsState => ({
  position: 0,
  inbound: emptyWindow,
  outbound: emptyWindow,
  providers: new Map(),
  queue: new Map(),
  loginFailures: emptyWindow,
  lockouts: emptyWindow,
  rateLimited: emptyWindow,
  locked: new Map(),
  processes: new Map(),
  sessions: new Map(),
  llmToday: emptyLlmDay(null),
});

// ---------- reading event data ----------

type Envelope = Pick<RecordedEvent, 'streamId' | 'position' | 'metadata'> & { recordedAt?: string };
/** Distributive, like RecordedEvent<E>: narrowing on `type` narrows `data`. */
type FoldedEvent<T extends MetricsEventType = MetricsEventType> = T extends MetricsEventType
  ? Envelope & { type: T; data: EventOfType<T>['data'] }
  : never;

// Typed by the catalogue; an older event version may still lack a field, hence the fallbacks.
const text = (value: unknown): string | null => (typeof value === 'string' && value !== '' ? value : null);
const withoutPrefix = (streamId: string, prefix: string): string =>
  streamId.startsWith(prefix) ? streamId.slice(prefix.length) : streamId;

const occurredAtMs = (event: Envelope, nowMs: number): number => {
  const occurred = Date.parse(event.metadata.occurredAt);
  if (Number.isFinite(occurred)) return occurred;
  const recorded = event.recordedAt === undefined ? Number.NaN : Date.parse(event.recordedAt);
  return Number.isFinite(recorded) ? recorded : nowMs;
};

const accountOf = (event: FoldedEvent<'AccountLocked' | 'AccountUnlocked'>): string =>
  text(event.data.accountId) ?? withoutPrefix(event.streamId, 'account-');
const messageKey = (
  event: FoldedEvent<'MessageQueued' | 'MessageRequeued' | 'MessageSent' | 'MessageDeadLettered' | 'MessageDropped'>,
): string => text(event.data.messageId) ?? withoutPrefix(event.streamId, 'message-');
export const processKey = (name: string, instance: string | null): string => `${name}\u0000${instance ?? ''}`;

/** How the fold changes a map: into a copy (the default: states are shared values), or in place. */
type MapOps = {
  withEntry: <K, V>(map: ReadonlyMap<K, V>, key: K, value: V) => ReadonlyMap<K, V>;
  withoutEntry: <K, V>(map: ReadonlyMap<K, V>, key: K) => ReadonlyMap<K, V>;
  withoutMatching: <K, V>(map: ReadonlyMap<K, V>, drop: (value: V, key: K) => boolean) => ReadonlyMap<K, V>;
};
const copying: MapOps = {
  withEntry: (map, key, value) => new Map(map).set(key, value),
  withoutEntry: (map, key) => {
    if (!map.has(key)) return map;
    const copy = new Map(map);
    copy.delete(key);
    return copy;
  },
  withoutMatching: (map, drop) => {
    const kept = [...map].filter(([key, value]) => !drop(value, key));
    return kept.length === map.size ? map : new Map(kept);
  },
};
// The same changes on the map itself (same entries, same order): copying the queue map on every message
// makes a long replay quadratic. Only for a state nobody else holds (a projection batch's own).
const inPlace: MapOps = {
  withEntry: (map, key, value) => (map as Map<typeof key, typeof value>).set(key, value),
  withoutEntry: (map, key) => {
    (map as Map<typeof key, unknown>).delete(key);
    return map;
  },
  withoutMatching: (map, drop) => {
    for (const [key, value] of map) if (drop(value, key)) (map as Map<typeof key, typeof value>).delete(key);
    return map;
  },
};

// ---------- the fold ----------

const CIRCUIT_OF = {
  ProviderCircuitOpened: 'open',
  ProviderCircuitHalfOpened: 'half_open',
  ProviderCircuitClosed: 'closed',
} as const satisfies Record<
  EventOfType<'ProviderCircuitOpened' | 'ProviderCircuitHalfOpened' | 'ProviderCircuitClosed'>['type'],
  CircuitState
>;
const providerState = (state: MetricsState, name: string): ProviderState =>
  state.providers.get(name) ?? { calls: emptyWindow, circuit: 'closed' };

const utcDay = (ms: number): string => new Date(ms).toISOString().slice(0, 10);
const finite = (value: unknown): number => (typeof value === 'number' && Number.isFinite(value) ? value : 0);

/** Adds to the day's totals; an event of a later day starts a new day, one of an earlier day is past. */
const addToDay = (current: LlmDay, at: number, add: Partial<Omit<LlmDay, 'day'>>): LlmDay => {
  const day = utcDay(at);
  if (current.day !== null && day < current.day) return current;
  const base = current.day === day ? current : emptyLlmDay(day);
  return {
    day,
    calls: base.calls + (add.calls ?? 0),
    failed: base.failed + (add.failed ?? 0),
    fallbacks: base.fallbacks + (add.fallbacks ?? 0),
    tokensIn: base.tokensIn + (add.tokensIn ?? 0),
    tokensOut: base.tokensOut + (add.tokensOut ?? 0),
    costUsd: base.costUsd + (add.costUsd ?? 0),
  };
};

const PROCESS_STATE_OF = {
  ProcessStarted: 'running',
  ProcessStopped: 'stopped',
  ProcessCrashed: 'crashed',
} as const satisfies Record<EventOfType<'ProcessStarted' | 'ProcessStopped' | 'ProcessCrashed'>['type'], string>;

const foldProcess = (
  state: MetricsState,
  event: FoldedEvent<'ProcessStarted' | 'ProcessStopped' | 'ProcessCrashed'>,
  at: number,
  { withEntry, withoutMatching }: MapOps,
): MetricsState => {
  const processState: ProcessEntry['state'] = PROCESS_STATE_OF[event.type];
  const name = text(event.data.name) ?? withoutPrefix(event.streamId, 'process-');
  const instance = text(event.data.instance);
  let processes = state.processes;
  // A new instance supersedes the stopped or crashed ones of the same process, so restarts do not pile up.
  if (processState === 'running')
    processes = withoutMatching(processes, (entry) => entry.name === name && entry.state !== 'running');
  processes = withEntry(processes, processKey(name, instance), {
    name,
    instance,
    state: processState,
    since: new Date(at).toISOString(),
  });
  const sessions =
    processState !== 'running' && instance !== null
      ? withoutMatching(state.sessions, (holder) => holder === instance)
      : state.sessions;
  return { ...state, processes, sessions };
};

/**
 * Folds one event. Never throws and never mutates `state`; types outside METRICS_EVENT_TYPES leave it
 * as it is, and an event at or before `state.position` (a redelivery after a resubscription) is ignored.
 */
export const foldMetrics = (state: MetricsState, event: RecordedEvent, now: Date): MetricsState =>
  foldWith(state, event, now, copying);

const foldWith = (state: MetricsState, event: RecordedEvent, now: Date, ops: MapOps): MetricsState => {
  if (event.position <= state.position) return state;
  const moved = { ...state, position: event.position };
  if (!isMetricsEvent(event)) return moved;
  const nowMs = now.getTime();
  return foldEvent(moved, event, occurredAtMs(event, nowMs), nowMs, ops);
};

/**
 * The same fold with the event's own time as "now": what the stored projection uses, so that its state
 * depends on the events alone and a rebuild writes the same snapshot.
 */
export const foldMetricsAtEventTime = (state: MetricsState, event: RecordedEvent): MetricsState =>
  foldMetrics(state, event, new Date(occurredAtMs(event, Date.parse(event.recordedAt))));

/**
 * foldMetricsAtEventTime for a state its caller owns alone (a projection batch's): the same result, but
 * the maps of `state` are changed in place instead of copied, so `state` must not be used afterwards.
 */
export const foldMetricsAtEventTimeInPlace = (state: MetricsState, event: RecordedEvent): MetricsState =>
  foldWith(state, event, new Date(occurredAtMs(event, Date.parse(event.recordedAt))), inPlace);

const foldEvent = (state: MetricsState, event: FoldedEvent, at: number, nowMs: number, ops: MapOps): MetricsState => {
  const { withEntry, withoutEntry, withoutMatching } = ops;
  switch (event.type) {
    case 'LoginFailed':
      return { ...state, loginFailures: windowAdd(state.loginFailures, at, nowMs, MINUTE_WINDOW_SECONDS) };
    case 'AccountLocked': {
      const until = Date.parse(text(event.data.until) ?? '');
      // Locks whose time is up are dropped here too, so the map holds only the accounts locked lately.
      const locked = withoutMatching(state.locked, (lockedUntil) => lockedUntil <= nowMs);
      return {
        ...state,
        lockouts: windowAdd(state.lockouts, at, nowMs, MINUTE_WINDOW_SECONDS),
        locked: withEntry(locked, accountOf(event), Number.isFinite(until) ? until : Number.POSITIVE_INFINITY),
      };
    }
    case 'AccountUnlocked':
      return { ...state, locked: withoutEntry(state.locked, accountOf(event)) };
    case 'RateLimited':
      return { ...state, rateLimited: windowAdd(state.rateLimited, at, nowMs, MINUTE_WINDOW_SECONDS) };
    case 'ProcessStarted':
    case 'ProcessStopped':
    case 'ProcessCrashed':
      return foldProcess(state, event, at, ops);
    case 'LlmCallSucceeded':
    case 'LlmCallFailed': {
      const name = text(event.data.provider) ?? 'unknown';
      const current = providerState(state, name);
      const failed = event.type === 'LlmCallFailed';
      const latency: unknown = failed ? null : event.data.latencyMs;
      // Latency percentiles describe answered calls: a refused call (open circuit) would drag them to 0.
      const calls = windowAdd(current.calls, at, nowMs, MINUTE_WINDOW_SECONDS, {
        failed,
        latencyMs: typeof latency === 'number' && Number.isFinite(latency) ? latency : null,
      });
      const llmToday = addToDay(
        state.llmToday,
        at,
        event.type === 'LlmCallFailed'
          ? { calls: 1, failed: 1 }
          : {
              calls: 1,
              tokensIn: finite(event.data.tokensIn),
              tokensOut: finite(event.data.tokensOut),
              costUsd: finite(event.data.costUsd),
            },
      );
      return { ...state, providers: withEntry(state.providers, name, { ...current, calls }), llmToday };
    }
    case 'FallbackUsed':
      return { ...state, llmToday: addToDay(state.llmToday, at, { fallbacks: 1 }) };
    case 'ProviderCircuitOpened':
    case 'ProviderCircuitHalfOpened':
    case 'ProviderCircuitClosed': {
      const name = text(event.data.provider) ?? 'unknown';
      return {
        ...state,
        providers: withEntry(state.providers, name, { ...providerState(state, name), circuit: CIRCUIT_OF[event.type] }),
      };
    }
    // Messages: received and sent per second; the queue holds what is queued and neither sent nor
    // failed for good (a failed attempt that will be retried stays queued; a dead letter leaves it
    // until an admin requeues it).
    case 'MessageReceived':
      return { ...state, inbound: windowAdd(state.inbound, at, nowMs, MESSAGE_RATE_WINDOW_SECONDS) };
    case 'MessageQueued':
    case 'MessageRequeued':
      return { ...state, queue: withEntry(state.queue, messageKey(event), state.queue.get(messageKey(event)) ?? at) };
    case 'MessageSent':
      return {
        ...state,
        outbound: windowAdd(state.outbound, at, nowMs, MESSAGE_RATE_WINDOW_SECONDS),
        queue: withoutEntry(state.queue, messageKey(event)),
      };
    case 'MessageDeadLettered':
    case 'MessageDropped':
      return { ...state, queue: withoutEntry(state.queue, messageKey(event)) };
    default: {
      const _exhaustive: never = event;
      return state;
    }
  }
};

// ---------- the snapshot ----------

export type SnapshotExtras = {
  /** from projectionStatus(): the cluster-wide checkpoints and lag */
  projections?: readonly ProjectionLag[];
  /** process names always listed, as 'unknown' until an event says otherwise */
  expectedProcesses?: readonly string[];
};

const round = (value: number, digits = 4): number => Math.round(value * 10 ** digits) / 10 ** digits;

const providerMetrics = (name: string, state: ProviderState, nowMs: number): ProviderMetrics => {
  const totals = windowTotals(state.calls, nowMs, MINUTE_WINDOW_SECONDS);
  const sorted = totals.latencies.sort((a, b) => a - b);
  return {
    provider: name,
    calls: totals.count,
    errorRate: totals.count === 0 ? 0 : round(totals.failed / totals.count),
    latencyMs:
      sorted.length === 0
        ? null
        : { p50: percentile(sorted, 0.5)!, p95: percentile(sorted, 0.95)!, p99: percentile(sorted, 0.99)! },
    circuit: state.circuit,
  };
};

/** The day's totals as of `nowMs`: zeros once the UTC day has turned since the last LLM event. */
const llmTodayAt = (day: LlmDay, nowMs: number): LlmToday => {
  const today = utcDay(nowMs);
  const current = day.day === today ? day : emptyLlmDay(today);
  return { ...current, day: today, costUsd: round(current.costUsd, 6) };
};

export const snapshotOf = (state: MetricsState, now: Date, extras: SnapshotExtras = {}): MetricsSnapshot => {
  const nowMs = now.getTime();
  const perSecond = (window: Window) =>
    round(windowTotals(window, nowMs, MESSAGE_RATE_WINDOW_SECONDS).count / MESSAGE_RATE_WINDOW_SECONDS);
  const lastMinute = (window: Window) => windowTotals(window, nowMs, MINUTE_WINDOW_SECONDS).count;
  let oldestQueued = nowMs;
  for (const queuedAt of state.queue.values()) oldestQueued = Math.min(oldestQueued, queuedAt);

  const processes: MetricsSnapshot['processes'] = [...state.processes.values()].map((entry) => ({
    name: entry.name,
    state: entry.state,
    since: entry.since,
    instance: entry.instance,
  }));
  for (const name of extras.expectedProcesses ?? []) {
    if (!processes.some((entry) => entry.name === name))
      processes.push({ name, state: 'unknown', since: null, instance: null });
  }
  processes.sort((a, b) => a.name.localeCompare(b.name) || (a.instance ?? '').localeCompare(b.instance ?? ''));

  return {
    at: now.toISOString(),
    position: state.position,
    messages: {
      inPerSecond: perSecond(state.inbound),
      outPerSecond: perSecond(state.outbound),
      queueDepth: state.queue.size,
      oldestQueuedAgeSeconds: round(Math.max(0, nowMs - oldestQueued) / 1000, 3),
    },
    llm: [...state.providers]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([name, provider]) => providerMetrics(name, provider, nowMs)),
    llmToday: llmTodayAt(state.llmToday, nowMs),
    security: {
      loginFailuresLastMinute: lastMinute(state.loginFailures),
      lockoutsLastMinute: lastMinute(state.lockouts),
      lockedAccounts: [...state.locked.values()].filter((until) => until > nowMs).length,
      rateLimitedLastMinute: lastMinute(state.rateLimited),
    },
    projections: (extras.projections ?? []).map(({ name, position, lagEvents, lagMs, lastError }) => ({
      name,
      position,
      lagEvents,
      lagMs,
      lastError,
    })),
    processes,
    whatsapp: { connectedSessions: state.sessions.size },
  };
};

/** The live feed's view of an event: its shape and who caused it, never its data (which may hold secrets). */
export const toLiveEvent = (
  event: Pick<RecordedEvent, 'position' | 'type' | 'streamId' | 'metadata' | 'recordedAt'>,
): LiveEvent => ({
  position: event.position,
  type: event.type,
  streamId: event.streamId,
  // The wire schema wants an ISO time; an event written with a broken one still shows, at its recording time.
  occurredAt: Number.isFinite(Date.parse(event.metadata.occurredAt)) ? event.metadata.occurredAt : event.recordedAt,
  correlationId: event.metadata.correlationId,
  actor: event.metadata.actor,
});
