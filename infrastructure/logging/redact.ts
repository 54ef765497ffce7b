// Redaction applied to every log line: credentials are removed by the name of the field that holds them and
// by their shape wherever they appear in text, so a careless `logger.info('req', { headers })` or an error
// message that quotes a token still ships nothing usable.

export const REDACTED = '[REDACTED]';

/** Field names whose values are credentials (access_token, JWT_SECRET, x-api-key, set-cookie, FERNET_KEYS...). */
export const SENSITIVE_KEY = /password|passwd|secret|token|authorization|cookie|api[_-]?key|fernet|credential/i;

// Words a redacted config summary uses for presence; they say nothing about the secret itself.
const PRESENCE_WORDS = new Set(['set', 'not set', '', REDACTED]);

const SHAPES: readonly (readonly [RegExp, string])[] = [
  // JWT (header and payload are base64url JSON, so both start with `eyJ`).
  [/eyJ[A-Za-z0-9_-]*\.eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*/g, REDACTED],
  // Authorization header values.
  [/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}/gi, `$1 ${REDACTED}`],
  // OpenAI-style keys (sk-..., sk-proj-...).
  [/\bsk-[A-Za-z0-9_-]{16,}/g, REDACTED],
  // Fernet tokens: version byte 0x80 and a timestamp's zero high bytes encode as gAAAAA.
  [/gAAAAA[A-Za-z0-9_-]{20,}=*/g, REDACTED],
  // Passwords in connection URLs (postgres://user:pw@host), as driver errors like to print them.
  [/(\b[a-z][a-z0-9+.-]*:\/\/[^\s:/@]*:)[^\s/@]+@/gi, `$1${REDACTED}@`],
];

/** Replaces anything shaped like a credential inside free text. */
export const scrubText = (text: string): string =>
  SHAPES.reduce((result, [shape, replacement]) => result.replace(shape, replacement), text);

export type RedactOptions = { includeStack: boolean };

const MAX_DEPTH = 8;
const MAX_ARRAY_ITEMS = 100;

/** Plain data for JSON: secrets redacted, errors as { name, message, code?, stack? }, cycles and depth bounded. */
export const redact = (value: unknown, options: RedactOptions): unknown =>
  walk(value, options, false, 0, new WeakSet());

const walk = (
  value: unknown,
  options: RedactOptions,
  sensitive: boolean,
  depth: number,
  seen: WeakSet<object>,
): unknown => {
  switch (typeof value) {
    case 'string':
      return sensitive && !PRESENCE_WORDS.has(value) ? REDACTED : scrubText(value);
    case 'bigint':
      return sensitive ? REDACTED : value.toString();
    case 'number':
    case 'boolean':
    case 'undefined':
      // Counts and flags (token usage, passwordChanged: true) are not credentials.
      return value;
    case 'symbol':
      return value.toString();
    case 'function':
      return undefined;
    case 'object':
      break;
  }
  if (value === null) return null;
  if (seen.has(value)) return '[Circular]';
  if (depth >= MAX_DEPTH) return '[Truncated]';
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? 'Invalid Date' : value.toISOString();
  if (value instanceof Uint8Array) return sensitive ? REDACTED : `[${value.byteLength} bytes]`;
  seen.add(value);
  try {
    const next = (child: unknown, childSensitive = sensitive) => walk(child, options, childSensitive, depth + 1, seen);
    if (value instanceof Error) return errorObject(value, options, sensitive, next);
    if (Array.isArray(value)) {
      const items = value.slice(0, MAX_ARRAY_ITEMS).map((item) => next(item));
      return value.length > MAX_ARRAY_ITEMS ? [...items, `[${value.length - MAX_ARRAY_ITEMS} more]`] : items;
    }
    if (value instanceof Map)
      return fields(
        [...value.entries()].map(([k, v]) => [String(k), v]),
        sensitive,
        next,
      );
    if (value instanceof Set) return [...value].slice(0, MAX_ARRAY_ITEMS).map((item) => next(item));
    if (hasToJson(value)) return next(value.toJSON());
    return fields(Object.entries(value), sensitive, next);
  } finally {
    seen.delete(value);
  }
};

type Next = (child: unknown, childSensitive?: boolean) => unknown;

const fields = (entries: [string, unknown][], sensitive: boolean, next: Next): Record<string, unknown> =>
  Object.fromEntries(entries.map(([key, child]) => [key, next(child, sensitive || SENSITIVE_KEY.test(key))]));

const hasToJson = (value: object): value is { toJSON: () => unknown } =>
  typeof (value as { toJSON?: unknown }).toJSON === 'function';

/**
 * Error fields that quote the data of the failed statement rather than describe the failure: pg's
 * `where` and `detail` (e.g. "JSON data, line 1: {\"username\":..."), `internalQuery`, and the
 * bound values some drivers and wrappers attach. An error log line says what failed and where in
 * our code, never what the request or the event carried.
 */
const DATA_FIELDS = new Set(['where', 'detail', 'internalQuery', 'parameters', 'params', 'bindings', 'values', 'data']);
export const OMITTED = '[omitted: statement data]';

const errorObject = (error: Error, options: RedactOptions, sensitive: boolean, next: Next): Record<string, unknown> => {
  // `level` is what winston stamps on an Error logged as logger.error(err); it is not the error's own data.
  const {
    name: _name,
    message: _message,
    stack: _stack,
    cause,
    level: _level,
    ...own
  } = error as Error & Record<string, unknown>;
  return {
    name: error.name,
    message: next(error.message),
    ...fields(
      Object.entries(own).map(([key, value]) => [key, DATA_FIELDS.has(key) && value !== undefined ? OMITTED : value]),
      sensitive,
      next,
    ),
    ...(options.includeStack && error.stack !== undefined ? { stack: next(error.stack) } : {}),
    ...(cause !== undefined ? { cause: next(cause) } : {}),
  };
};
