import type { Knex } from 'knex';
import type { CircuitState } from '#application/llm/ports.js';
import type { Projection } from '#projections/runner.js';
import type { RecordedEvent } from '#application/shared/eventStore.js';
import { insertRows, type Row } from '#projections/shared/batchRows.js';

const CALLS = 'llm_calls';
const CIRCUITS = 'llm_circuits';

const CIRCUIT_OF: Record<string, CircuitState> = {
  ProviderCircuitOpened: 'open',
  ProviderCircuitHalfOpened: 'half_open',
  ProviderCircuitClosed: 'closed',
};

/**
 * The providers' read model: one row per finished provider call (LlmCallSucceeded / LlmCallFailed:
 * ids, latency, tokens, cost, never text) and each provider's last circuit state. Idempotent: a call
 * row is keyed by its event id, a circuit row only moves forward in position.
 */
export const llmProvidersProjection: Projection = {
  name: 'llm_providers',
  version: 1,
  tables: [CALLS, CIRCUITS],
  handles: [
    'LlmCallSucceeded',
    'LlmCallFailed',
    'ProviderCircuitOpened',
    'ProviderCircuitHalfOpened',
    'ProviderCircuitClosed',
  ],
  async apply(trx, event) {
    const row = rowOf(event);
    if (row === null) return;
    if (row.table === CALLS) await trx(CALLS).insert(row.row).onConflict('event_id').ignore();
    else
      await trx.raw(
        `insert into ${CIRCUITS} (provider, state, changed_at, position) values (?, ?, ?, ?)
         on conflict (provider) do update set state = excluded.state, changed_at = excluded.changed_at, position = excluded.position
         where ${CIRCUITS}.position < excluded.position`,
        [row.row.provider, row.row.state, row.row.changed_at, row.row.position] as Knex.RawBinding[],
      );
  },
  // One insert of the calls, one upsert of each provider's last circuit change in the batch.
  async applyBatch(trx, events) {
    const calls: Row[] = [];
    const circuits = new Map<string, Row>();
    for (const event of events) {
      const row = rowOf(event);
      if (row === null) continue;
      if (row.table === CALLS) calls.push(row.row);
      else circuits.set(row.row.provider as string, row.row);
    }
    await insertRows(trx, CALLS, CALL_COLUMNS, calls, { onConflict: ['event_id'] });
    await insertRows(trx, CIRCUITS, ['provider', 'state', 'changed_at', 'position'], [...circuits.values()], {
      onConflict: ['provider'],
      update: ['state', 'changed_at', 'position'],
      updateWhere: `${CIRCUITS}.position < excluded.position`,
    });
  },
};

const CALL_COLUMNS = [
  'event_id',
  'turn_id',
  'provider',
  'model',
  'at',
  'ok',
  'error_kind',
  'latency_ms',
  'tokens_in',
  'tokens_out',
  'cost_usd',
];

/** The row an event writes: a call, or a circuit change. */
const rowOf = (event: RecordedEvent): { table: typeof CALLS | typeof CIRCUITS; row: Row } | null => {
  const d = event.data as Record<string, unknown>;
  const num = (key: string) => (typeof d[key] === 'number' && Number.isFinite(d[key]) ? d[key] : 0);
  const str = (key: string) => (typeof d[key] === 'string' ? d[key] : 'unknown');
  switch (event.type) {
    case 'LlmCallSucceeded':
    case 'LlmCallFailed': {
      const ok = event.type === 'LlmCallSucceeded';
      return {
        table: CALLS,
        row: {
          event_id: event.id,
          turn_id: str('turnId'),
          provider: str('provider'),
          model: str('model'),
          at: event.metadata.occurredAt,
          ok,
          error_kind: ok ? null : str('errorKind'),
          latency_ms: Math.round(num('latencyMs')),
          tokens_in: ok ? Math.round(num('tokensIn')) : 0,
          tokens_out: ok ? Math.round(num('tokensOut')) : 0,
          cost_usd: ok ? num('costUsd') : 0,
        },
      };
    }
    case 'ProviderCircuitOpened':
    case 'ProviderCircuitHalfOpened':
    case 'ProviderCircuitClosed':
      return {
        table: CIRCUITS,
        row: {
          provider: str('provider'),
          state: CIRCUIT_OF[event.type] ?? 'closed',
          changed_at: event.metadata.occurredAt,
          position: event.position,
        },
      };
    default:
      return null;
  }
};

export type ProviderFigures = {
  provider: string;
  circuit: CircuitState;
  circuitChangedAt: string | null;
  /** over the window (15 minutes) */
  calls: number;
  errors: number;
  errorRate: number;
  latencyMs: { p50: number | null; p95: number | null };
  /** since 00:00 UTC */
  today: { calls: number; tokensIn: number; tokensOut: number; costUsd: number };
};

export type DailyUsage = {
  day: string;
  provider: string;
  calls: number;
  tokensIn: number;
  tokensOut: number;
  costUsd: number;
};

export const WINDOW_MINUTES = 15;
const midnightUtc = (now: Date) => new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
const n = (value: unknown): number => (value === null || value === undefined ? 0 : Number(value));
const maybe = (value: unknown): number | null =>
  value === null || value === undefined ? null : Math.round(Number(value));

/** Figures per provider (every provider with a call or a circuit event, plus `known` ones). */
export const providerFigures = async (
  knex: Knex,
  now: Date,
  known: readonly string[] = [],
): Promise<ProviderFigures[]> => {
  const since = new Date(now.getTime() - WINDOW_MINUTES * 60_000);
  const recent = await knex.raw<{ rows: Array<Record<string, unknown>> }>(
    `select provider, count(*)::int as calls, (count(*) filter (where not ok))::int as errors,
       percentile_cont(0.5) within group (order by latency_ms) filter (where ok) as p50,
       percentile_cont(0.95) within group (order by latency_ms) filter (where ok) as p95
     from ${CALLS} where at > ? and at <= ? group by provider`,
    [since.toISOString(), now.toISOString()],
  );
  const today = await knex.raw<{ rows: Array<Record<string, unknown>> }>(
    `select provider, count(*)::int as calls, sum(tokens_in)::bigint as tokens_in, sum(tokens_out)::bigint as tokens_out,
       sum(cost_usd) as cost_usd
     from ${CALLS} where at >= ? and at <= ? group by provider`,
    [midnightUtc(now).toISOString(), now.toISOString()],
  );
  const circuits: Array<Record<string, unknown>> = await knex(CIRCUITS).select('provider', 'state', 'changed_at');
  const names = new Set<string>(known);
  for (const row of [...recent.rows, ...today.rows, ...circuits]) names.add(row.provider as string);
  const find = (rows: Array<Record<string, unknown>>, name: string) => rows.find((row) => row.provider === name);
  return [...names].map((provider) => {
    const r = find(recent.rows, provider);
    const t = find(today.rows, provider);
    const c = find(circuits, provider);
    const calls = n(r?.calls);
    const errors = n(r?.errors);
    return {
      provider,
      circuit: (c?.state as CircuitState | undefined) ?? 'closed',
      circuitChangedAt: c ? new Date(c.changed_at as string).toISOString() : null,
      calls,
      errors,
      errorRate: calls === 0 ? 0 : errors / calls,
      latencyMs: { p50: maybe(r?.p50), p95: maybe(r?.p95) },
      today: {
        calls: n(t?.calls),
        tokensIn: n(t?.tokens_in),
        tokensOut: n(t?.tokens_out),
        costUsd: n(t?.cost_usd),
      },
    };
  });
};

/** Tokens and cost per UTC day and provider, the last `days` days (today included), oldest first. */
export const dailyUsage = async (knex: Knex, now: Date, days = 7): Promise<DailyUsage[]> => {
  const from = new Date(midnightUtc(now).getTime() - (days - 1) * 86_400_000);
  const result = await knex.raw<{ rows: Array<Record<string, unknown>> }>(
    `select to_char(at at time zone 'UTC', 'YYYY-MM-DD') as day, provider, count(*)::int as calls,
       sum(tokens_in)::bigint as tokens_in, sum(tokens_out)::bigint as tokens_out, sum(cost_usd) as cost_usd
     from ${CALLS} where at >= ? and at <= ? group by 1, 2 order by 1, 2`,
    [from.toISOString(), now.toISOString()],
  );
  return result.rows.map((row) => ({
    day: row.day as string,
    provider: row.provider as string,
    calls: n(row.calls),
    tokensIn: n(row.tokens_in),
    tokensOut: n(row.tokens_out),
    costUsd: n(row.cost_usd),
  }));
};
