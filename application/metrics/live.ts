import type { Observable } from 'rxjs';

/**
 * What the live dashboard streams: a metrics snapshot every second and the events as they happen.
 * Produced by the metrics model (application/metrics/, projections/metrics/) from the event store
 * subscription, fanned out across app processes via Redis pub/sub, consumed by the WebSocket server
 * (interfaces/ws/) and the Prometheus exporter. The zod schemas of the wire messages live in
 * interfaces/ws/messages.ts and must match these types.
 */
export type Percentiles = { p50: number; p95: number; p99: number };

export type ProviderMetrics = {
  provider: string;
  /** calls in the last 60 s */
  calls: number;
  /** failed / calls in the last 60 s (0 when no calls) */
  errorRate: number;
  /** latency of the calls in the last 60 s, ms (null when no calls) */
  latencyMs: Percentiles | null;
  circuit: 'closed' | 'open' | 'half_open';
};

export type MetricsSnapshot = {
  /** ISO-8601 time the snapshot was taken */
  at: string;
  /** global position of the newest event folded into it */
  position: number;
  messages: {
    /** per second, averaged over the last 10 s */
    inPerSecond: number;
    outPerSecond: number;
    /** queued and neither sent nor failed for good */
    queueDepth: number;
    /** age of the oldest queued message, seconds (0 when empty) */
    oldestQueuedAgeSeconds: number;
  };
  llm: ProviderMetrics[];
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
  projections: Array<{ name: string; position: number; lagEvents: number; lagMs: number; lastError: string | null }>;
  processes: Array<{ name: string; state: 'running' | 'stopped' | 'crashed' | 'unknown'; since: string | null; instance: string | null }>;
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
  snapshots$: Observable<MetricsSnapshot>;
  events$: Observable<LiveEvent>;
};
