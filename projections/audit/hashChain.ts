import { createHash } from 'node:crypto';

/**
 * The audit trail's hash chain: entry i stores prev_hash (entry i-1's hash, GENESIS_HASH for the first)
 * and hash = sha256_hex(prev_hash + canonicalJson(content_i)). Altering, removing or reordering any
 * entry changes every hash after it, so the table can be checked on its own, and against the event
 * store, which it is derived from.
 */

export const GENESIS_HASH = '0'.repeat(64);

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

export class NotCanonicalisableError extends Error {
  readonly code = 'not_canonicalisable';
  constructor(
    readonly path: string,
    reason: string,
  ) {
    super(`cannot canonicalise ${path || '(root)'}: ${reason}`);
    this.name = 'NotCanonicalisableError';
  }
}

/**
 * JSON with object keys sorted (by UTF-16 code units, like Array.prototype.sort), no whitespace.
 * Refuses what JSON.stringify would silently change (undefined, NaN, Infinity, functions), because a
 * value that does not survive a round trip through the database would make a correct row look forged.
 */
export const canonicalJson = (value: unknown): string => serialise(value, '');

const serialise = (value: unknown, path: string): string => {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw new NotCanonicalisableError(path, `${value} is not a JSON number`);
      // -0 and 0 are the same JSON number; JSON.stringify already prints both as "0".
      return JSON.stringify(value);
    case 'object': {
      if (Array.isArray(value)) return `[${value.map((item, i) => serialise(item, `${path}[${i}]`)).join(',')}]`;
      if (Object.getPrototypeOf(value) !== Object.prototype && Object.getPrototypeOf(value) !== null) {
        throw new NotCanonicalisableError(path, 'only plain objects, arrays and primitives are allowed');
      }
      const record = value as Record<string, unknown>;
      const keys = Object.keys(record).sort();
      return `{${keys.map((key) => `${JSON.stringify(key)}:${serialise(record[key], path ? `${path}.${key}` : key)}`).join(',')}}`;
    }
    default:
      throw new NotCanonicalisableError(path, `a ${typeof value} is not JSON`);
  }
};

const AUDIT_KEYS = [
  'action',
  'actor',
  'correlation_id',
  'details',
  'event_id',
  'ip',
  'occurred_at',
  'outcome',
  'position',
  'seq',
  'target',
] as const;
const str = (value: unknown): string | null =>
  typeof value === 'string' ? JSON.stringify(value) : value === null ? 'null' : null;

/**
 * canonicalJson of an audit entry's content, the same bytes, without sorting its keys and walking it
 * generically: the entry's keys are known, in sorted order above. Anything of another shape (a key more
 * or less, a value of another type) goes through canonicalJson.
 */
export const canonicalAuditJson = (content: Readonly<Record<string, unknown>>): string => {
  let keys = 0;
  for (const key in content) if (Object.hasOwn(content, key)) keys += 1;
  const { seq, position } = content;
  if (
    keys !== AUDIT_KEYS.length ||
    Object.getPrototypeOf(content) !== Object.prototype ||
    typeof seq !== 'number' ||
    !Number.isFinite(seq) ||
    typeof position !== 'number' ||
    !Number.isFinite(position)
  )
    return canonicalJson(content);
  const action = str(content.action);
  const actor = str(content.actor);
  const correlation = str(content.correlation_id);
  const eventId = str(content.event_id);
  const ip = str(content.ip);
  const occurredAt = str(content.occurred_at);
  const outcome = str(content.outcome);
  const target = str(content.target);
  if (
    action === null ||
    actor === null ||
    correlation === null ||
    eventId === null ||
    ip === null ||
    occurredAt === null ||
    outcome === null ||
    target === null ||
    !('details' in content)
  )
    return canonicalJson(content);
  return `{"action":${action},"actor":${actor},"correlation_id":${correlation},"details":${serialise(content.details, 'details')},"event_id":${eventId},"ip":${ip},"occurred_at":${occurredAt},"outcome":${outcome},"position":${JSON.stringify(position)},"seq":${JSON.stringify(seq)},"target":${target}}`;
};

/** chainHash of an audit entry's content (canonicalAuditJson: the same hash, computed faster). */
export const auditChainHash = (prevHash: string, content: Readonly<Record<string, unknown>>): string =>
  sha256Hex(prevHash + canonicalAuditJson(content));

export const sha256Hex = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

/** The hash of an entry whose canonical content is `content`, chained to `prevHash`. */
export const chainHash = (prevHash: string, content: unknown): string => sha256Hex(prevHash + canonicalJson(content));

export type Chained<T> = { content: T; prevHash: string; hash: string };

/** Links contents in order, starting after `prevHash` (GENESIS_HASH for a new chain). */
export const chain = <T>(contents: readonly T[], prevHash: string = GENESIS_HASH): Chained<T>[] => {
  const out: Chained<T>[] = [];
  let previous = prevHash;
  for (const content of contents) {
    const hash = chainHash(previous, content);
    out.push({ content, prevHash: previous, hash });
    previous = hash;
  }
  return out;
};

export type ChainBreak = {
  /** 0-based index in the list given */
  index: number;
  kind: 'broken_link' | 'hash_mismatch';
};

/**
 * Checks a stored chain on its own: every prev_hash is the previous hash and every hash matches its
 * content. It cannot catch an attacker who rewrote an entry and every hash after it: only the
 * comparison with the event store (verifyAuditTrail) can.
 */
export const findChainBreak = <T>(
  entries: readonly Chained<T>[],
  prevHash: string = GENESIS_HASH,
): ChainBreak | null => {
  let previous = prevHash;
  for (const [index, entry] of entries.entries()) {
    if (entry.prevHash !== previous) return { index, kind: 'broken_link' };
    if (chainHash(entry.prevHash, entry.content) !== entry.hash) return { index, kind: 'hash_mismatch' };
    previous = entry.hash;
  }
  return null;
};
