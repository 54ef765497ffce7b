import type { Knex } from 'knex';
import { listNumbers } from '#projections/messaging/numbers.js';
import { queueFigures } from '#projections/messaging/outboundQueue.js';
import { runtimeByNumber, type NumberRuntimeRow } from '#projections/runtime/numberRuntime.js';

/** The fields of GET /api/whatsapp/status that runbook sections 8 and 9 read (tests keep them in step). */
export const STATUS_WORKER_FIELDS = ['heartbeatAgeSeconds', 'instances'] as const;
export const STATUS_NUMBER_FIELDS = [
  'numberId',
  'name',
  'kind',
  'status',
  'connection',
  'worker',
  'queueDepth',
  'oldestQueuedAgeSeconds',
  'deadLetters',
  'sentLastMinute',
  'lastError',
  'runtime',
] as const;

/**
 * GET /api/whatsapp/status: per number its channel kind, connection state, queue depth, age of the
 * oldest queued message, dead letters, sends in the last minute, last error, and which worker serves
 * it; and the age of the freshest worker heartbeat (no live worker: nothing drains).
 */
export const whatsappStatus = async (knex: Knex, now: Date) => {
  const [numbers, figures, sentRows, leases, workers, runtimes] = await Promise.all([
    listNumbers(knex),
    queueFigures(knex),
    knex('chat_messages')
      .where('direction', 'out')
      .andWhere('sent_at', '>', new Date(now.getTime() - 60_000))
      .groupBy('number_id')
      .select<{ number_id: string; n: string }[]>('number_id', knex.raw('count(*) as n')),
    knex('number_leases')
      .where('lease_until', '>=', now)
      .select<{ number_id: string; worker_id: string }[]>('number_id', 'worker_id'),
    knex('worker_heartbeats').orderBy('heartbeat_at', 'desc').select<Record<string, unknown>[]>('*'),
    runtimeByNumber(knex),
  ]);
  const sent = new Map(sentRows.map((r) => [r.number_id, Number(r.n)]));
  const servedBy = new Map(leases.map((l) => [l.number_id, l.worker_id]));
  const ageSeconds = (at: unknown) =>
    Math.max(0, Math.round((now.getTime() - new Date(at as string).getTime()) / 1000));
  const freshest = workers[0];
  return {
    worker: {
      heartbeatAgeSeconds: freshest ? ageSeconds(freshest.heartbeat_at) : null,
      instances: workers.map((w) => ({
        workerId: w.worker_id as string,
        host: w.host as string,
        pid: Number(w.pid),
        heartbeatAgeSeconds: ageSeconds(w.heartbeat_at),
      })),
    },
    numbers: numbers.map((n) => {
      const f = figures.get(n.numberId);
      const worker = servedBy.get(n.numberId) ?? null;
      const connection =
        n.status !== 'active'
          ? 'disabled'
          : n.kind === 'web'
            ? (n.webConnection?.state ?? 'not_connected')
            : worker === null
              ? 'no_worker'
              : 'connected';
      return {
        numberId: n.numberId,
        name: n.name,
        kind: n.kind,
        status: n.status,
        connection,
        worker,
        queueDepth: f?.queued ?? 0,
        oldestQueuedAgeSeconds: f?.oldestQueuedAt ? ageSeconds(f.oldestQueuedAt) : 0,
        deadLetters: f?.deadLetters ?? 0,
        sentLastMinute: sent.get(n.numberId) ?? 0,
        lastError: n.lastErrorCode === null ? null : { code: n.lastErrorCode, at: n.lastErrorAt },
        runtime: runtimeOf(runtimes.get(n.numberId), n.status === 'active' && worker !== null),
      };
    }),
  };
};

/**
 * A number's runtime: `state` is what runs now (running only while a live worker holds the number and
 * the worker last reported it running; a number never controlled runs), `desired` what the last
 * request asked, and that request with its status (pending, completed, failed, timed_out).
 */
const runtimeOf = (row: NumberRuntimeRow | undefined, served: boolean) => ({
  state: served && (row?.applied ?? 'running') === 'running' ? ('running' as const) : ('stopped' as const),
  desired: row?.desired ?? 'running',
  lastRequest:
    row?.lastRequest === null || row === undefined
      ? null
      : {
          requestId: row.lastRequest.requestId,
          action: row.lastRequest.action,
          status: row.lastRequest.status,
          outcome: row.lastRequest.outcome,
          error: row.lastRequest.error,
          workerId: row.lastRequest.workerId,
          requestedAt: row.lastRequest.requestedAt,
          resolvedAt: row.lastRequest.resolvedAt,
        },
});
