import type { Knex } from 'knex';

/** A read-model row as the batch path holds it: column name -> value (Date, string, number, object...). */
export type Row = Record<string, unknown>;

/** Most keys in one `= any(?)` / rows in one statement (keeps a parameter well under a few MB). */
const CHUNK = 10_000;

const chunks = <T>(items: readonly T[]): T[][] => {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += CHUNK) out.push(items.slice(i, i + CHUNK));
  return out;
};

/** jsonb may come back as text (PGlite through knex): the batch path keeps it as a value. */
const parsedJson = (value: unknown): unknown => (typeof value === 'string' ? (JSON.parse(value) as unknown) : value);

/**
 * Inserts `rows` with one statement per chunk: the rows travel as ONE json parameter and
 * `json_populate_recordset` turns them into the table's row type (resolved through the search path,
 * so a rebuild's shadow table gets them). Columns not named take their defaults.
 * `onConflict`: the key column(s); with `update` the named columns are overwritten from the new row,
 * without it a conflicting row is left alone (do nothing).
 */
export const insertRows = async (
  trx: Knex.Transaction,
  table: string,
  columns: readonly string[],
  rows: readonly Row[],
  options: { onConflict?: readonly string[]; update?: readonly string[]; updateWhere?: string } = {},
): Promise<void> => {
  if (rows.length === 0) return;
  const cols = columns.map(() => '??').join(', ');
  let conflict = '';
  const conflictBindings: string[] = [];
  if (options.onConflict) {
    conflict = ` on conflict (${options.onConflict.map(() => '??').join(', ')}) `;
    conflictBindings.push(...options.onConflict);
    if (options.update && options.update.length > 0) {
      conflict += `do update set ${options.update.map(() => '?? = excluded.??').join(', ')}`;
      for (const column of options.update) conflictBindings.push(column, column);
      if (options.updateWhere) conflict += ` where ${options.updateWhere}`;
    } else conflict += 'do nothing';
  }
  for (const part of chunks(rows)) {
    const json = JSON.stringify(part.map((row) => Object.fromEntries(columns.map((c) => [c, row[c] ?? null]))));
    await trx.raw(
      `insert into ?? (${cols}) select ${cols} from json_populate_recordset(null::??, ?::json)${conflict}`,
      [table, ...columns, ...columns, table, json, ...conflictBindings],
    );
  }
};

export const deleteByKeys = async (
  trx: Knex.Transaction,
  table: string,
  key: string,
  keys: readonly string[],
): Promise<void> => {
  for (const part of chunks(keys)) await trx.raw('delete from ?? where ?? = any(?)', [table, key, part]);
};

/**
 * The rows of one table a batch touches, keyed by one text column: loaded with one select, changed in
 * memory event by event (with the same rules the per-event SQL applies), written back with one upsert
 * and one delete. A key loaded and not found reads as absent, like an `update ... where key = ?` that
 * matches nothing.
 */
export class RowBatch {
  private readonly rows = new Map<string, Row | null>();
  private readonly stored = new Set<string>();
  private readonly dirty = new Set<string>();

  constructor(
    private readonly table: string,
    private readonly key: string,
    /** every column the table has that the projection writes (the upsert overwrites exactly these) */
    private readonly columns: readonly string[],
    private readonly jsonColumns: readonly string[] = [],
  ) {}

  async load(trx: Knex.Transaction, keys: Iterable<string>): Promise<void> {
    const wanted = [...new Set(keys)].filter((key) => !this.rows.has(key));
    for (const key of wanted) this.rows.set(key, null);
    for (const part of chunks(wanted)) {
      const found = await trx.raw<{ rows: Row[] }>('select * from ?? where ?? = any(?)', [this.table, this.key, part]);
      for (const row of found.rows) {
        for (const column of this.jsonColumns) if (column in row) row[column] = parsedJson(row[column]);
        const key = String(row[this.key]);
        this.rows.set(key, row);
        this.stored.add(key);
      }
    }
  }

  /** The row as of the events folded so far; undefined when absent (never loaded counts as absent). */
  get(key: string): Row | undefined {
    return this.rows.get(key) ?? undefined;
  }

  set(key: string, row: Row): void {
    this.rows.set(key, row);
    this.dirty.add(key);
  }

  /** Changes an existing row; nothing when absent (an update that matches no row). */
  update(key: string, changes: Row): void {
    const row = this.get(key);
    if (row === undefined) return;
    for (const [column, value] of Object.entries(changes)) if (value !== undefined) row[column] = value;
    this.dirty.add(key);
  }

  delete(key: string): void {
    if (this.get(key) === undefined) return;
    this.rows.set(key, null);
    this.dirty.add(key);
  }

  async flush(trx: Knex.Transaction): Promise<void> {
    const gone: string[] = [];
    const changed: Row[] = [];
    for (const key of this.dirty) {
      const row = this.rows.get(key);
      if (row === null || row === undefined) {
        if (this.stored.has(key)) gone.push(key);
      } else changed.push(row);
    }
    this.dirty.clear();
    await deleteByKeys(trx, this.table, this.key, gone);
    await insertRows(trx, this.table, this.columns, changed, {
      onConflict: [this.key],
      update: this.columns.filter((column) => column !== this.key),
    });
    for (const key of gone) this.stored.delete(key);
    for (const row of changed) this.stored.add(String(row[this.key]));
  }
}

/** Epoch ms of a timestamp as the batch path may hold it (Date from the driver, ISO text from an event). */
export const epochMs = (value: unknown): number | null =>
  value === null || value === undefined ? null : new Date(value as string | Date).getTime();
