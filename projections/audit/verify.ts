import type { EventStore } from '#application/shared/eventStore.js';
import type { Database } from '#infrastructure/sql/database.js';
import { readCheckpoint } from '#projections/shared/checkpoints.js';
import {
  AUDIT_EVENT_TYPES,
  auditContentOf,
  auditFactsOf,
  CONTENT_COLUMNS,
  type AuditContent,
  type AuditFacts,
} from './auditEntries.js';
import { AUDIT_PROJECTION_NAME, auditLogProjection, readAuditRows, type AuditEntry } from './auditLog.js';
import { canonicalJson, chainHash, GENESIS_HASH } from './hashChain.js';

export type DivergenceKind =
  /** the row's content is not what its event says (columns names which) */
  | 'content'
  /** an event the trail must record has no row */
  | 'missing'
  /** a row no event accounts for */
  | 'unexpected_row'
  /** the row's prev_hash is not the previous row's hash */
  | 'broken_link'
  /** the row's hash does not match its own content, or not the chain recomputed from the events */
  | 'hash_mismatch';

export type AuditDivergence = {
  seq: number;
  /** the event the row should come from (or the row's own, for an unexpected row) */
  eventId: string | null;
  kind: DivergenceKind;
  /** the differing columns (content), or the hash column concerned */
  columns: string[];
  /** the differing columns' values: recomputed from the event store, and as found in the table */
  expected: Record<string, unknown> | null;
  actual: Record<string, unknown> | null;
};

export type AuditVerification =
  | { ok: true; entries: number; position: number }
  /** `entries`: rows verified before the divergence */
  | { ok: false; entries: number; position: number; divergence: AuditDivergence };

/** The trail was written by another version of the projection; the runner rebuilds it at start. */
export class AuditTrailStaleError extends Error {
  readonly code = 'audit_trail_stale';
  constructor(
    readonly storedVersion: number,
    readonly codeVersion: number,
  ) {
    super(
      `the audit trail was built by projection version ${storedVersion}, this code is version ${codeVersion}: start the app (it rebuilds the trail) or run \`chatbot projections rebuild ${AUDIT_PROJECTION_NAME}\`, then verify again`,
    );
    this.name = 'AuditTrailStaleError';
  }
}

export type VerifyOptions = {
  db: Pick<Database, 'knex'>;
  store: Pick<EventStore, 'readAll'>;
  batchSize?: number;
  /** rows verified so far */
  onProgress?: (verified: number) => void;
};

/** The projection's checkpoint: the trail must account for exactly the audit events up to it. */
const checkpointPosition = async (db: Pick<Database, 'knex'>): Promise<number> => {
  const checkpoint = await readCheckpoint(db.knex, AUDIT_PROJECTION_NAME);
  if (checkpoint === null) return 0;
  if (checkpoint.version !== auditLogProjection.version)
    throw new AuditTrailStaleError(checkpoint.version, auditLogProjection.version);
  return checkpoint.position;
};

/** Audit facts derived from the store, in position order, up to a limit that may be raised. */
const expectedFacts = (store: Pick<EventStore, 'readAll'>, batchSize: number) => {
  let readUpTo = 0;
  let buffer: AuditFacts[] = [];
  let exhaustedAt = -1;
  return {
    async next(limit: number): Promise<AuditFacts | null> {
      while (buffer.length === 0) {
        if (readUpTo >= limit || exhaustedAt === limit) return null;
        const events = await store.readAll({
          after: readUpTo,
          maxCount: batchSize,
          filter: { eventTypes: AUDIT_EVENT_TYPES },
        });
        const inRange = events.filter((event) => event.position <= limit);
        if (inRange.length === 0) {
          exhaustedAt = limit;
          return null;
        }
        readUpTo = inRange[inRange.length - 1]!.position;
        buffer = inRange.map(auditFactsOf).filter((facts): facts is AuditFacts => facts !== null);
      }
      return buffer.shift() ?? null;
    },
  };
};

const storedRows = (db: Pick<Database, 'knex'>, batchSize: number) => {
  // below any valid seq, so a forged row numbered 0 or less is seen too
  let afterSeq = Number.MIN_SAFE_INTEGER;
  let buffer: AuditEntry[] = [];
  return {
    async peek(): Promise<AuditEntry | null> {
      if (buffer.length === 0) {
        buffer = await readAuditRows(db.knex, afterSeq, batchSize);
        const last = buffer[buffer.length - 1];
        if (last) afterSeq = last.seq;
      }
      return buffer[0] ?? null;
    },
    take(): void {
      buffer.shift();
    },
  };
};

const contentOf = (row: AuditEntry): AuditContent => {
  const { prev_hash: _prev, hash: _hash, ...content } = row;
  return content;
};

const pick = (record: AuditContent | AuditEntry, columns: readonly string[]): Record<string, unknown> =>
  Object.fromEntries(columns.map((column) => [column, (record as Record<string, unknown>)[column]]));

/** Compares one stored row with the entry recomputed from its event; null when they agree. */
const compare = (
  expected: AuditContent,
  expectedHash: string,
  previousStoredHash: string,
  row: AuditEntry,
): AuditDivergence | null => {
  const base = { seq: expected.seq, eventId: expected.event_id };
  const differing = CONTENT_COLUMNS.filter((column) => canonicalJson(expected[column]) !== canonicalJson(row[column]));
  if (differing.length > 0)
    return {
      ...base,
      kind: 'content',
      columns: differing,
      expected: pick(expected, differing),
      actual: pick(row, differing),
    };
  if (row.prev_hash !== previousStoredHash) {
    return {
      ...base,
      kind: 'broken_link',
      columns: ['prev_hash'],
      expected: { prev_hash: previousStoredHash },
      actual: { prev_hash: row.prev_hash },
    };
  }
  const ownHash = chainHash(row.prev_hash, contentOf(row));
  if (row.hash !== ownHash || row.hash !== expectedHash) {
    return {
      ...base,
      kind: 'hash_mismatch',
      columns: ['hash'],
      expected: { hash: expectedHash },
      actual: { hash: row.hash },
    };
  }
  return null;
};

/**
 * Recomputes the trail from the event store and compares it with the table, row by row and column
 * by column, up to the projection's checkpoint; reports the first divergence. An attacker who edits
 * a row and recomputes every hash after it still fails: the content no longer matches its event.
 * Rows the running projection adds meanwhile are verified too (the checkpoint is re-read), so it is
 * safe while the application runs; only a concurrent rebuild makes it report a transient divergence.
 */
export const verifyAuditTrail = async (options: VerifyOptions): Promise<AuditVerification> => {
  const batchSize = options.batchSize ?? 500;
  const expected = expectedFacts(options.store, batchSize);
  const rows = storedRows(options.db, batchSize);
  let limit = await checkpointPosition(options.db);
  let verified = 0;
  let expectedHash = GENESIS_HASH;
  let storedHash = GENESIS_HASH;
  const fail = (divergence: AuditDivergence): AuditVerification => ({
    ok: false,
    entries: verified,
    position: limit,
    divergence,
  });

  for (;;) {
    const facts = await expected.next(limit);
    if (facts === null) {
      const extra = await rows.peek();
      if (extra === null) return { ok: true, entries: verified, position: limit };
      // A row commits together with the checkpoint that covers it: past a fresh checkpoint, no event accounts for it.
      const unexpected = () =>
        fail({
          seq: extra.seq,
          eventId: extra.event_id,
          kind: 'unexpected_row',
          columns: [],
          expected: null,
          actual: pick(extra, CONTENT_COLUMNS),
        });
      if (extra.position <= limit) return unexpected();
      const moved = await checkpointPosition(options.db);
      if (moved <= limit || extra.position > moved) return unexpected();
      limit = moved;
      continue;
    }
    const content = auditContentOf(facts, verified + 1);
    const hash = chainHash(expectedHash, content);
    const row = await rows.peek();
    if (row !== null && row.seq < content.seq) {
      return fail({
        seq: row.seq,
        eventId: row.event_id,
        kind: 'unexpected_row',
        columns: [],
        expected: null,
        actual: pick(row, CONTENT_COLUMNS),
      });
    }
    if (row === null || row.seq > content.seq) {
      return fail({
        seq: content.seq,
        eventId: content.event_id,
        kind: 'missing',
        columns: [],
        expected: pick(content, CONTENT_COLUMNS),
        actual: null,
      });
    }
    const divergence = compare(content, hash, storedHash, row);
    if (divergence) return fail(divergence);
    rows.take();
    verified += 1;
    expectedHash = hash;
    storedHash = row.hash;
    if (verified % batchSize === 0) options.onProgress?.(verified);
  }
};
