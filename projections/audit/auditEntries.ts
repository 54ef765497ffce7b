import type { RecordedEvent } from '#application/shared/eventStore.js';
import { hasTypeIn } from '#application/shared/eventTypes.js';
import type { AppEvent, AppEventType, EventOfType } from '#domain/events.js';
import { PROCESS_STREAM_PREFIX } from '#domain/runtime/events.js';
import { SECRET_STREAM_PREFIX } from '#domain/secrets/events.js';
import type { JsonValue } from './hashChain.js';

/**
 * Which events the audit trail records and how each one reads as "who did what to what, from where,
 * with what outcome". Pure and deterministic: the projection and `verifyAuditTrail` both derive rows
 * from it, so ANY change here must bump the projection's version (the trail is then rebuilt, and its
 * chain recomputed) or verification will report the old rows as diverging.
 *
 * Secrets never reach the trail: only the fields named below are copied (no password hashes, no
 * ciphertext, no tokens or token ids), free text is scrubbed of credential shapes, and any detail
 * whose name looks like a credential is dropped even if a later event version adds one.
 */

export type AuditOutcome = 'success' | 'failure' | 'denied';
export const AUDIT_OUTCOMES: readonly AuditOutcome[] = ['success', 'failure', 'denied'];

/** An entry as stored and hashed, minus its place in the chain (seq is assigned by the projection). */
export type AuditFacts = {
  event_id: string;
  position: number;
  /** ISO-8601 UTC with milliseconds, as timestamptz(3) gives it back */
  occurred_at: string;
  actor: string;
  action: string;
  target: string | null;
  ip: string | null;
  outcome: AuditOutcome;
  correlation_id: string | null;
  details: Record<string, JsonValue>;
};

/** Exactly the columns the hash covers. */
export type AuditContent = AuditFacts & { seq: number };
export const CONTENT_COLUMNS = [
  'seq',
  'event_id',
  'position',
  'occurred_at',
  'actor',
  'action',
  'target',
  'ip',
  'outcome',
  'correlation_id',
  'details',
] as const satisfies readonly (keyof AuditContent)[];

type Details = Record<string, JsonValue | undefined>;
type Recorded<T extends AppEventType> = RecordedEvent<EventOfType<T>>;
/** How one event type reads in the trail; `data` is the catalogue's type for it. */
type Spec<T extends AppEventType> = {
  action: string;
  target: (data: EventOfType<T>['data'], event: Recorded<T>) => string | null;
  outcome?: (data: EventOfType<T>['data']) => AuditOutcome;
  details?: (data: EventOfType<T>['data']) => Details;
  /** false: not an audit-worthy occurrence of this type (e.g. a message the bot queued on its own) */
  include?: (event: Recorded<T>) => boolean;
};
/**
 * Every type of the catalogue, audited (a spec) or deliberately not (null): a new event type does not
 * compile until someone decides whether the trail records it.
 */
type Specs = { readonly [T in AppEventType]: Spec<T> | null };

// ---------- safe field readers ----------

const MAX_TEXT = 200;
const MAX_ID = 256;

// A frozen copy, not infrastructure/logging's scrubber: what is redacted is part of the hashed content,
// so it may change only together with this projection's version.
const CREDENTIAL_SHAPES: readonly (readonly [RegExp, string])[] = [
  [/eyJ[A-Za-z0-9_-]*\.eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*/g, '[REDACTED]'],
  [/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}/gi, '$1 [REDACTED]'],
  [/\bsk-[A-Za-z0-9_-]{16,}/g, '[REDACTED]'],
  [/gAAAAA[A-Za-z0-9_-]{20,}=*/g, '[REDACTED]'],
  [/(\b[a-z][a-z0-9+.-]*:\/\/[^\s:/@]*:)[^\s/@]+@/gi, '$1[REDACTED]@'],
];
/** Detail names never copied, whatever an event carries. */
const SENSITIVE_NAME =
  /pass(word|wd|phrase)|hash|cipher|secret|token|jwt|cookie|authori[sz]ation|api[_-]?key|credential|private|fernet/i;

/**
 * PostgreSQL text and jsonb refuse NUL, and lone surrogates come back as U+FFFD: either would make a
 * correct row differ from its recomputation, so they are normalised before hashing.
 */
const clean = (text: string, max: number): string =>
  text
    .replaceAll('\u0000', '')
    .replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD')
    .slice(0, max)
    // slicing may split a surrogate pair
    .replace(/[\uD800-\uDBFF]$/, '');

const scrub = (text: string): string =>
  CREDENTIAL_SHAPES.reduce((result, [shape, replacement]) => result.replace(shape, replacement), text);

// Event data is typed by the catalogue, but an older or newer version of an event may lack a field or
// carry another type: every reader takes `unknown` and keeps only what is safe to hash and show.
const id = (value: unknown): string | null => {
  if (typeof value === 'string' && value !== '') return clean(value, MAX_ID);
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return null;
};
const text = (value: unknown): string | undefined =>
  typeof value === 'string' ? clean(scrub(value), MAX_TEXT) : undefined;
const int = (value: unknown): number | undefined =>
  typeof value === 'number' && Number.isSafeInteger(value) ? value : undefined;
const num = (value: unknown): number | undefined =>
  typeof value === 'number' && Number.isFinite(value) ? value : undefined;
/** null is meaningful for these (lockedUntil: null means "not locked") */
const textOrNull = (value: unknown): string | null | undefined => (value === null ? null : text(value));

/** `process-worker-web` -> `worker-web`: the target when the event data does not name it. */
const streamSuffix = (prefix: string, event: RecordedEvent<AppEvent>): string | null =>
  event.streamId.startsWith(prefix) && event.streamId.length > prefix.length
    ? clean(event.streamId.slice(prefix.length), MAX_ID)
    : null;

/** Accounts are user ids; these name the machine. A manual send has a user as its actor. */
const NON_USER_ACTORS = new Set(['system', 'anonymous', 'bot', 'scheduler', 'worker', 'worker-web', 'llm', 'unknown']);
const isUserActor = (actor: string): boolean => !NON_USER_ACTORS.has(actor) && !actor.startsWith('system');

const SESSION_PREFIX = 'session-';

// ---------- the catalogue ----------

const account = (d: { accountId: string }): string | null => id(d.accountId);
const session = (d: { sessionId: string }, e: RecordedEvent<AppEvent>): string | null =>
  id(d.sessionId) ?? streamSuffix(SESSION_PREFIX, e);
const processName = (d: { name: string }, e: RecordedEvent<AppEvent>): string | null =>
  id(d.name) ?? streamSuffix(PROCESS_STREAM_PREFIX, e);
const secretName = (d: { name: string }, e: RecordedEvent<AppEvent>): string | null =>
  id(d.name) ?? streamSuffix(SECRET_STREAM_PREFIX, e);
const by = (d: { by: string }): Details => ({ by: text(d.by) });
const runtimeRequest = (d: { requestId: string; scope: string }): Details => ({
  requestId: text(d.requestId),
  scope: text(d.scope),
});
const processDetails = (d: { instance: string; role: string }): Details => ({
  instance: text(d.instance),
  role: text(d.role),
});

const SPECS: Specs = {
  // identity: accounts
  AccountCreated: {
    action: 'user.created',
    target: account,
    details: (d) => ({ username: text(d.username), role: text(d.role), createdBy: text(d.createdBy) }),
  },
  PasswordChanged: {
    action: 'user.password_changed',
    target: account,
    details: (d) => ({ changedBy: text(d.changedBy) }),
  },
  RoleChanged: {
    action: 'user.role_changed',
    target: account,
    details: (d) => ({ role: text(d.role), previousRole: text(d.previousRole), changedBy: text(d.changedBy) }),
  },
  AccountDisabled: { action: 'user.disabled', target: account, details: by },
  AccountEnabled: { action: 'user.enabled', target: account, details: by },
  // identity: logins and lockouts
  LoginSucceeded: {
    action: 'login.succeeded',
    target: account,
    details: (d) => ({ username: text(d.username), sessionId: text(d.sessionId) }),
  },
  LoginFailed: {
    action: 'login.failed',
    target: (d) => account(d) ?? id(d.username),
    // refused without checking the password: the door was closed, not the key wrong
    outcome: (d) => (d.reason === 'account_locked' || d.reason === 'account_disabled' ? 'denied' : 'failure'),
    details: (d) => ({
      username: text(d.username),
      reason: text(d.reason),
      failureCount: int(d.failureCount),
      lockedUntil: textOrNull(d.lockedUntil),
    }),
  },
  AccountLocked: {
    action: 'account.locked',
    target: account,
    outcome: () => 'denied',
    details: (d) => ({ lockedUntil: text(d.until), lockoutCount: int(d.lockoutCount), failureCount: int(d.failures) }),
  },
  AccountUnlocked: { action: 'account.unlocked', target: account, details: by },
  // one account + address pair locked (the low threshold), and lifted
  SourceLocked: {
    action: 'login.source_locked',
    target: account,
    outcome: () => 'denied',
    details: (d) => ({
      username: text(d.username),
      source: text(d.source),
      lockedUntil: text(d.until),
      lockoutCount: int(d.lockoutCount),
      failureCount: int(d.failures),
    }),
  },
  SourceUnlocked: {
    action: 'login.source_unlocked',
    target: account,
    details: (d) => ({ source: text(d.source), by: text(d.by) }),
  },
  // identity: sessions and tokens (token ids stay out: they are handles to credentials)
  SessionStarted: {
    action: 'session.started',
    target: session,
    details: (d) => ({ accountId: text(d.accountId), expiresAt: text(d.expiresAt) }),
  },
  RefreshTokenRotated: {
    action: 'token.refreshed',
    target: session,
    details: (d) => ({ expiresAt: text(d.expiresAt) }),
  },
  SessionRevoked: {
    action: 'session.revoked',
    target: session,
    details: (d) => ({ reason: text(d.reason), by: text(d.by) }),
  },
  AccessTokenIssued: {
    action: 'token.issued',
    target: (d, e) => account(d) ?? session(d, e),
    details: (d) => ({ kind: 'access', sessionId: text(d.sessionId), expiresAt: text(d.expiresAt) }),
  },
  LoggedOut: { action: 'logout', target: session, details: (d) => ({ accountId: text(d.accountId) }) },
  WsTokenIssued: {
    action: 'ws_token.issued',
    target: account,
    details: (d) => ({ scope: text(d.scope), expiresAt: text(d.expiresAt) }),
  },
  WsTokenConsumed: {
    action: 'ws_token.consumed',
    // the consumer is the actor; the token's id stays out
    target: (_d, e) => (isUserActor(e.metadata.actor) ? clean(e.metadata.actor, MAX_ID) : null),
    details: () => ({}),
  },
  RateLimited: {
    action: 'rate.limited',
    target: (d) => id(d.username) ?? id(d.route),
    outcome: () => 'denied',
    details: (d) => ({
      route: text(d.route),
      username: text(d.username),
      limit: int(d.limit),
      windowSeconds: num(d.windowSeconds),
    }),
  },
  // secrets (never the value: only its kind and which key encrypted it)
  SecretStored: {
    action: 'secret.stored',
    target: secretName,
    details: (d) => ({ kind: text(d.kind), keyFingerprint: text(d.keyFingerprint) }),
  },
  SecretRotated: {
    action: 'secret.rotated',
    target: secretName,
    details: (d) => ({ keyFingerprint: text(d.keyFingerprint) }),
  },
  SecretDeleted: { action: 'secret.deleted', target: secretName },
  // runtime: process control
  ProcessStarted: { action: 'process.started', target: processName, details: processDetails },
  ProcessStopped: { action: 'process.stopped', target: processName, details: processDetails },
  ProcessCrashed: {
    action: 'process.crashed',
    target: processName,
    outcome: () => 'failure',
    details: (d) => ({ instance: text(d.instance), reason: text(d.reason) }),
  },
  // runtime control of a number: the admin's request, then what the worker did (or that nobody did)
  RuntimeStartRequested: { action: 'runtime.start_requested', target: (d) => id(d.numberId), details: runtimeRequest },
  RuntimeStopRequested: { action: 'runtime.stop_requested', target: (d) => id(d.numberId), details: runtimeRequest },
  RuntimeRestartRequested: {
    action: 'runtime.restart_requested',
    target: (d) => id(d.numberId),
    details: runtimeRequest,
  },
  RuntimeLogoutRequested: {
    action: 'runtime.logout_requested',
    target: (d) => id(d.numberId),
    details: runtimeRequest,
  },
  RuntimeRequestCompleted: {
    action: 'runtime.completed',
    target: (d) => id(d.numberId),
    details: (d) => ({
      requestId: text(d.requestId),
      runtimeAction: text(d.action),
      workerId: text(d.workerId),
      result: text(d.outcome),
    }),
  },
  RuntimeRequestFailed: {
    action: 'runtime.failed',
    target: (d) => id(d.numberId),
    outcome: () => 'failure',
    details: (d) => ({
      requestId: text(d.requestId),
      runtimeAction: text(d.action),
      workerId: text(d.workerId),
      error: text(d.error),
    }),
  },
  RuntimeRequestTimedOut: {
    action: 'runtime.timed_out',
    target: (d) => id(d.numberId),
    outcome: () => 'failure',
    details: (d) => ({
      requestId: text(d.requestId),
      runtimeAction: text(d.action),
      timeoutSeconds: int(d.timeoutSeconds),
    }),
  },
  // messaging: numbers, human takeover, manual sends and dead-letter decisions (people's actions);
  // never a text. Inbound messages, the bot's replies and the worker's attempts are not admin actions.
  NumberAdded: {
    action: 'number.added',
    target: (d) => id(d.numberId),
    details: (d) => ({ name: text(d.name), kind: text(d.kind), by: text(d.by) }),
  },
  NumberDisabled: { action: 'number.disabled', target: (d) => id(d.numberId), details: by },
  NumberEnabled: { action: 'number.enabled', target: (d) => id(d.numberId), details: by },
  NumberRemoved: { action: 'number.removed', target: (d) => id(d.numberId), details: by },
  ConversationPaused: {
    action: 'conversation.paused',
    target: (d) => id(d.chatId),
    details: (d) => ({ numberId: text(d.numberId), by: text(d.by) }),
  },
  ConversationResumed: {
    action: 'conversation.resumed',
    target: (d) => id(d.chatId),
    details: (d) => ({ numberId: text(d.numberId), by: text(d.by) }),
  },
  MessageQueued: {
    action: 'message.queued',
    // the chat, never the phone number: the trail is hash-chained and cannot forget a contact
    target: (d) => id(d.chatId),
    include: (e) => e.data.source === 'manual',
    details: (d) => ({ messageId: text(d.messageId), numberId: text(d.numberId), source: text(d.source) }),
  },
  MessageRequeued: {
    action: 'message.requeued',
    target: (d) => id(d.messageId),
    details: (d) => ({ numberId: text(d.numberId), chatId: text(d.chatId), by: text(d.by) }),
  },
  MessageDropped: {
    action: 'message.dropped',
    target: (d) => id(d.messageId),
    details: (d) => ({ numberId: text(d.numberId), chatId: text(d.chatId), by: text(d.by) }),
  },
  MessageReceived: null,
  MessageSendAttempted: null,
  MessageSent: null,
  MessageSendFailed: null,
  MessageDeadLettered: null,
  MessageStatusUpdated: null,
  // whatsapp web: the connection's changes; never a QR's content nor a pairing code (either pairs a phone)
  WhatsAppConnecting: null,
  WhatsAppQrIssued: {
    action: 'whatsapp.qr_issued',
    target: (d) => id(d.numberId),
    details: (d) => ({ attempt: int(d.attempt), maxAttempts: int(d.maxAttempts), expiresAt: text(d.expiresAt) }),
  },
  WhatsAppPairingCodeRequested: {
    action: 'whatsapp.pairing_code_requested',
    target: (d) => id(d.numberId),
    details: (d) => ({ requestId: text(d.requestId), by: text(d.by) }),
  },
  WhatsAppPairingCodeIssued: {
    action: 'whatsapp.pairing_code_issued',
    target: (d) => id(d.numberId),
    details: (d) => ({ requestId: textOrNull(d.requestId), expiresAt: text(d.expiresAt) }),
  },
  WhatsAppPairingExpired: {
    action: 'whatsapp.pairing_expired',
    target: (d) => id(d.numberId),
    outcome: () => 'failure',
    details: (d) => ({ attempts: int(d.attempts), maxAttempts: int(d.maxAttempts), reason: text(d.reason) }),
  },
  WhatsAppConnected: {
    action: 'whatsapp.connected',
    target: (d) => id(d.numberId),
    details: (d) => ({ newLogin: typeof d.newLogin === 'boolean' ? d.newLogin : undefined, worker: text(d.worker) }),
  },
  WhatsAppDisconnected: {
    action: 'whatsapp.disconnected',
    target: (d) => id(d.numberId),
    outcome: (d) => (d.next === 'closed' ? 'success' : 'failure'),
    details: (d) => ({
      reason: text(d.reason),
      statusCode: int(d.statusCode),
      next: text(d.next),
      retryInMs: int(d.retryInMs),
    }),
  },
  WhatsAppLoggedOut: {
    action: 'whatsapp.logged_out',
    target: (d) => id(d.numberId),
    details: (d) => ({ by: text(d.by), statusCode: int(d.statusCode) }),
  },
  // llm: the admin's levers are audited; calls and circuit changes are not admin actions
  LlmCallStarted: null,
  LlmCallSucceeded: null,
  LlmCallFailed: null,
  FallbackUsed: null,
  ProviderCircuitOpened: null,
  ProviderCircuitHalfOpened: null,
  ProviderCircuitClosed: null,
  ProviderForced: {
    action: 'llm.provider_forced',
    target: (d) => id(d.provider),
    details: (d) => ({
      minutes: int(d.minutes),
      until: text(d.until),
      previousProvider: textOrNull(d.previousProvider),
      by: text(d.by),
    }),
  },
  ProviderForceEnded: {
    action: 'llm.provider_force_ended',
    target: (d) => id(d.provider),
    details: (d) => ({ reason: text(d.reason), by: text(d.by) }),
  },
  // the names of what changed and the numbers (budgets: a detail named *token* would be dropped as a
  // credential); the prompt and fallback texts stay in the event
  LlmSettingsChanged: {
    action: 'llm.settings_changed',
    target: () => 'llm-settings',
    details: (d) => {
      const settings: Partial<Record<string, unknown>> =
        typeof d.settings === 'object' && d.settings !== null ? d.settings : {};
      const changed: unknown = d.changed;
      return {
        changed: Array.isArray(changed)
          ? changed
              .filter((k): k is string => typeof k === 'string')
              .map((k) => clean(k, 40))
              .join(',')
          : undefined,
        model: textOrNull(settings.model),
        temperature: num(settings.temperature),
        promptBudget: int(settings.maxPromptTokens),
        replyBudget: int(settings.maxReplyTokens),
        by: text(d.by),
      };
    },
  },
  // scheduling: creating and cancelling are a user's acts (recipient and text stay in the event);
  // firing is the scheduler's, and its MessageQueued (source scheduled) is not a user's send either
  MessageScheduled: {
    action: 'message.scheduled',
    target: (d) => id(d.scheduleId),
    details: (d) => ({ numberId: text(d.numberId), at: text(d.at), by: text(d.by) }),
  },
  ScheduledMessageCancelled: {
    action: 'message.schedule_cancelled',
    target: (d) => id(d.scheduleId),
    details: (d) => ({ numberId: text(d.numberId), by: text(d.by) }),
  },
  ScheduledMessageFired: null,
  ScheduledMessageFailed: null,
  // operations: an admin's rebuild of a read model
  ProjectionRebuildRequested: {
    action: 'projection.rebuild_requested',
    target: (d) => id(d.projection),
    details: (d) => ({ by: text(d.by) }),
  },
  // privacy: who forgot which chat (never the phone number: the chat id), and each retention run
  ContactForgotten: {
    action: 'contact.forgotten',
    target: (d) => id(d.chatId),
    details: (d) => ({ numberId: text(d.numberId), keysDestroyed: int(d.keysDestroyed), by: text(d.by) }),
  },
  // the one rewrite of the log: who encrypted the legacy plaintext in place, and what it touched
  LegacyPersonalDataEncrypted: {
    action: 'events.legacy_encrypted',
    target: () => 'event-store',
    details: (d) => ({
      eventsScanned: int(d.eventsScanned),
      eventsRewritten: int(d.eventsRewritten),
      fieldsEncrypted: int(d.fieldsEncrypted),
      fieldsShredded: int(d.fieldsShredded),
      eventsChangedMeanwhile: int(d.eventsChangedMeanwhile),
      keysDestroyedAgain: int(d.keysDestroyedAgain),
      by: text(d.by),
    }),
  },
  MessageContentExpired: {
    action: 'messages.content_expired',
    target: () => 'retention',
    details: (d) => ({
      before: text(d.before),
      retentionDays: int(d.retentionDays),
      keysDestroyed: int(d.keysDestroyed),
      by: text(d.by),
    }),
  },
};

/** Every event type the audit trail folds (the projection's `handles`). */
export const AUDIT_EVENT_TYPES: readonly AppEventType[] = Object.freeze(
  (Object.keys(SPECS) as AppEventType[]).filter((type) => SPECS[type] !== null),
);
const isAudited = hasTypeIn(AUDIT_EVENT_TYPES);
/** The one place the type of `event` picks its spec: TypeScript cannot pair them through an index. */
const specOf = <T extends AppEventType>(event: Recorded<T>): Spec<T> => SPECS[event.type] as Spec<T>;

const safeDetails = (details: Details): Record<string, JsonValue> => {
  const out: Record<string, JsonValue> = {};
  for (const [key, value] of Object.entries(details)) {
    if (value === undefined || (SENSITIVE_NAME.test(key) && key !== 'keyFingerprint')) continue;
    out[key] = value;
  }
  return out;
};

const MIN_TIME = Date.parse('1970-01-01T00:00:00.000Z');
const MAX_TIME = Date.parse('9999-12-31T23:59:59.999Z');
const ZONED = /(Z|[+-]\d{2}:?\d{2})$/i;
/** The envelope's occurredAt, normalised; the store's own timestamp when it is missing or unusable. */
const occurredAt = (event: RecordedEvent): string => {
  for (const candidate of [event.metadata?.occurredAt, event.recordedAt]) {
    // A time without a zone would parse in the local zone: the same event would hash differently per machine.
    const time = typeof candidate === 'string' && ZONED.test(candidate) ? Date.parse(candidate) : Number.NaN;
    if (Number.isFinite(time) && time >= MIN_TIME && time <= MAX_TIME) return new Date(time).toISOString();
  }
  return new Date(0).toISOString();
};

const metaText = (value: unknown, max: number): string | null =>
  typeof value === 'string' && value !== '' ? clean(value, max) : null;

/**
 * The audit entry an event reads as, or null when it is not one (a type outside the trail). Tolerates
 * missing and unexpected fields: older and newer event versions still produce an entry.
 */
export const auditFactsOf = (event: RecordedEvent): AuditFacts | null => {
  if (!isAudited(event)) return null;
  const spec = specOf(event);
  const data = (event.data !== null && typeof event.data === 'object' ? event.data : {}) as typeof event.data;
  const metadata = event.metadata ?? ({} as Partial<RecordedEvent['metadata']>);
  const safeEvent = { ...event, data, metadata } as typeof event;
  if (spec.include && !spec.include(safeEvent)) return null;
  return {
    event_id: event.id,
    position: event.position,
    occurred_at: occurredAt(safeEvent),
    actor: metaText(metadata.actor, MAX_ID) ?? 'unknown',
    action: spec.action,
    target: spec.target(data, safeEvent),
    // the request's address; login events also carry it in their data
    ip: metaText(metadata.ip, 100) ?? metaText('ip' in data ? data.ip : null, 100),
    outcome: spec.outcome?.(data) ?? 'success',
    correlation_id: metaText(metadata.correlationId, MAX_ID),
    details: safeDetails(spec.details?.(data) ?? {}),
  };
};

export const auditContentOf = (facts: AuditFacts, seq: number): AuditContent => ({ seq, ...facts });
