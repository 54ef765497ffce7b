// The wire contract of GET /ws/metrics (docs/websocket.md): every message either side may send, as zod
// schemas, and the close codes. The server validates what clients send; tests validate what the server sends.
import { z } from 'zod';
import type { LiveEvent, MetricsSnapshot } from '#application/metrics/live.js';

/** A ws token is a few hundred bytes; this bound stays well inside the default frame bound (maxPayload 4 KiB). */
export const MAX_TOKEN_LENGTH = 2048;

// ---------- client -> server ----------

/** The first and only message a client sends: the single-use token from POST /api/auth/ws-token. */
export const AuthMessage = z.strictObject({ type: z.literal('auth'), token: z.string().min(1).max(MAX_TOKEN_LENGTH) });
export type AuthMessage = z.infer<typeof AuthMessage>;

export const ClientMessage = z.discriminatedUnion('type', [AuthMessage]);
export type ClientMessage = z.infer<typeof ClientMessage>;

// ---------- server -> client ----------

const count = z.number().int().nonnegative();
const nonNegative = z.number().nonnegative();
const isoTime = z.iso.datetime({ offset: true });
const percentiles = z.strictObject({ p50: nonNegative, p95: nonNegative, p99: nonNegative });

export const MetricsSnapshotSchema = z.strictObject({
  at: isoTime,
  position: count,
  messages: z.strictObject({
    inPerSecond: nonNegative,
    outPerSecond: nonNegative,
    queueDepth: count,
    oldestQueuedAgeSeconds: nonNegative,
  }),
  llm: z.array(
    z.strictObject({
      provider: z.string(),
      calls: count,
      errorRate: z.number().min(0).max(1),
      latencyMs: percentiles.nullable(),
      circuit: z.enum(['closed', 'open', 'half_open']),
    }),
  ),
  llmToday: z
    .strictObject({
      day: z.iso.date(),
      calls: count,
      failed: count,
      fallbacks: count,
      tokensIn: count,
      tokensOut: count,
      costUsd: nonNegative,
    })
    .optional(),
  security: z.strictObject({
    loginFailuresLastMinute: count,
    lockoutsLastMinute: count,
    lockedAccounts: count,
    rateLimitedLastMinute: count,
  }),
  projections: z.array(
    z.strictObject({
      name: z.string(),
      position: count,
      lagEvents: count,
      lagMs: nonNegative,
      lastError: z.string().nullable(),
    }),
  ),
  processes: z.array(
    z.strictObject({
      name: z.string(),
      state: z.enum(['running', 'stopped', 'crashed', 'unknown']),
      since: isoTime.nullable(),
      instance: z.string().nullable(),
    }),
  ),
  whatsapp: z.strictObject({ connectedSessions: count }),
});

/** Strict on purpose: a live event that grew a `data` field would leak event payloads to every viewer. */
export const LiveEventSchema = z.strictObject({
  position: count,
  type: z.string().min(1),
  streamId: z.string().min(1),
  occurredAt: isoTime,
  correlationId: z.string(),
  actor: z.string(),
});

// The schemas and the application types must describe the same thing; this fails to compile otherwise.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const _schemasMatchTypes: [
  Same<z.infer<typeof MetricsSnapshotSchema>, MetricsSnapshot>,
  Same<z.infer<typeof LiveEventSchema>, LiveEvent>,
] = [true, true];

export const AuthOkMessage = z.strictObject({ type: z.literal('auth_ok') });
export const SnapshotMessage = z.strictObject({ type: z.literal('snapshot'), data: MetricsSnapshotSchema });
export const EventMessage = z.strictObject({ type: z.literal('event'), data: LiveEventSchema });
/** Sent right before a rejection close: the same `code` as the close reason, and a sentence for people. */
export const ErrorMessage = z.strictObject({ type: z.literal('error'), code: z.string(), message: z.string() });
/** Sent before the server itself ends an authenticated connection (shutdown, slow consumer). */
export const ClosingMessage = z.strictObject({
  type: z.literal('closing'),
  reason: z.enum(['server_shutdown', 'slow_consumer', 'session_ended']),
  closeCode: z.number().int(),
  message: z.string(),
});

export const ServerMessage = z.discriminatedUnion('type', [
  AuthOkMessage,
  SnapshotMessage,
  EventMessage,
  ErrorMessage,
  ClosingMessage,
]);
export type ServerMessage = z.infer<typeof ServerMessage>;

// ---------- close codes ----------

/**
 * Close codes (the 4000-range codes mirror the HTTP statuses they resemble). The close reason text names the case
 * (`token_expired`, `auth_timeout`...), so one code can cover several cases and still tell them apart.
 */
export const CloseCode = {
  /** server stopping (reason server_shutdown) */
  goingAway: 1001,
  /** a frame over maxPayload; sent by the ws library itself */
  messageTooBig: 1009,
  /** an unexpected server error while authenticating */
  internalError: 1011,
  /** the client does not read fast enough (reason slow_consumer) */
  tryAgainLater: 1013,
  /** malformed_message, token_in_query, unexpected_message */
  badRequest: 4400,
  /**
   * token_* (missing, malformed, expired, invalid_signature, wrong_type, already_used, revoked, unknown, invalid),
   * and session_ended: the session of an open connection ended (logout, reset, role change, disable, reuse)
   */
  unauthorized: 4401,
  /** token_wrong_scope */
  forbidden: 4403,
  /** auth_timeout: no auth message in time */
  authTimeout: 4408,
  /** wrong_expected_revision: the token's stream kept changing under concurrent use; retry (any other conflict kind too) */
  conflict: 4409,
  /** too_many_connections_user, too_many_connections_ip, too_many_connections */
  tooManyConnections: 4429,
} as const;
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];
