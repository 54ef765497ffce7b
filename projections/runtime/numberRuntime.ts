import type { Knex } from 'knex';
import type { RecordedEvent } from '#application/shared/eventStore.js';
import type { NumberRuntimeEvent } from '#domain/runtime/events.js';
import { desiredAfter } from '#domain/runtime/numberRuntime.js';
import type { Projection } from '#projections/shared/projection.js';

const NUMBERS = 'runtime_numbers';
const REQUESTS = 'runtime_requests';

const HANDLES = [
  'RuntimeStartRequested',
  'RuntimeStopRequested',
  'RuntimeRestartRequested',
  'RuntimeLogoutRequested',
  'RuntimeRequestCompleted',
  'RuntimeRequestFailed',
  'RuntimeRequestTimedOut',
] as const satisfies readonly NumberRuntimeEvent['type'][];

const ACTIONS = {
  RuntimeStartRequested: 'start',
  RuntimeStopRequested: 'stop',
  RuntimeRestartRequested: 'restart',
  RuntimeLogoutRequested: 'logout',
} as const;

/**
 * Runtime control per number: the desired state (what the last request asked), the applied state (what
 * the worker last reported), and every request with its status (pending, completed, failed, timed out).
 * The timeout monitor reads the pending ones; GET /api/whatsapp/status shows the last one per number.
 */
export const numberRuntimeProjection: Projection = {
  name: 'runtime.numbers',
  version: 1,
  tables: [NUMBERS, REQUESTS],
  handles: HANDLES,
  async apply(trx, recorded) {
    const event = recorded as RecordedEvent<NumberRuntimeEvent>;
    const at = event.metadata.occurredAt;
    switch (event.type) {
      case 'RuntimeStartRequested':
      case 'RuntimeStopRequested':
      case 'RuntimeRestartRequested':
      case 'RuntimeLogoutRequested': {
        const action = ACTIONS[event.type];
        const d = event.data;
        await trx(REQUESTS)
          .insert({
            request_id: d.requestId,
            number_id: d.numberId,
            action,
            scope: d.scope,
            status: 'pending',
            requested_by: event.metadata.actor,
            requested_at: at,
            position: event.position,
          })
          .onConflict(['request_id', 'number_id'])
          .ignore();
        await trx(NUMBERS)
          .insert({
            number_id: d.numberId,
            desired_state: desiredAfter(action),
            applied_state: 'running',
            last_request_id: d.requestId,
            updated_at: at,
            position: event.position,
          })
          .onConflict('number_id')
          .merge(['desired_state', 'last_request_id', 'updated_at', 'position']);
        return;
      }
      case 'RuntimeRequestCompleted':
      case 'RuntimeRequestFailed':
      case 'RuntimeRequestTimedOut': {
        const d = event.data;
        const status =
          event.type === 'RuntimeRequestCompleted'
            ? 'completed'
            : event.type === 'RuntimeRequestFailed'
              ? 'failed'
              : 'timed_out';
        await trx(REQUESTS)
          .where({ request_id: d.requestId, number_id: d.numberId })
          .update({
            status,
            resolved_at: at,
            position: event.position,
            ...(event.type === 'RuntimeRequestTimedOut'
              ? {}
              : { worker_id: event.data.workerId, outcome: event.data.outcome }),
            ...(event.type === 'RuntimeRequestFailed' ? { error: event.data.error } : {}),
          });
        if (event.type === 'RuntimeRequestCompleted')
          await trx(NUMBERS)
            .where({ number_id: d.numberId })
            .update({
              applied_state: event.data.outcome === 'running' ? 'running' : 'stopped',
              updated_at: at,
              position: event.position,
            });
        return;
      }
      default:
        return;
    }
  },
};

export type RuntimeRequestRow = {
  requestId: string;
  numberId: string;
  action: string;
  scope: string;
  status: 'pending' | 'completed' | 'failed' | 'timed_out';
  requestedBy: string | null;
  requestedAt: string;
  resolvedAt: string | null;
  workerId: string | null;
  outcome: string | null;
  error: string | null;
};

export type NumberRuntimeRow = {
  desired: 'running' | 'stopped';
  applied: 'running' | 'stopped';
  lastRequest: RuntimeRequestRow | null;
};

const iso = (value: unknown): string | null =>
  value === null || value === undefined ? null : new Date(value as string).toISOString();

const requestRow = (row: Record<string, unknown>): RuntimeRequestRow => ({
  requestId: row.request_id as string,
  numberId: row.number_id as string,
  action: row.action as string,
  scope: row.scope as string,
  status: row.status as RuntimeRequestRow['status'],
  requestedBy: (row.requested_by as string | null) ?? null,
  requestedAt: iso(row.requested_at)!,
  resolvedAt: iso(row.resolved_at),
  workerId: (row.worker_id as string | null) ?? null,
  outcome: (row.outcome as string | null) ?? null,
  error: (row.error as string | null) ?? null,
});

/** Per number: desired and applied state and the last request (numbers never controlled are absent: running). */
export const runtimeByNumber = async (knex: Knex): Promise<Map<string, NumberRuntimeRow>> => {
  const rows = await knex(`${NUMBERS} as n`)
    .leftJoin(`${REQUESTS} as r`, (join) =>
      join.on('r.request_id', 'n.last_request_id').andOn('r.number_id', 'n.number_id'),
    )
    .select<Record<string, unknown>[]>(
      'n.number_id as n_number_id',
      'n.desired_state',
      'n.applied_state',
      'r.request_id',
      'r.number_id',
      'r.action',
      'r.scope',
      'r.status',
      'r.requested_by',
      'r.requested_at',
      'r.resolved_at',
      'r.worker_id',
      'r.outcome',
      'r.error',
    );
  return new Map(
    rows.map((row) => [
      row.n_number_id as string,
      {
        desired: row.desired_state as 'running' | 'stopped',
        applied: row.applied_state as 'running' | 'stopped',
        lastRequest: row.request_id === null || row.request_id === undefined ? null : requestRow(row),
      },
    ]),
  );
};

/** Pending requests made before `before` (the timeout monitor marks them). */
export const pendingRuntimeRequests = async (
  knex: Knex,
  before: Date,
): Promise<Array<{ requestId: string; numberId: string }>> => {
  const rows = await knex(REQUESTS)
    .where('status', 'pending')
    .andWhere('requested_at', '<', before)
    .orderBy('requested_at')
    .limit(500)
    .select<{ request_id: string; number_id: string }[]>('request_id', 'number_id');
  return rows.map((r) => ({ requestId: r.request_id, numberId: r.number_id }));
};

/** The requests of one admin request id (all numbers it covered). */
export const runtimeRequest = async (knex: Knex, requestId: string): Promise<RuntimeRequestRow[]> =>
  (
    await knex(REQUESTS).where({ request_id: requestId }).orderBy('number_id').select<Record<string, unknown>[]>('*')
  ).map(requestRow);
