import { createHash } from 'node:crypto';
import type { Knex } from 'knex';

/**
 * Shadow tables of a blue/green rebuild. Each projection being rebuilt gets its own schema next to the
 * live one, holding a copy of each of its tables' structure (columns, defaults, checks, identity,
 * serial sequences, primary keys and unique indexes, which `on conflict` needs), without the secondary
 * indexes: those are built once, after the last batch, before the swap. The projection's code is not
 * changed for it: its batches run with the shadow schema first in the transaction's search path, so its
 * unqualified table names reach the shadow tables. The swap drops each live table and moves the shadow
 * one into the live schema, in one transaction: readers see the old read model, then the new one.
 */

const q = (name: string): string => `"${name.replaceAll('"', '""')}"`;

export type LiveTable = { schema: string; table: string };

/** Where an unqualified table name resolves now (the connection's search path). */
export const liveTable = async (knex: Knex | Knex.Transaction, table: string): Promise<LiveTable | null> => {
  const { rows } = await knex.raw<{ rows: LiveTable[] }>(
    `select n.nspname as schema, c.relname as table from pg_class c join pg_namespace n on n.oid = c.relnamespace
     where c.oid = to_regclass(?)`,
    [q(table)],
  );
  return rows[0] ?? null;
};

/** The schema read-model tables live in when a projection has none yet: the first of the search path. */
const currentSchema = async (knex: Knex | Knex.Transaction): Promise<string> =>
  (await knex.raw<{ rows: Array<{ schema: string }> }>('select current_schema() as schema')).rows[0]!.schema;

/** A stable name per live schema and projection, within PostgreSQL's 63 bytes. */
export const shadowSchemaName = (liveSchema: string, projection: string): string =>
  `${liveSchema.slice(0, 40)}__rb_${createHash('sha256').update(`${liveSchema}\0${projection}`).digest('hex').slice(0, 12)}`;

export const liveSchemaOf = async (knex: Knex, tables: readonly string[]): Promise<string> => {
  for (const table of tables) {
    const found = await liveTable(knex, table);
    if (found) return found.schema;
  }
  return currentSchema(knex);
};

export const shadowTablesExist = async (knex: Knex, schema: string, tables: readonly string[]): Promise<boolean> => {
  for (const table of tables) {
    const { rows } = await knex.raw<{
      rows: Array<{ present: boolean }>;
    }>('select to_regclass(?) is not null as present', [`${q(schema)}.${q(table)}`]);
    if (rows[0]?.present !== true) return false;
  }
  return true;
};

type IndexRow = {
  def: string;
  indisunique: boolean;
  conname: string | null;
  condef: string | null;
};

const indexesOf = async (knex: Knex | Knex.Transaction, live: LiveTable): Promise<IndexRow[]> =>
  (
    await knex.raw<{ rows: IndexRow[] }>(
      `select pg_get_indexdef(i.indexrelid) as def, i.indisunique, con.conname, pg_get_constraintdef(con.oid) as condef
       from pg_index i left join pg_constraint con on con.conindid = i.indexrelid and con.conrelid = i.indrelid
       where i.indrelid = to_regclass(?) order by i.indexrelid`,
      [`${q(live.schema)}.${q(live.table)}`],
    )
  ).rows;

/** `CREATE [UNIQUE] INDEX name ON [ONLY] schema.table USING ...` with the table replaced. */
const onTable = (def: string, schema: string, table: string): string => {
  const match = /^(CREATE (?:UNIQUE )?INDEX \S+ ON (?:ONLY )?)(\S+)( USING .*)$/s.exec(def);
  if (!match) throw new Error(`cannot copy the index definition: ${def}`);
  return `${match[1]}${q(schema)}.${q(table)}${match[3]}`;
};

/**
 * (Re)creates the shadow schema with an empty copy of each table: structure, keys and unique indexes
 * only. Whatever an earlier, abandoned shadow held is dropped first.
 */
export const createShadowTables = async (knex: Knex, shadow: string, tables: readonly string[]): Promise<void> => {
  await knex.transaction(async (trx) => {
    await trx.raw(`drop schema if exists ${q(shadow)} cascade`);
    await trx.raw(`create schema ${q(shadow)}`);
    for (const table of tables) {
      const live = await liveTable(trx, table);
      if (!live) throw new Error(`table ${table} does not exist: run \`chatbot migrate latest\` first`);
      const from = `${q(live.schema)}.${q(live.table)}`;
      const to = `${q(shadow)}.${q(table)}`;
      await trx.raw(
        `create table ${to} (like ${from} including defaults including constraints including identity including generated including storage)`,
      );
      // serial columns: LIKE copied a default that draws from the LIVE table's sequence; give the copy its own
      const serials = (
        await trx.raw<{ rows: Array<{ column: string; sequence: string }> }>(
          `select a.attname as column, s.relname as sequence from pg_depend d
           join pg_class s on s.oid = d.objid and s.relkind = 'S'
           join pg_attribute a on a.attrelid = d.refobjid and a.attnum = d.refobjsubid
           where d.refobjid = to_regclass(?) and d.deptype = 'a'`,
          [from],
        )
      ).rows;
      for (const serial of serials) {
        const sequence = `${q(shadow)}.${q(serial.sequence)}`;
        await trx.raw(`create sequence ${sequence} owned by ${to}.${q(serial.column)}`);
        await trx.raw(
          `alter table ${to} alter column ${q(serial.column)} set default nextval('${sequence.replaceAll("'", "''")}')`,
        );
      }
      for (const index of await indexesOf(trx, live)) {
        if (index.conname !== null && index.condef !== null)
          await trx.raw(`alter table ${to} add constraint ${q(index.conname)} ${index.condef}`);
        else if (index.indisunique) await trx.raw(onTable(index.def, shadow, table));
      }
    }
  });
};

/** The secondary indexes the shadow tables skipped while they were filled: built once, before the swap. */
export const createDeferredIndexes = async (knex: Knex, shadow: string, tables: readonly string[]): Promise<void> => {
  for (const table of tables) {
    const live = await liveTable(knex, table);
    if (!live) continue;
    const existing = new Set(
      (
        await knex.raw<{
          rows: Array<{ indexname: string }>;
        }>(`select indexname from pg_indexes where schemaname = ? and tablename = ?`, [shadow, table])
      ).rows.map((row) => row.indexname),
    );
    for (const index of await indexesOf(knex, live)) {
      if (index.conname !== null || index.indisunique) continue;
      const name = /^CREATE (?:UNIQUE )?INDEX (\S+) /.exec(index.def)?.[1]?.replace(/^"|"$/g, '');
      // a resumed rebuild may have built some already
      if (name !== undefined && existing.has(name)) continue;
      await knex.raw(onTable(index.def, shadow, table));
    }
  }
};

/**
 * Inside the swap transaction: each live table is dropped and its shadow moved into the live schema,
 * indexes, constraints and sequences with it. Readers waiting on the live table's lock see the new
 * one when the transaction commits.
 */
export const swapShadowTables = async (
  trx: Knex.Transaction,
  shadow: string,
  liveSchema: string,
  tables: readonly string[],
): Promise<void> => {
  for (const table of tables) {
    await trx.raw(`drop table if exists ${q(liveSchema)}.${q(table)}`);
    await trx.raw(`alter table ${q(shadow)}.${q(table)} set schema ${q(liveSchema)}`);
  }
  await trx.raw(`drop schema if exists ${q(shadow)} cascade`);
};

export const dropShadowSchema = async (knex: Knex, shadow: string): Promise<void> => {
  await knex.raw(`drop schema if exists ${q(shadow)} cascade`);
};

const shadowTransactions = new WeakSet<Knex.Transaction>();

/** The rebuild marks the transactions that fill shadow tables (see isShadowTransaction). */
export const markShadowTransaction = (trx: Knex.Transaction): void => void shadowTransactions.add(trx);

/**
 * True inside a blue/green rebuild's batch: the projection is writing shadow tables while the live read
 * model and the live worker state (claims, leases) stay in use. A projection that also changes tables it
 * does not own (e.g. the outbound queue releasing the worker's claims) must leave them alone then: the
 * live runner already did it when it applied those events, and a replayed old event would otherwise undo
 * a live worker's current claim.
 */
export const isShadowTransaction = (trx: Knex.Transaction): boolean => shadowTransactions.has(trx);

/** The search path of a shadow batch (set local to its transaction: reset at commit or rollback). */
export const shadowSearchPath = (shadow: string, livePath: string): string => `${q(shadow)}, ${livePath}`;

/** The connection's search path as it is outside any shadow batch. */
export const currentSearchPath = async (knex: Knex | Knex.Transaction): Promise<string> =>
  (await knex.raw<{ rows: Array<{ path: string }> }>(`select current_setting('search_path') as path`)).rows[0]!.path;
