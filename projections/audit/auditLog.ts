import type { Knex } from 'knex';
import type { Projection } from '#projections/shared/projection.js';
import {
  AUDIT_EVENT_TYPES,
  CONTENT_COLUMNS,
  auditContentOf,
  auditFactsOf,
  type AuditContent,
  type AuditOutcome,
} from './auditEntries.js';
import { chainHash, GENESIS_HASH, type JsonValue } from './hashChain.js';
import { insertRows, type Row } from '../shared/batchRows.js';

export {
  AUDIT_EVENT_TYPES,
  CONTENT_COLUMNS,
  auditFactsOf,
  type AuditContent,
  type AuditFacts,
  type AuditOutcome,
} from './auditEntries.js';

export const AUDIT_TABLE = 'audit_log';
export const AUDIT_PROJECTION_NAME = 'audit_log';

/** A stored entry: the hashed content plus its link in the chain. */
export type AuditEntry = AuditContent & { prev_hash: string; hash: string };

// The last link per open batch transaction, so a batch costs one insert per event. Keyed by the
// transaction: a rolled-back batch takes its cache with it.
const lastLinks = new WeakMap<Knex.Transaction, { seq: number; hash: string }>();

const lastLink = async (trx: Knex.Transaction): Promise<{ seq: number; hash: string }> => {
  const cached = lastLinks.get(trx);
  if (cached) return cached;
  const row = (await trx(AUDIT_TABLE).select('seq', 'hash').orderBy('seq', 'desc').first()) as
    { seq: string | number; hash: string } | undefined;
  return row === undefined ? { seq: 0, hash: GENESIS_HASH } : { seq: Number(row.seq), hash: row.hash };
};

/**
 * Every security and admin event, one chained row each. The runner applies events in position order
 * with exactly-once checkpoints, and the chain depends only on that order and on auditFactsOf, so a
 * rebuild writes byte-identical rows. Bump `version` whenever auditEntries.ts changes what it derives.
 */
export const auditLogProjection: Projection = {
  name: AUDIT_PROJECTION_NAME,
  version: 10,
  handles: AUDIT_EVENT_TYPES,
  tables: [AUDIT_TABLE],
  async apply(trx, event) {
    const facts = auditFactsOf(event);
    if (facts === null) return;
    const previous = await lastLink(trx);
    const content = auditContentOf(facts, previous.seq + 1);
    const hash = chainHash(previous.hash, content);
    // An event already in the trail must not fork the chain (the checkpoints make this a no-op in practice).
    const inserted = await trx(AUDIT_TABLE)
      .insert({ ...content, details: JSON.stringify(content.details), prev_hash: previous.hash, hash })
      .onConflict('event_id')
      .ignore()
      .returning('seq');
    lastLinks.set(trx, inserted.length > 0 ? { seq: content.seq, hash } : previous);
  },
  // The chain computed in memory: one read of the last link and of the ids already in, one insert.
  async applyBatch(trx, events) {
    const entries = events.flatMap((event) => {
      const facts = auditFactsOf(event);
      return facts === null ? [] : [facts];
    });
    if (entries.length === 0) return;
    const present = new Set(
      (
        await trx.raw<{ rows: Array<{ event_id: string }> }>(
          'select event_id from ?? where event_id = any(?::text[])',
          [AUDIT_TABLE, entries.map((facts) => facts.event_id)],
        )
      ).rows.map((row) => row.event_id),
    );
    let previous = await lastLink(trx);
    const rows: Row[] = [];
    for (const facts of entries) {
      // An event already in the trail must not fork the chain.
      if (present.has(facts.event_id)) continue;
      present.add(facts.event_id);
      const content = auditContentOf(facts, previous.seq + 1);
      const hash = chainHash(previous.hash, content);
      rows.push({ ...content, prev_hash: previous.hash, hash });
      previous = { seq: content.seq, hash };
    }
    await insertRows(trx, AUDIT_TABLE, [...CONTENT_COLUMNS, 'prev_hash', 'hash'], rows);
    lastLinks.set(trx, previous);
  },
};

// ---------- reading ----------

type AuditRow = Omit<AuditEntry, 'seq' | 'position' | 'occurred_at' | 'details'> & {
  seq: string | number;
  position: string | number;
  occurred_at: Date | string;
  details: unknown;
};

/** What the hash covers, then the chain's links. */
const COLUMNS = [...CONTENT_COLUMNS, 'prev_hash', 'hash'] as const;

export const toAuditEntry = (row: AuditRow): AuditEntry => ({
  seq: Number(row.seq),
  event_id: row.event_id,
  position: Number(row.position),
  occurred_at: new Date(row.occurred_at).toISOString(),
  actor: row.actor,
  action: row.action,
  target: row.target,
  ip: row.ip,
  outcome: row.outcome,
  correlation_id: row.correlation_id,
  // pglite may hand jsonb back as text
  details: (typeof row.details === 'string' ? JSON.parse(row.details) : row.details) as Record<string, JsonValue>,
  prev_hash: row.prev_hash,
  hash: row.hash,
});

/** Rows in seq order after `afterSeq`: what verification walks. */
export const readAuditRows = async (knex: Knex, afterSeq: number, limit: number): Promise<AuditEntry[]> =>
  (
    (await knex(AUDIT_TABLE)
      .select(COLUMNS)
      .where('seq', '>', afterSeq)
      .orderBy('seq', 'asc')
      .limit(limit)) as AuditRow[]
  ).map(toAuditEntry);

export type AuditFilters = {
  actor?: string;
  /** exact, or a prefix ending in `.*` (`login.*`) */
  action?: string;
  target?: string;
  correlationId?: string;
  /** inclusive */
  from?: Date;
  /** exclusive */
  to?: Date;
  outcome?: AuditOutcome;
};

export type AuditOrder = 'asc' | 'desc';

export type AuditPageRequest = AuditFilters & {
  limit: number;
  /** seq of the last entry of the previous page (exclusive), null for the first page */
  afterSeq?: number | null;
  order?: AuditOrder;
};

export type AuditPage = { entries: AuditEntry[]; nextSeq: number | null };

const escapeLike = (text: string): string => text.replace(/[\\%_]/g, (c) => `\\${c}`);

const filtered = (
  knex: Knex,
  filters: AuditFilters,
  order: AuditOrder,
  afterSeq: number | null | undefined,
): Knex.QueryBuilder => {
  const query = knex(AUDIT_TABLE).select(COLUMNS);
  if (filters.actor !== undefined) query.where('actor', filters.actor);
  if (filters.action !== undefined) {
    if (filters.action.endsWith('.*'))
      query.whereRaw("action like ? escape '\\'", [`${escapeLike(filters.action.slice(0, -1))}%`]);
    else query.where('action', filters.action);
  }
  if (filters.target !== undefined) query.where('target', filters.target);
  if (filters.correlationId !== undefined) query.where('correlation_id', filters.correlationId);
  if (filters.outcome !== undefined) query.where('outcome', filters.outcome);
  if (filters.from !== undefined) query.where('occurred_at', '>=', filters.from.toISOString());
  if (filters.to !== undefined) query.where('occurred_at', '<', filters.to.toISOString());
  if (afterSeq !== null && afterSeq !== undefined) query.where('seq', order === 'asc' ? '>' : '<', afterSeq);
  return query.orderBy('seq', order);
};

/** One page, keyset-paginated on seq: stable while new entries keep arriving. */
export const queryAuditLog = async (knex: Knex, request: AuditPageRequest): Promise<AuditPage> => {
  const order = request.order ?? 'desc';
  const rows = ((await filtered(knex, request, order, request.afterSeq).limit(request.limit + 1)) as AuditRow[]).map(
    toAuditEntry,
  );
  const more = rows.length > request.limit;
  const entries = more ? rows.slice(0, request.limit) : rows;
  return { entries, nextSeq: more ? entries[entries.length - 1]!.seq : null };
};

/** Every matching entry, fetched in keyset batches (no long-lived cursor: works on PGlite's single connection). */
export async function* streamAuditLog(
  knex: Knex,
  filters: AuditFilters,
  options: { order?: AuditOrder; batchSize?: number } = {},
): AsyncGenerator<AuditEntry> {
  const order = options.order ?? 'asc';
  const batchSize = options.batchSize ?? 500;
  let afterSeq: number | null = null;
  for (;;) {
    const rows: AuditEntry[] = ((await filtered(knex, filters, order, afterSeq).limit(batchSize)) as AuditRow[]).map(
      toAuditEntry,
    );
    for (const row of rows) yield row;
    if (rows.length < batchSize) return;
    afterSeq = rows[rows.length - 1]!.seq;
  }
}

/** The read side the HTTP routes get (they never see knex). */
export type AuditLogReader = {
  page(request: AuditPageRequest): Promise<AuditPage>;
  stream(filters: AuditFilters, options?: { order?: AuditOrder }): AsyncIterable<AuditEntry>;
};

export const auditLogReader = (knex: Knex): AuditLogReader => ({
  page: (request) => queryAuditLog(knex, request),
  stream: (filters, options) => streamAuditLog(knex, filters, options),
});
