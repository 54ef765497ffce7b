import type { RecordedEvent } from '#application/shared/eventStore.js';
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

type Data = Readonly<Record<string, unknown>>;
type Details = Record<string, JsonValue | undefined>;
type Spec = {
  action: string;
  target: (data: Data, event: RecordedEvent) => string | null;
  outcome?: (data: Data) => AuditOutcome;
  details?: (data: Data) => Details;
  /** false: not an audit-worthy occurrence of this type (e.g. a message the bot queued itself) */
  include?: (event: RecordedEvent) => boolean;
};

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

const id = (data: Data, ...keys: string[]): string | null => {
  for (const key of keys) {
    const value = data[key];
    if (typeof value === 'string' && value !== '') return clean(value, MAX_ID);
    if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  }
  return null;
};
const text = (data: Data, key: string): string | undefined =>
  typeof data[key] === 'string' ? clean(scrub(data[key]), MAX_TEXT) : undefined;
const int = (data: Data, key: string): number | undefined =>
  typeof data[key] === 'number' && Number.isSafeInteger(data[key]) ? data[key] : undefined;
const num = (data: Data, key: string): number | undefined =>
  typeof data[key] === 'number' && Number.isFinite(data[key]) ? data[key] : undefined;
/** null is meaningful for these (lockedUntil: null means "not locked") */
const textOrNull = (data: Data, key: string): string | null | undefined =>
  data[key] === null ? null : text(data, key);
/** settings are not secrets, but a setting whose name looks like one keeps its value out */
const primitive = (data: Data, key: string, settingName: string | null): JsonValue | undefined => {
  if (settingName !== null && SENSITIVE_NAME.test(settingName)) return undefined;
  const value = data[key];
  if (value === null || typeof value === 'boolean') return value;
  return typeof value === 'string' ? text(data, key) : num(data, key);
};

/** `process-worker-web` -> `worker-web`: the target when the event data does not name it. */
const streamSuffix =
  (prefix: string) =>
  (_data: Data, event: RecordedEvent): string | null =>
    event.streamId.startsWith(prefix) && event.streamId.length > prefix.length
      ? clean(event.streamId.slice(prefix.length), MAX_ID)
      : null;
const or =
  (...targets: Array<(data: Data, event: RecordedEvent) => string | null>) =>
  (data: Data, event: RecordedEvent): string | null => {
    for (const target of targets) {
      const found = target(data, event);
      if (found !== null) return found;
    }
    return null;
  };
const field =
  (...keys: string[]) =>
  (data: Data): string | null =>
    id(data, ...keys);

/** Accounts are user ids; these name the machine. A manual send has a user as its actor. */
const NON_USER_ACTORS = new Set(['system', 'anonymous', 'bot', 'scheduler', 'worker', 'worker-web', 'llm', 'unknown']);
const isUserActor = (actor: string): boolean => !NON_USER_ACTORS.has(actor) && !actor.startsWith('system');

// ---------- the catalogue ----------

const account = field('accountId');
const session = or(field('sessionId'), streamSuffix('session-'));
const processName = or(field('name', 'process', 'processName', 'service'), streamSuffix('process-'));
const secretName = or(field('name', 'secretName'), streamSuffix('secret-'));
const by = (data: Data): Details => ({ by: text(data, 'by') });

const SPECS: Readonly<Record<string, Spec>> = {
  // identity: accounts
  AccountCreated: {
    action: 'user.created',
    target: account,
    details: (d) => ({ username: text(d, 'username'), role: text(d, 'role'), createdBy: text(d, 'createdBy') }),
  },
  PasswordChanged: {
    action: 'user.password_changed',
    target: account,
    details: (d) => ({ changedBy: text(d, 'changedBy') }),
  },
  RoleChanged: {
    action: 'user.role_changed',
    target: account,
    details: (d) => ({ role: text(d, 'role'), previousRole: text(d, 'previousRole'), changedBy: text(d, 'changedBy') }),
  },
  AccountDisabled: { action: 'user.disabled', target: account, details: by },
  AccountEnabled: { action: 'user.enabled', target: account, details: by },
  // identity: logins and lockouts
  LoginSucceeded: {
    action: 'login.succeeded',
    target: account,
    details: (d) => ({ username: text(d, 'username'), sessionId: text(d, 'sessionId') }),
  },
  LoginFailed: {
    action: 'login.failed',
    target: or(account, field('username')),
    // refused without checking the password: the door was closed, not the key wrong
    outcome: (d) => (d.reason === 'account_locked' || d.reason === 'account_disabled' ? 'denied' : 'failure'),
    details: (d) => ({
      username: text(d, 'username'),
      reason: text(d, 'reason'),
      failureCount: int(d, 'failureCount'),
      lockedUntil: textOrNull(d, 'lockedUntil'),
    }),
  },
  AccountLocked: {
    action: 'account.locked',
    target: account,
    outcome: () => 'denied',
    details: (d) => ({
      lockedUntil: text(d, 'until'),
      lockoutCount: int(d, 'lockoutCount'),
      failureCount: int(d, 'failures'),
    }),
  },
  AccountUnlocked: { action: 'account.unlocked', target: account, details: by },
  // identity: sessions and tokens (token ids stay out: they are handles to credentials)
  SessionStarted: {
    action: 'session.started',
    target: session,
    details: (d) => ({ accountId: text(d, 'accountId'), expiresAt: text(d, 'expiresAt') }),
  },
  RefreshTokenRotated: {
    action: 'token.refreshed',
    target: session,
    details: (d) => ({ expiresAt: text(d, 'expiresAt') }),
  },
  SessionRevoked: {
    action: 'session.revoked',
    target: session,
    details: (d) => ({ reason: text(d, 'reason'), by: text(d, 'by') }),
  },
  AccessTokenIssued: {
    action: 'token.issued',
    target: or(account, session),
    details: (d) => ({ kind: 'access', sessionId: text(d, 'sessionId'), expiresAt: text(d, 'expiresAt') }),
  },
  LoggedOut: { action: 'logout', target: session, details: (d) => ({ accountId: text(d, 'accountId') }) },
  WsTokenIssued: {
    action: 'ws_token.issued',
    target: account,
    details: (d) => ({ scope: text(d, 'scope'), expiresAt: text(d, 'expiresAt') }),
  },
  WsTokenConsumed: {
    action: 'ws_token.consumed',
    target: (d, e) => id(d, 'accountId') ?? (isUserActor(e.metadata.actor) ? clean(e.metadata.actor, MAX_ID) : null),
    details: (d) => ({ scope: text(d, 'scope') }),
  },
  RateLimited: {
    action: 'rate.limited',
    target: field('accountId', 'username', 'route', 'path', 'scope', 'limiter'),
    outcome: () => 'denied',
    details: (d) => ({
      scope: text(d, 'scope'),
      limiter: text(d, 'limiter'),
      route: text(d, 'route'),
      path: text(d, 'path'),
      username: text(d, 'username'),
      limit: int(d, 'limit'),
      windowSeconds: num(d, 'windowSeconds'),
      count: int(d, 'count'),
      retryAfterSeconds: num(d, 'retryAfterSeconds'),
      sampled: int(d, 'sampled'),
    }),
  },
  // secrets and settings (never the value: only its kind and which key encrypted it)
  SecretStored: {
    action: 'secret.stored',
    target: secretName,
    details: (d) => ({ kind: text(d, 'kind'), keyFingerprint: text(d, 'keyFingerprint') }),
  },
  SecretRotated: {
    action: 'secret.rotated',
    target: secretName,
    details: (d) => ({ keyFingerprint: text(d, 'keyFingerprint') }),
  },
  SecretDeleted: { action: 'secret.deleted', target: secretName },
  SettingChanged: {
    action: 'setting.changed',
    target: or(field('key', 'name', 'setting'), streamSuffix('setting-')),
    details: (d) => {
      const name = id(d, 'key', 'name', 'setting');
      return {
        value: primitive(d, 'value', name),
        previousValue: primitive(d, 'previousValue', name) ?? primitive(d, 'previous', name),
        changedBy: text(d, 'changedBy') ?? text(d, 'by'),
      };
    },
  },
  // runtime: process control
  ProcessStartRequested: {
    action: 'process.start_requested',
    target: processName,
    details: (d) => ({ reason: text(d, 'reason'), requestedBy: text(d, 'requestedBy') ?? text(d, 'by') }),
  },
  ProcessStopRequested: {
    action: 'process.stop_requested',
    target: processName,
    details: (d) => ({ reason: text(d, 'reason'), requestedBy: text(d, 'requestedBy') ?? text(d, 'by') }),
  },
  ProcessStarted: {
    action: 'process.started',
    target: processName,
    details: (d) => ({ pid: int(d, 'pid'), host: text(d, 'host'), instanceId: text(d, 'instanceId') }),
  },
  ProcessStopped: {
    action: 'process.stopped',
    target: processName,
    details: (d) => ({ reason: text(d, 'reason'), exitCode: int(d, 'exitCode'), pid: int(d, 'pid') }),
  },
  ProcessCrashed: {
    action: 'process.crashed',
    target: processName,
    outcome: () => 'failure',
    details: (d) => ({
      reason: text(d, 'reason'),
      error: text(d, 'error') ?? text(d, 'message'),
      errorKind: text(d, 'errorKind'),
      exitCode: int(d, 'exitCode'),
      signal: text(d, 'signal'),
      restarts: int(d, 'restarts'),
    }),
  },
  // conversations: manual sends only (the bot's own replies are not admin actions); never the text
  MessageQueued: {
    action: 'message.queued',
    target: or(field('to', 'jid', 'recipient', 'chatId', 'contact'), streamSuffix('chat-')),
    include: (e) =>
      e.data.source === 'manual' ||
      e.data.origin === 'manual' ||
      (e.data.source === undefined && e.data.origin === undefined && isUserActor(e.metadata.actor)),
    details: (d) => ({
      messageId: text(d, 'messageId'),
      channel: text(d, 'channel'),
      source: text(d, 'source') ?? text(d, 'origin'),
    }),
  },
  // llm
  ProviderForced: {
    action: 'llm.provider_forced',
    target: field('provider', 'providerId', 'name'),
    details: (d) => ({
      model: text(d, 'model'),
      until: textOrNull(d, 'until'),
      reason: text(d, 'reason'),
      previousProvider: text(d, 'previousProvider'),
      by: text(d, 'by') ?? text(d, 'forcedBy'),
    }),
  },
  ProviderForceEnded: {
    action: 'llm.provider_force_ended',
    target: field('provider'),
    details: (d) => ({ reason: text(d, 'reason'), by: text(d, 'by') }),
  },
  // the names of what changed and the numbers (budgets: a detail named *token* would be dropped as a
  // credential); the prompt and fallback texts stay in the event
  LlmSettingsChanged: {
    action: 'llm.settings_changed',
    target: () => 'llm-settings',
    details: (d) => {
      const settings = (typeof d.settings === 'object' && d.settings !== null ? d.settings : {}) as Data;
      return {
        changed: Array.isArray(d.changed)
          ? d.changed
              .filter((k): k is string => typeof k === 'string')
              .map((k) => clean(k, 40))
              .join(',')
          : undefined,
        model: textOrNull(settings, 'model'),
        temperature: num(settings, 'temperature'),
        promptBudget: int(settings, 'maxPromptTokens'),
        replyBudget: int(settings, 'maxReplyTokens'),
        by: text(d, 'by'),
      };
    },
  },
};

/** Every event type the audit trail folds (the projection's `handles`). */
export const AUDIT_EVENT_TYPES: readonly string[] = Object.freeze(Object.keys(SPECS));

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
 * The audit entry an event reads as, or null when it is not one (an unknown type, or a message the
 * bot queued on its own). Tolerates missing and unexpected fields: older and newer event versions
 * still produce an entry.
 */
export const auditFactsOf = (event: RecordedEvent): AuditFacts | null => {
  const spec = Object.hasOwn(SPECS, event.type) ? SPECS[event.type] : undefined;
  if (!spec) return null;
  const data: Data = event.data !== null && typeof event.data === 'object' ? event.data : {};
  const safeEvent = {
    ...event,
    data: data as Record<string, unknown>,
    metadata: event.metadata ?? ({} as RecordedEvent['metadata']),
  };
  if (spec.include && !spec.include(safeEvent)) return null;
  const metadata = safeEvent.metadata;
  return {
    event_id: event.id,
    position: event.position,
    occurred_at: occurredAt(safeEvent),
    actor: metaText(metadata.actor, MAX_ID) ?? 'unknown',
    action: spec.action,
    target: spec.target(data, safeEvent),
    // the request's address; login events also carry it in their data
    ip: metaText(metadata.ip, 100) ?? metaText(data.ip, 100),
    outcome: spec.outcome?.(data) ?? 'success',
    correlation_id: metaText(metadata.correlationId, MAX_ID),
    details: safeDetails(spec.details?.(data) ?? {}),
  };
};

export const auditContentOf = (facts: AuditFacts, seq: number): AuditContent => ({ seq, ...facts });
