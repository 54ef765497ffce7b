import type { Observable } from 'rxjs';

/**
 * What the live dashboard streams: a metrics snapshot every second and the events as they happen.
 * Produced by the metrics model (projections/metrics/model.ts, a pure fold) and the live feed
 * (projections/metrics/liveFeed.ts) from the event store subscription, fanned out across app
 * processes via Redis pub/sub, consumed by the WebSocket server (interfaces/ws/) and the Prometheus
 * exporter (infrastructure/metrics/prometheus.ts). The zod schemas of the wire messages live in
 * interfaces/ws/messages.ts and must match these types.
 */
export type Percentiles = { p50: number; p95: number; p99: number };

export type ProviderMetrics = {
  provider: string;
  /** calls in the last 60 s (succeeded + failed) */
  calls: number;
  /** failed / calls in the last 60 s, 4 decimals (0 when no calls); refused calls (open circuit) count as failed */
  errorRate: number;
  /** latency of the successful calls in the last 60 s, ms, nearest-rank percentiles (null when none) */
  latencyMs: Percentiles | null;
  circuit: 'closed' | 'open' | 'half_open';
};

export type LlmToday = {
  /** UTC day, YYYY-MM-DD */
  day: string;
  /** provider calls (succeeded + failed) */
  calls: number;
  failed: number;
  /** FallbackUsed: a switch to the next provider, or to the fallback text */
  fallbacks: number;
  tokensIn: number;
  tokensOut: number;
  /** estimated, USD, from the price table setting */
  costUsd: number;
};

export type MetricsSnapshot = {
  /** ISO-8601 time the snapshot was taken */
  at: string;
  /** global position of the newest event folded into it */
  position: number;
  messages: {
    /** MessageReceived / MessageSent per second, averaged over the last 10 s (one-second buckets) */
    inPerSecond: number;
    outPerSecond: number;
    /** queued and neither sent nor failed for good (MessageDeliveryFailed with willRetry keeps it queued) */
    queueDepth: number;
    /** age of the oldest queued message, seconds (0 when empty) */
    oldestQueuedAgeSeconds: number;
  };
  llm: ProviderMetrics[];
  /** the LLM chain's UTC day so far (LlmCallSucceeded/Failed, FallbackUsed); sent by every server of this version */
  llmToday?: LlmToday;
  security: {
    /** LoginFailed in the last 60 s */
    loginFailuresLastMinute: number;
    /** AccountLocked in the last 60 s */
    lockoutsLastMinute: number;
    /** accounts locked right now */
    lockedAccounts: number;
    /** RateLimited events in the last 60 s */
    rateLimitedLastMinute: number;
  };
  /** cluster-wide, from projectionStatus(); lagMs is the age of the oldest unapplied matching event */
  projections: Array<{ name: string; position: number; lagEvents: number; lagMs: number; lastError: string | null }>;
  /** one entry per process instance (sorted by name, instance); 'unknown': an expected process with no event yet */
  processes: Array<{
    name: string;
    state: 'running' | 'stopped' | 'crashed' | 'unknown';
    since: string | null;
    instance: string | null;
  }>;
  /** WhatsAppConnected not followed by Disconnected/LoggedOut nor by its instance stopping */
  whatsapp: { connectedSessions: number };
};

/** One event as the live feed shows it: no event data that could hold secrets, only its shape. */
export type LiveEvent = {
  position: number;
  type: string;
  streamId: string;
  occurredAt: string;
  correlationId: string;
  actor: string;
};

export type LiveFeed = {
  /** a snapshot every interval (1 s); replays the latest to a new subscriber */
  snapshots$: Observable<MetricsSnapshot>;
  /** every event appended after the feed started (all types, each once, in position order); no replay */
  events$: Observable<LiveEvent>;
};
