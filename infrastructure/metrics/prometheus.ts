import { collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { MetricsSnapshot } from '#application/metrics/live.js';
import type { EventStore } from '#application/shared/eventStore.js';

export type HttpObservation = { method: string; route: string; status: number; durationSeconds: number };

export type Prometheus = {
  registry: Registry;
  /** pass as createHttpApp's onRequestFinished */
  observeHttp: (info: HttpObservation) => void;
  /** the same store, with append() timed into chatbot_event_store_append_seconds */
  instrumentStore: (store: EventStore) => EventStore;
};

export type PrometheusOptions = {
  feed: { current: () => MetricsSnapshot };
  registry?: Registry;
  /** prom-client's process metrics (cpu, memory, event loop lag, handles); default true */
  defaultMetrics?: boolean;
};

const QUANTILES = [
  ['0.5', 'p50'],
  ['0.95', 'p95'],
  ['0.99', 'p99'],
] as const;
const CIRCUIT_STATES = ['closed', 'open', 'half_open'] as const;
// Reused by every gauge of one scrape: one snapshot per scrape, and the series agree with each other.
const SNAPSHOT_REUSE_MS = 250;

export const createPrometheus = (options: PrometheusOptions): Prometheus => {
  const registry = options.registry ?? new Registry();
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  const registers = [registry];

  let cached: { at: number; snapshot: MetricsSnapshot } | null = null;
  const snapshot = (): MetricsSnapshot => {
    const now = Date.now();
    if (cached === null || now - cached.at > SNAPSHOT_REUSE_MS) cached = { at: now, snapshot: options.feed.current() };
    return cached.snapshot;
  };

  /** A gauge filled from the live snapshot at scrape time; label sets that disappeared are dropped. */
  const gauge = <L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
    fill: (set: (labels: Record<L, string>, value: number) => void, s: MetricsSnapshot) => void,
  ) =>
    new Gauge<L>({
      name,
      help,
      labelNames,
      registers,
      collect() {
        this.reset();
        fill(
          (labels, value) =>
            labelNames.length === 0 ? this.set(value) : this.set(labels as Partial<Record<L, string>>, value),
          snapshot(),
        );
      },
    });
  const scalar = (name: string, help: string, value: (s: MetricsSnapshot) => number) =>
    gauge(name, help, [], (set, s) => set({}, value(s)));

  scalar(
    'chatbot_messages_in_per_second',
    'Inbound WhatsApp messages (MessageReceived) per second, averaged over the last 10 s.',
    (s) => s.messages.inPerSecond,
  );
  scalar(
    'chatbot_messages_out_per_second',
    'Outbound WhatsApp messages sent (MessageSent) per second, averaged over the last 10 s.',
    (s) => s.messages.outPerSecond,
  );
  scalar(
    'chatbot_outbound_queue_depth',
    'Outbound messages queued and neither sent nor failed for good.',
    (s) => s.messages.queueDepth,
  );
  scalar(
    'chatbot_outbound_queue_oldest_age_seconds',
    'Age of the oldest queued outbound message (0 when the queue is empty).',
    (s) => s.messages.oldestQueuedAgeSeconds,
  );
  gauge('chatbot_llm_calls', 'LLM calls in the last 60 s, per provider.', ['provider'], (set, s) =>
    s.llm.forEach((p) => set({ provider: p.provider }, p.calls)),
  );
  gauge(
    'chatbot_llm_error_rate',
    'Failed / all LLM calls in the last 60 s, per provider (0 without calls).',
    ['provider'],
    (set, s) => s.llm.forEach((p) => set({ provider: p.provider }, p.errorRate)),
  );
  gauge(
    'chatbot_llm_latency_ms',
    'Latency percentiles of the successful LLM calls in the last 60 s, ms.',
    ['provider', 'quantile'],
    (set, s) => {
      for (const p of s.llm) {
        const latency = p.latencyMs;
        if (latency) for (const [quantile, key] of QUANTILES) set({ provider: p.provider, quantile }, latency[key]);
      }
    },
  );
  gauge(
    'chatbot_llm_circuit_state',
    'Circuit breaker state per LLM provider: 1 for the current state, 0 for the others.',
    ['provider', 'state'],
    (set, s) => {
      for (const p of s.llm)
        for (const state of CIRCUIT_STATES) set({ provider: p.provider, state }, p.circuit === state ? 1 : 0);
    },
  );
  scalar(
    'chatbot_login_failures_last_minute',
    'Failed logins (LoginFailed) in the last 60 s.',
    (s) => s.security.loginFailuresLastMinute,
  );
  scalar(
    'chatbot_lockouts_last_minute',
    'Account lockouts (AccountLocked) in the last 60 s.',
    (s) => s.security.lockoutsLastMinute,
  );
  scalar('chatbot_locked_accounts', 'Accounts locked right now.', (s) => s.security.lockedAccounts);
  scalar(
    'chatbot_rate_limited_last_minute',
    'Clients refused by a rate limit (sampled RateLimited events) in the last 60 s.',
    (s) => s.security.rateLimitedLastMinute,
  );
  gauge(
    'chatbot_projection_lag_events',
    'Events a projection has still to apply (counted up to a cap).',
    ['projection'],
    (set, s) => s.projections.forEach((p) => set({ projection: p.name }, p.lagEvents)),
  );
  gauge(
    'chatbot_projection_lag_ms',
    'Age of the oldest event a projection has still to apply, ms (0 when caught up).',
    ['projection'],
    (set, s) => s.projections.forEach((p) => set({ projection: p.name }, p.lagMs)),
  );
  gauge(
    'chatbot_process_up',
    '1 when at least one instance of the process is running, per the process-control events.',
    ['process'],
    (set, s) => {
      const up = new Map<string, number>();
      for (const p of s.processes) up.set(p.name, Math.max(up.get(p.name) ?? 0, p.state === 'running' ? 1 : 0));
      for (const [process, value] of up) set({ process }, value);
    },
  );
  scalar(
    'chatbot_whatsapp_connected_sessions',
    'WhatsApp sessions connected right now.',
    (s) => s.whatsapp.connectedSessions,
  );
  scalar(
    'chatbot_event_position',
    'Global position of the newest event the live metrics have folded.',
    (s) => s.position,
  );

  const httpDuration = new Histogram<'method' | 'route' | 'status'>({
    name: 'chatbot_http_request_duration_seconds',
    help: 'HTTP request duration by method, matched route pattern and status.',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers,
  });
  const appendSeconds = new Histogram<'result'>({
    name: 'chatbot_event_store_append_seconds',
    help: 'Event store append latency; result is ok, conflict (expected revision or duplicate id) or error.',
    labelNames: ['result'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers,
  });
  for (const result of ['ok', 'conflict', 'error']) appendSeconds.zero({ result });

  return {
    registry,
    observeHttp: ({ method, route, status, durationSeconds }) =>
      httpDuration.observe({ method, route, status: String(status) }, durationSeconds),
    instrumentStore: (store) => instrumented(store, appendSeconds),
  };
};

const isConflict = (error: unknown): boolean => {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'wrong_expected_revision' || code === 'duplicate_event_id';
};

const instrumented = (store: EventStore, appendSeconds: Histogram<'result'>): EventStore => ({
  get kind() {
    return store.kind;
  },
  append: async (streamId, events, options) => {
    const end = appendSeconds.startTimer();
    try {
      const result = await store.append(streamId, events, options);
      end({ result: 'ok' });
      return result;
    } catch (error) {
      end({ result: isConflict(error) ? 'conflict' : 'error' });
      throw error;
    }
  },
  readStream: (streamId, options) => store.readStream(streamId, options),
  readAll: (options) => store.readAll(options),
  subscribeToAll: (options) => store.subscribeToAll(options),
  headPosition: () => store.headPosition(),
  ping: () => store.ping(),
  close: () => store.close(),
});
