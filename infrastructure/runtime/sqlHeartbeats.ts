import type { Knex } from 'knex';
import type { ProcessHeartbeats, ProcessRow, ProcessState } from '#application/runtime/processMonitor.js';
import type { ProcessName, ProcessRole } from '#domain/runtime/events.js';

const TABLE = 'process_heartbeats';
const iso = (value: unknown): string => new Date(value as string).toISOString();

/** Process liveness in PostgreSQL/PGlite: a row per (process name, instance), its heartbeat moved in place. */
export const sqlProcessHeartbeats = (knex: Knex): ProcessHeartbeats => ({
  async beat(self, now) {
    if (self.length === 0) return;
    await knex(TABLE)
      .insert(
        self.map((s) => ({
          name: s.name,
          instance: s.instance,
          role: s.role,
          host: s.host,
          pid: s.pid,
          started_at: now,
          heartbeat_at: now,
          state: 'running',
          stopped_at: null,
        })),
      )
      .onConflict(['name', 'instance'])
      .merge(['heartbeat_at', 'role', 'host', 'pid']);
  },
  async stopped(self, now) {
    for (const s of self)
      await knex(TABLE)
        .where({ name: s.name, instance: s.instance })
        .update({ state: 'stopped', stopped_at: now, heartbeat_at: now });
  },
  async stale(before) {
    const rows = await knex(TABLE)
      .where('state', 'running')
      .andWhere('heartbeat_at', '<', before)
      .select<{ name: string; instance: string; heartbeat_at: Date }[]>('name', 'instance', 'heartbeat_at');
    return rows.map((r) => ({ name: r.name as ProcessName, instance: r.instance, heartbeatAt: iso(r.heartbeat_at) }));
  },
  async markCrashed(name, instance, now) {
    await knex(TABLE).where({ name, instance, state: 'running' }).update({ state: 'crashed', stopped_at: now });
  },
  async list() {
    const rows = await knex(TABLE)
      .orderBy([{ column: 'name' }, { column: 'started_at', order: 'desc' }])
      .select<Record<string, unknown>[]>('*');
    return rows.map((r): ProcessRow => ({
      name: r.name as ProcessName,
      instance: r.instance as string,
      role: r.role as ProcessRole,
      host: r.host as string,
      pid: Number(r.pid),
      startedAt: iso(r.started_at),
      heartbeatAt: iso(r.heartbeat_at),
      state: r.state as ProcessState,
      stoppedAt: r.stopped_at === null || r.stopped_at === undefined ? null : iso(r.stopped_at),
    }));
  },
});
