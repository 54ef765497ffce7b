import type { Knex } from 'knex';
import type { Projection } from '#projections/shared/projection.js';
import {
  foldMetricsAtEventTime,
  foldMetricsAtEventTimeInPlace,
  initialMetricsState,
  METRICS_EVENT_TYPES,
  type LlmDay,
  type MetricsState,
  processKey,
  type ProcessEntry,
  type ProviderState,
} from './model.js';
import type { Bucket, Window } from './windows.js';

const TABLE = 'metrics_snapshot';

/**
 * The live metrics' lasting state (processes, locks, queue, circuits, sessions, and the recent windows)
 * as a projection: one JSON row moved with the checkpoint in the runner's transaction. The live feed of
 * every app process starts from this row and folds only what came after it, so a start costs the events
 * since the last checkpoint, not the whole history. Folded at each event's own time, so a rebuild
 * writes the same row.
 */
export const metricsProjection: Projection = {
  name: 'metrics',
  version: 4,
  handles: METRICS_EVENT_TYPES,
  tables: [TABLE],
  async apply(trx, event) {
    states.set(trx, foldMetricsAtEventTime(states.get(trx) ?? (await readState(trx)) ?? initialMetricsState(), event));
  },
  // The same fold over a whole batch, on a state this transaction owns (read from the row or new), so
  // its maps change in place instead of being copied per event.
  async applyBatch(trx, events) {
    let state = states.get(trx) ?? (await readState(trx)) ?? initialMetricsState();
    for (const event of events) state = foldMetricsAtEventTimeInPlace(state, event);
    states.set(trx, state);
  },
  // One row, written once per batch, in the transaction that moves the checkpoint.
  async afterBatch(trx) {
    const state = states.get(trx);
    if (state === undefined) return;
    await trx(TABLE)
      .insert({ id: 1, position: state.position, state: JSON.stringify(toStored(state)) })
      .onConflict('id')
      .merge();
  },
};

// The state as of the last apply in an open batch transaction: a batch reads the row once and writes it
// once. Keyed by the transaction, so a rolled-back batch takes its state with it.
const states = new WeakMap<Knex.Transaction, MetricsState>();

const readState = async (knex: Knex): Promise<MetricsState | null> => {
  const row = (await knex(TABLE).select('state').where({ id: 1 }).first()) as { state: unknown } | undefined;
  if (row === undefined) return null;
  // pglite may hand jsonb back as text
  return fromStored((typeof row.state === 'string' ? JSON.parse(row.state) : row.state) as StoredMetricsState);
};

/** The query the live feed starts from: the stored state, or null before the projection's first event. */
export const readMetricsState = (knex: Knex): Promise<MetricsState | null> => readState(knex);

// ---------- the row's shape: maps as entry lists, an endless lock as null ----------

type StoredMetricsState = {
  position: number;
  inbound: Window;
  outbound: Window;
  providers: Array<[string, ProviderState]>;
  queue: Array<[string, number]>;
  loginFailures: Window;
  lockouts: Window;
  rateLimited: Window;
  locked: Array<[string, number | null]>;
  /** entries only: the map's keys hold a NUL, which jsonb refuses; they are derived again on load */
  processes: ProcessEntry[];
  sessions: Array<[string, string | null]>;
  /** absent in rows written before version 3 */
  llmToday?: LlmDay;
};

const toStored = (state: MetricsState): StoredMetricsState => ({
  position: state.position,
  inbound: state.inbound,
  outbound: state.outbound,
  providers: [...state.providers],
  queue: [...state.queue],
  loginFailures: state.loginFailures,
  lockouts: state.lockouts,
  rateLimited: state.rateLimited,
  locked: [...state.locked].map(([id, until]) => [id, Number.isFinite(until) ? until : null]),
  processes: [...state.processes.values()],
  sessions: [...state.sessions],
  llmToday: state.llmToday,
});

const window = (buckets: readonly Bucket[] | undefined): Window => buckets ?? [];

const fromStored = (stored: StoredMetricsState): MetricsState => ({
  position: Number(stored.position),
  inbound: window(stored.inbound),
  outbound: window(stored.outbound),
  providers: new Map(stored.providers),
  queue: new Map(stored.queue),
  loginFailures: window(stored.loginFailures),
  lockouts: window(stored.lockouts),
  rateLimited: window(stored.rateLimited),
  locked: new Map(stored.locked.map(([id, until]) => [id, until ?? Number.POSITIVE_INFINITY])),
  processes: new Map(stored.processes.map((entry) => [processKey(entry.name, entry.instance), entry])),
  sessions: new Map(stored.sessions),
  llmToday: stored.llmToday ?? initialMetricsState().llmToday,
});
