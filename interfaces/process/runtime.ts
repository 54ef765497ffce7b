import os from 'node:os';
import { startProcessMonitor, type ProcessMonitor } from '#application/runtime/processMonitor.js';
import type { EventStore } from '#application/shared/eventStore.js';
import type { Runtime } from '#application/shared/runtime.js';
import type { Config } from '#infrastructure/config/config.js';
import type { ProcessName, ProcessRole } from '#domain/runtime/events.js';
import type { Logger } from '#infrastructure/logging/logger.js';
import { newCorrelationId } from '#infrastructure/logging/context.js';
import { sqlProcessHeartbeats } from '#infrastructure/runtime/sqlHeartbeats.js';
import type { Database } from '#infrastructure/sql/database.js';
import { pendingRuntimeRequests } from '#projections/runtime/numberRuntime.js';
import { processInstance } from './lifecycle.js';

/**
 * Heartbeat interval, silence after which an instance is crashed, and runtime request timeout. They come
 * from the configuration (PROCESS_HEARTBEAT_MS, PROCESS_CRASH_MISSED_HEARTBEATS, RUNTIME_REQUEST_TIMEOUT_MS;
 * defaults 5 s, six missed beats = 30 s, 30 s: docs/configuration.md).
 */
export type ProcessMonitorTimings = { heartbeatMs: number; crashAfterMs: number; requestTimeoutMs: number };

/** The configured timings, overridden by the given ones that are set (tests). */
export const monitorTimings = (
  config: Pick<Config, 'processes'>,
  given: Partial<ProcessMonitorTimings> = {},
): ProcessMonitorTimings => ({
  heartbeatMs: given.heartbeatMs ?? config.processes.heartbeatMs,
  crashAfterMs: given.crashAfterMs ?? config.processes.crashAfterMs,
  requestTimeoutMs: given.requestTimeoutMs ?? config.processes.runtimeRequestTimeoutMs,
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
  config: Pick<Config, 'processes'>;
  timings?: Partial<ProcessMonitorTimings>;
}): ProcessMonitor => {
  const timings = monitorTimings(deps.config, deps.timings);
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
