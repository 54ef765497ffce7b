/**
 * How a Graph API answer becomes a `SendOutcome` failure: Meta's error `code` decides (Meta asks
 * integrators to build on `code` and `error_data.details`, not on titles, subcodes or the HTTP status);
 * the HTTP status only decides for codes this table does not know.
 *
 * Meta's error body:
 *   {"error":{"message":"(#131030) Recipient phone number not in allowed list","type":"OAuthException",
 *    "code":131030,"error_data":{"messaging_product":"whatsapp","details":"..."},
 *    "error_subcode":2655007,"fbtrace_id":"..."}}
 * (`error_subcode` is deprecated since v16.0 and often absent.)
 */
import type { SendOutcome } from '#application/messaging/channel.js';
import { scrubText } from '#infrastructure/logging/redact.js';

export type MetaErrorRule = {
  readonly retryable: boolean;
  /** Meta's title, for logs and docs; never matched against */
  readonly title: string;
  /** a wait to suggest when Meta sends no Retry-After */
  readonly retryAfterMs?: number;
};

// Meta's pair rate limit: about one message every 6 seconds to the same user, sustained.
const PAIR_RATE_GAP_MS = 6_000;

/** Meta error codes, retryable (try again later) or permanent (retrying cannot help). */
export const META_ERRORS: Readonly<Record<number, MetaErrorRule>> = {
  // --- retryable: throttling, Meta-side outages -------------------------------------------------
  /** "Invalid request or possible server error": mostly a Graph outage; the worker's attempt cap bounds a real bad request */
  1: { retryable: true, title: 'API Unknown' },
  /** temporary downtime or overload */
  2: { retryable: true, title: 'API Service' },
  /** the app's Graph API call rate limit */
  4: { retryable: true, title: 'API Too Many Calls' },
  /** the WhatsApp Business Account's rate limit */
  80007: { retryable: true, title: 'Rate limit issues' },
  /** the number's message throughput (80 msgs/s by default) */
  130429: { retryable: true, title: 'Rate limit hit' },
  /** "Something went wrong": Meta's catch-all, documented as worth a retry */
  131000: { retryable: true, title: 'Something went wrong' },
  /** a Meta service is temporarily unavailable */
  131016: { retryable: true, title: 'Service unavailable' },
  /** quality-based limit on how many messages this number may send; lifts over time */
  131048: { retryable: true, title: 'Spam rate limit hit' },
  /** too many messages to the same user in a short time */
  131056: {
    retryable: true,
    title: '(Business Account, Consumer Account) pair rate limit hit',
    retryAfterMs: PAIR_RATE_GAP_MS,
  },
  /** the business account is in maintenance mode (e.g. a throughput upgrade) */
  131057: { retryable: true, title: 'Account in maintenance mode' },
  /** the number's server is temporarily unavailable */
  133004: { retryable: true, title: 'Server temporarily unavailable' },
  /** too many register/deregister attempts for this number; passes with time */
  133016: { retryable: true, title: 'Account register deregister rate limit exceeded' },

  // --- permanent: credentials and permissions (an admin must act) ---------------------------------
  /** the access token is invalid or was revoked */
  0: { retryable: false, title: 'AuthException' },
  /** the app lacks the capability or permission */
  3: { retryable: false, title: 'API Method' },
  /** permission not granted or removed */
  10: { retryable: false, title: 'Permission Denied' },
  /** the access token expired */
  190: { retryable: false, title: 'Access token has expired' },
  /** permission not granted or removed (200-299 are all permission errors, see `ruleFor`) */
  200: { retryable: false, title: 'API Permission' },
  /** the business account is restricted or disabled for a policy violation */
  368: { retryable: false, title: 'Temporarily blocked for policies violations' },
  /** access denied to this number or account */
  131005: { retryable: false, title: 'Access denied' },
  /** the business account is locked */
  131031: { retryable: false, title: 'Account has been locked' },
  /** billing problem on the business account */
  131042: { retryable: false, title: 'Business eligibility payment issue' },
  /** the number has no valid certificate (display name not approved) */
  131045: { retryable: false, title: 'Incorrect certificate' },
  /** the number is not registered with the Cloud API */
  133010: { retryable: false, title: 'Phone number not registered' },

  // --- permanent: this request can never succeed as it is -------------------------------------------
  /** invalid or misspelled parameter (also an unknown phone number id) */
  100: { retryable: false, title: 'Invalid parameter' },
  /** required parameter missing */
  131008: { retryable: false, title: 'Required parameter is missing' },
  /** parameter value invalid (e.g. a malformed recipient) */
  131009: { retryable: false, title: 'Parameter value is not valid' },
  /** the recipient is the sending number itself */
  131021: { retryable: false, title: 'Recipient cannot be sender' },
  /** undeliverable: not a WhatsApp user, old app, terms not accepted, ... */
  131026: { retryable: false, title: 'Message undeliverable' },
  /** test numbers may only message their allowed list */
  131030: { retryable: false, title: 'Recipient phone number not in allowed list' },
  /** more than 24 hours since the user last wrote: only a template may be sent */
  131047: { retryable: false, title: 'Re-engagement message' },
  /** Meta chose not to deliver (per-user marketing cap); a retry within our backoff window would fail again */
  131049: { retryable: false, title: 'Meta chose not to deliver' },
  /** the user opted out of marketing messages */
  131050: { retryable: false, title: 'User stopped marketing messages' },
  /** unsupported message type */
  131051: { retryable: false, title: 'Unsupported message type' },
  /** media could not be downloaded */
  131052: { retryable: false, title: 'Media download error' },
  /** media could not be uploaded */
  131053: { retryable: false, title: 'Media upload error' },
  /** template parameters do not match the template's placeholders */
  132000: { retryable: false, title: 'Number of parameters does not match the expected number of params' },
  /** template name or language does not exist or is not approved */
  132001: { retryable: false, title: 'Template does not exist' },
  /** the translated template text is too long */
  132005: { retryable: false, title: 'Template hydrated text too long' },
  /** the template violates a format character policy */
  132007: { retryable: false, title: 'Template format character policy violated' },
  /** a template parameter has the wrong format */
  132012: { retryable: false, title: 'Template parameter format mismatch' },
  /** the template was paused for low quality */
  132015: { retryable: false, title: 'Template is paused' },
  /** the template was disabled */
  132016: { retryable: false, title: 'Template is disabled' },
  /** the user's number is part of a Meta experiment */
  130472: { retryable: false, title: "User's number is part of an experiment" },
  /** the business may not message users in this country */
  130497: { retryable: false, title: 'Business account is restricted from messaging users in this country' },
  /** generic user error */
  135000: { retryable: false, title: 'Generic user error' },
};

/** The rule for a Meta code, or undefined when Meta sent one we do not know (the HTTP status decides). */
export const ruleFor = (code: number): MetaErrorRule | undefined =>
  META_ERRORS[code] ?? (code >= 200 && code <= 299 ? META_ERRORS[200] : undefined);

export type MetaError = {
  code: number;
  message: string;
  details: string | null;
};

const record = (value: unknown): Record<string, unknown> | null =>
  typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;

/** Reads Meta's `{"error":{...}}` body; null when the body is not one. */
export const parseMetaError = (body: unknown): MetaError | null => {
  const error = record(record(body)?.error);
  if (error === null || typeof error.code !== 'number' || !Number.isInteger(error.code)) return null;
  const details = record(error.error_data)?.details;
  return {
    code: error.code,
    message: typeof error.message === 'string' ? error.message : '',
    details: typeof details === 'string' ? details : null,
  };
};

const MAX_MESSAGE = 300;

/** Meta's text, bounded and scrubbed of anything shaped like a credential. */
export const safeMessage = (text: string): string => {
  const clean = scrubText(text.replace(/\s+/g, ' ').trim());
  return clean.length > MAX_MESSAGE ? `${clean.slice(0, MAX_MESSAGE - 1)}…` : clean;
};

const retryableStatus = (status: number): boolean => status === 429 || status >= 500;

type Failed = Extract<SendOutcome, { status: 'failed' }>;

/**
 * Classifies a non-successful Graph answer. `retryAfterMs` is the parsed Retry-After header, if any;
 * it wins over the table's suggestion.
 */
export const classifyGraphError = (httpStatus: number, body: unknown, retryAfterMs: number | undefined): Failed => {
  const meta = parseMetaError(body);
  if (meta === null) {
    const retryable = retryableStatus(httpStatus);
    return {
      status: 'failed',
      retryable,
      code: `http_${httpStatus}`,
      message: `The Graph API answered HTTP ${httpStatus} without a WhatsApp error body.`,
      ...(retryable && retryAfterMs !== undefined ? { retryAfterMs } : {}),
    };
  }
  const rule = ruleFor(meta.code);
  const retryable = rule?.retryable ?? retryableStatus(httpStatus);
  const wait = retryAfterMs ?? rule?.retryAfterMs;
  const text = [meta.message, meta.details].filter((part) => part !== null && part !== '').join(': ');
  return {
    status: 'failed',
    retryable,
    code: String(meta.code),
    message: safeMessage(text === '' ? (rule?.title ?? `Graph API error ${meta.code}`) : text),
    ...(retryable && wait !== undefined ? { retryAfterMs: wait } : {}),
  };
};

const MAX_RETRY_AFTER_MS = 24 * 3600 * 1000;

/** Retry-After as delta-seconds or an HTTP date; undefined when absent or unreadable. */
export const parseRetryAfter = (header: string | null, now: Date): number | undefined => {
  if (header === null) return undefined;
  const text = header.trim();
  if (/^\d+$/.test(text)) return Math.min(Number(text) * 1000, MAX_RETRY_AFTER_MS);
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.min(Math.max(0, at - now.getTime()), MAX_RETRY_AFTER_MS);
};
