import {
  DuplicateEventIdError,
  InvalidAppendError,
  type ExpectedRevision,
  type NewEvent,
} from '#application/shared/eventStore.js';

/** An append checked and serialised once, before it joins a batch or goes to the server. */
export type PreparedAppend = {
  streamId: string;
  events: readonly NewEvent[];
  expected: ExpectedRevision;
  /** JSON of each event's data and metadata, in order */
  data: string[];
  metadata: string[];
  /** UTF-8 bytes of everything the append sends (ids, type, stream id, data, metadata) */
  bytes: number;
};

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** A high surrogate not followed by a low one, or a low one not preceded by a high one. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Why a string cannot be stored unchanged (PostgreSQL refuses NUL; a lone surrogate becomes U+FFFD), or null. */
const badText = (text: string): string | null => {
  if (text.includes('\u0000')) return 'contains NUL (U+0000)';
  if (LONE_SURROGATE.test(text)) return 'contains a lone UTF-16 surrogate';
  return null;
};

const isPlainObject = (value: object): boolean => {
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
};

/**
 * Why `value` would not come back from JSON exactly as it went in, or null. Walks depth first with the
 * ancestors on a stack, so a shared (non-circular) sub-object is fine and a cycle is named.
 */
const jsonProblem = (value: unknown, path: string, ancestors: object[]): string | null => {
  switch (typeof value) {
    case 'string': {
      const bad = badText(value);
      return bad === null ? null : `${path} ${bad}`;
    }
    case 'number':
      return Number.isFinite(value) ? null : `${path} is ${String(value)} (JSON has no such number)`;
    case 'boolean':
      return null;
    case 'undefined':
      return `${path} is undefined (JSON would drop it)`;
    case 'bigint':
      return `${path} is a BigInt (JSON cannot encode it; store it as a string)`;
    case 'function':
    case 'symbol':
      return `${path} is a ${typeof value} (JSON would drop it)`;
    case 'object': {
      if (value === null) return null;
      if (ancestors.includes(value)) return `${path} refers back to itself (circular)`;
      ancestors.push(value);
      try {
        if (Array.isArray(value)) {
          for (let i = 0; i < value.length; i++) {
            if (!(i in value)) return `${path}[${i}] is a hole in a sparse array (JSON would write null)`;
            const problem = jsonProblem(value[i], `${path}[${i}]`, ancestors);
            if (problem) return problem;
          }
          return null;
        }
        if (!isPlainObject(value))
          return `${path} is a ${value.constructor?.name ?? 'non-plain object'} (JSON would change it; pass plain objects)`;
        if (Object.getOwnPropertySymbols(value).length > 0) return `${path} has symbol keys (JSON would drop them)`;
        for (const [key, child] of Object.entries(value)) {
          const badKey = badText(key);
          if (badKey) return `a key of ${path} ${badKey}`;
          const problem = jsonProblem(child, `${path}.${key}`, ancestors);
          if (problem) return problem;
        }
        return null;
      } finally {
        ancestors.pop();
      }
    }
  }
};

const checkExpected = (expected: unknown): string | null => {
  if (expected === 'no_stream' || expected === 'any' || expected === 'stream_exists') return null;
  if (typeof expected === 'number' && Number.isSafeInteger(expected) && expected >= 0) return null;
  return `expected revision must be 'no_stream', 'stream_exists', 'any' or an integer >= 0, not ${String(expected)}`;
};

/**
 * Checks an append and serialises it, or answers why not (InvalidAppendError; DuplicateEventIdError
 * for an id repeated within the append). Runs before an append joins a group-commit batch, so one bad
 * append can never fail the unrelated appends it would have shared a transaction with.
 */
export const prepareAppend = (
  streamId: string,
  events: readonly NewEvent[],
  expected: ExpectedRevision,
): PreparedAppend | Error => {
  const invalid = (reason: string) => new InvalidAppendError(reason, typeof streamId === 'string' ? streamId : null);
  if (typeof streamId !== 'string' || streamId.length === 0 || streamId.length > 512)
    return invalid('streamId must be 1..512 characters');
  const badStream = badText(streamId);
  if (badStream) return invalid(`streamId ${badStream}`);
  const badExpected = checkExpected(expected);
  if (badExpected) return invalid(badExpected);
  const list: unknown = events;
  if (!Array.isArray(list) || events.length === 0) return invalid('append needs at least one event');
  const ids = new Set<string>();
  const data: string[] = [];
  const metadata: string[] = [];
  let bytes = Buffer.byteLength(streamId);
  for (const [i, event] of events.entries()) {
    if (typeof event.id !== 'string' || !UUID.test(event.id)) return invalid(`events[${i}].id must be a uuid`);
    if (ids.has(event.id.toLowerCase())) return new DuplicateEventIdError(event.id);
    ids.add(event.id.toLowerCase());
    if (typeof event.type !== 'string' || event.type.length === 0) return invalid(`events[${i}].type is required`);
    const badType = badText(event.type);
    if (badType) return invalid(`events[${i}].type ${badType}`);
    if (typeof event.data !== 'object' || event.data === null || Array.isArray(event.data))
      return invalid(`events[${i}].data must be a plain object`);
    const problem =
      jsonProblem(event.data, `events[${i}].data`, []) ?? jsonProblem(event.metadata, `events[${i}].metadata`, []);
    if (problem) return invalid(problem);
    if (typeof event.metadata !== 'object' || event.metadata === null)
      return invalid(`events[${i}].metadata must be an object`);
    data.push(JSON.stringify(event.data));
    metadata.push(JSON.stringify(event.metadata));
    bytes += 36 + Buffer.byteLength(event.type) + Buffer.byteLength(data[i]!) + Buffer.byteLength(metadata[i]!);
  }
  return { streamId, events, expected, data, metadata, bytes };
};
