import os from 'node:os';
import { startProcessMonitor, type ProcessMonitor } from '#application/runtime/processMonitor.js';
import type { EventStore } from '#application/shared/eventStore.js';
import type { Runtime } from '#application/shared/runtime.js';
import type { ProcessName, ProcessRole } from '#domain/runtime/events.js';
import type { Logger } from '#infrastructure/logging/logger.js';
import { newCorrelationId } from '#infrastructure/logging/context.js';
import { sqlProcessHeartbeats } from '#infrastructure/runtime/sqlHeartbeats.js';
import type { Database } from '#infrastructure/sql/database.js';
import { pendingRuntimeRequests } from '#projections/runtime/numberRuntime.js';
import { processInstance } from './lifecycle.js';

/** Heartbeat every 5 s; silent for 30 s (six beats) is crashed; a runtime request unanswered for 30 s timed out. */
export type ProcessMonitorTimings = { heartbeatMs: number; crashAfterMs: number; requestTimeoutMs: number };
export const PROCESS_MONITOR_DEFAULTS: ProcessMonitorTimings = {
  heartbeatMs: 5_000,
  crashAfterMs: 30_000,
  requestTimeoutMs: 30_000,
};

/** The defaults, overridden by the given timings that are set. */
export const monitorTimings = (given: Partial<ProcessMonitorTimings> = {}): ProcessMonitorTimings => ({
  heartbeatMs: given.heartbeatMs ?? PROCESS_MONITOR_DEFAULTS.heartbeatMs,
  crashAfterMs: given.crashAfterMs ?? PROCESS_MONITOR_DEFAULTS.crashAfterMs,
  requestTimeoutMs: given.requestTimeoutMs ?? PROCESS_MONITOR_DEFAULTS.requestTimeoutMs,
});

/**
 * This process's liveness: it beats for every process name it runs (embedded: all three) and watches
 * the others (ProcessCrashed), and marks runtime requests nobody obeyed as timed out.
 */
export const startProcessReporting = (deps: {
  store: EventStore;
  db: Database;
  runtime: Runtime;
  logger: Logger;
  names: readonly ProcessName[];
  role: ProcessRole;
  timings?: Partial<ProcessMonitorTimings>;
}): ProcessMonitor => {
  const timings = monitorTimings(deps.timings);
  const instance = processInstance();
  return startProcessMonitor({
    store: deps.store,
    runtime: deps.runtime,
    heartbeats: sqlProcessHeartbeats(deps.db.knex),
    log: deps.logger,
    self: deps.names.map((name) => ({ name, instance, role: deps.role, host: os.hostname(), pid: process.pid })),
    heartbeatMs: timings.heartbeatMs,
    crashAfterMs: timings.crashAfterMs,
    requests: { requestedBefore: (before) => pendingRuntimeRequests(deps.db.knex, before) },
    requestTimeoutMs: timings.requestTimeoutMs,
    newCorrelationId,
  });
};
