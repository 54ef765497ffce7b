import type { SqlExecutor, SqlSession } from '#infrastructure/sql/executor.js';

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

/** Table and channel names of one event store; `schema` lets tests and benchmarks run side by side. */
export type EventStoreTables = {
  schema: string | null;
  events: string;
  streams: string;
  /** LISTEN/NOTIFY channel (as named before the server resolves the table: see notifyChannel) */
  channel: string;
  /** the PL/pgSQL function that appends a batch in one round trip */
  appendFunction: string;
};

/**
 * Without a schema the tables are unqualified and follow the connection's search_path (so a
 * DATABASE_URL with `?options=-c search_path=...` places them); with one they are qualified.
 */
export const eventStoreTables = (schema?: string): EventStoreTables => {
  if (schema !== undefined && !IDENTIFIER.test(schema)) throw new Error(`invalid schema name: ${schema}`);
  const prefix = schema === undefined ? '' : `"${schema}".`;
  const name = schema ?? 'default';
  return {
    schema: schema ?? null,
    events: `${prefix}es_events`,
    streams: `${prefix}es_streams`,
    appendFunction: `${prefix}es_append_batch`,
    channel: `chatbot_events_${name}`.slice(0, 63),
  };
};

/**
 * The high 32 bits of our advisory-lock keys: keeps them apart from other users of the single-bigint
 * key space (the projection locks use the two-int space, which never overlaps it).
 */
const LOCK_SPACE = 0x4553; // 'ES'

/**
 * The key of the transaction-level advisory lock that orders commits, derived from the events table's
 * identity (its oid), not from the name it was reached by: two stores that reach the same table (one
 * through a qualified name, one through the search_path) take the same lock, and stores on different
 * tables never wait for each other.
 */
export const orderingLockKey = async (executor: SqlSession, tables: EventStoreTables): Promise<number> => {
  const { rows } = await executor.query<{ oid: string | number }>(`select $1::regclass::oid as oid`, [tables.events]);
  return LOCK_SPACE * 2 ** 32 + Number(rows[0]!.oid);
};

/**
 * The LISTEN/NOTIFY channel of the events table, named after the schema the server resolved it in (like
 * the ordering lock, not after the name it was reached by): stores reaching one table through a qualified
 * name or the search_path wake each other, and stores on tables in other schemas of the same database
 * (tests, benchmarks, side-by-side deployments) do not wake each other for nothing.
 */
export const notifyChannel = async (executor: SqlSession, tables: EventStoreTables): Promise<string> => {
  const { rows } = await executor.query<{ schema: string }>(
    `select n.nspname as schema from pg_class c join pg_namespace n on n.oid = c.relnamespace where c.oid = $1::regclass`,
    [tables.events],
  );
  return `chatbot_events_${rows[0]!.schema}`.slice(0, 63);
};

/**
 * Idempotent DDL: safe to run from several processes at start. Serialised by a lock on the schema the
 * tables land in as resolved by the server (the table has no oid yet), a key in the same space as the
 * ordering locks but never equal to one (hashtext is signed 32-bit, oid keys are above 2^32).
 */
export const ensureEventStoreSchema = (executor: SqlExecutor, tables: EventStoreTables): Promise<void> =>
  executor.transaction(async (sql) => {
    await sql.query(
      `select pg_advisory_xact_lock(hashtext('chatbot-event-store:' || coalesce($1, current_schema())))`,
      [tables.schema],
    );
    if (tables.schema !== null) await sql.query(`create schema if not exists "${tables.schema}"`);
    await sql.query(`
      create table if not exists ${tables.events} (
        position    bigserial primary key,
        id          uuid not null unique,
        stream_id   text not null,
        revision    bigint not null,
        type        text not null,
        data        jsonb not null,
        metadata    jsonb not null,
        recorded_at timestamptz not null default now(),
        unique (stream_id, revision)
      )`);
    await sql.query(`create index if not exists es_events_type_position on ${tables.events} (type, position)`);
    await sql.query(`
      create table if not exists ${tables.streams} (
        stream_id text primary key,
        revision  bigint not null
      )`);
    // The first version took no lock timeout; a second overload would only confuse.
    await sql.query(
      `drop function if exists ${tables.appendFunction}(bigint, text, text[], bigint[], int[], uuid[], text[], text[], text[])`,
    );
    // Under the same lock: concurrent `create or replace` of one function fails ("tuple concurrently updated").
    await sql.query(appendFunctionSql(tables));
  });

/**
 * Appends a batch of appends in one call, so an append costs one round trip. It takes the
 * commit-ordering lock first; volatile PL/pgSQL takes a new snapshot per statement (READ COMMITTED),
 * so the reads after the lock see every earlier commit. Per append (in order) it returns 'ok' with the
 * new revision and last position, 'conflict' with the actual revision, or 'stored' when one of its ids
 * is already stored (or claimed earlier in the batch): the caller classifies that retry.
 * p_expected: -1 no_stream, -2 any, -3 stream_exists, n >= 0 the exact revision.
 * The lock wait is bounded by p_lock_timeout_ms: a stalled commit holding it makes the others fail with
 * lock_not_available (55P03), which the store answers as a retryable EventStoreUnavailableError,
 * instead of every writer hanging behind it.
 */
const appendFunctionSql = (tables: EventStoreTables): string => `
  create or replace function ${tables.appendFunction}(
    p_lock bigint, p_channel text, p_streams text[], p_expected bigint[], p_counts int[],
    p_ids uuid[], p_types text[], p_data text[], p_metadata text[], p_lock_timeout_ms int
  ) returns table (status text, revision bigint, last_position bigint)
  language plpgsql volatile
  -- Plan statements per call: a plan cached while the tables were tiny would keep seq-scanning them.
  set plan_cache_mode = force_custom_plan
  as $fn$
  declare
    n_appends int := coalesce(array_length(p_streams, 1), 0);
    stored uuid[];
    heads jsonb;
    touched text[] := '{}';
    statuses text[] := '{}';
    revisions bigint[] := '{}';
    k_ids uuid[] := '{}';
    k_streams text[] := '{}';
    k_revs bigint[] := '{}';
    k_types text[] := '{}';
    k_data text[] := '{}';
    k_meta text[] := '{}';
    positions bigint[];
    i int;
    j int;
    first int := 1;
    n int;
    cur bigint;
    e bigint;
    ids uuid[];
    done int := 0;
    saved_timeout text := current_setting('lock_timeout');
  begin
    perform set_config('lock_timeout', p_lock_timeout_ms || 'ms', true);
    perform pg_advisory_xact_lock(p_lock);
    perform set_config('lock_timeout', saved_timeout, true);
    select coalesce(array_agg(x.id), '{}') into stored from ${tables.events} x where x.id = any(p_ids);
    select coalesce(jsonb_object_agg(s.stream_id, s.revision), '{}') into heads from ${tables.streams} s where s.stream_id = any(p_streams);
    for i in 1 .. n_appends loop
      n := p_counts[i];
      ids := p_ids[first : first + n - 1];
      e := p_expected[i];
      cur := coalesce((heads ->> p_streams[i])::bigint, -1);
      if ids && stored then
        statuses := statuses || 'stored'::text;
        revisions := revisions || null::bigint;
      elsif (e = -1 and cur <> -1) or (e = -3 and cur = -1) or (e >= 0 and cur <> e) then
        statuses := statuses || 'conflict'::text;
        revisions := revisions || cur;
      else
        for j in 0 .. n - 1 loop
          k_ids := k_ids || p_ids[first + j];
          k_streams := k_streams || p_streams[i];
          k_revs := k_revs || (cur + 1 + j);
          k_types := k_types || p_types[first + j];
          k_data := k_data || p_data[first + j];
          k_meta := k_meta || p_metadata[first + j];
        end loop;
        stored := stored || ids;
        heads := jsonb_set(heads, array[p_streams[i]], to_jsonb(cur + n));
        touched := touched || p_streams[i];
        statuses := statuses || 'ok'::text;
        revisions := revisions || (cur + n);
      end if;
      first := first + n;
    end loop;
    if coalesce(array_length(k_ids, 1), 0) > 0 then
      with inserted as (
        insert into ${tables.events} (id, stream_id, revision, type, data, metadata)
        select t.id, t.stream_id, t.revision, t.type, t.data::jsonb, t.metadata::jsonb
        from unnest(k_ids, k_streams, k_revs, k_types, k_data, k_meta) with ordinality as t(id, stream_id, revision, type, data, metadata, ord)
        order by t.ord
        returning position
      )
      select array_agg(inserted.position order by inserted.position) into positions from inserted;
      insert into ${tables.streams} (stream_id, revision)
        select u.s, (heads ->> u.s)::bigint from (select distinct x as s from unnest(touched) x) u
        on conflict (stream_id) do update set revision = excluded.revision;
      perform pg_notify(p_channel, positions[array_length(positions, 1)]::text);
    end if;
    for i in 1 .. n_appends loop
      status := statuses[i];
      revision := revisions[i];
      last_position := null;
      if status = 'ok' then
        done := done + p_counts[i];
        last_position := positions[done];
      end if;
      return next;
    end loop;
  end
  $fn$`;
