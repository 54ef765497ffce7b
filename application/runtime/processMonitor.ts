import { handleCommand } from '#application/shared/commandHandler.js';
import type { EventStore } from '#application/shared/eventStore.js';
import type { Runtime } from '#application/shared/runtime.js';
import { processStreamId, type ProcessName, type ProcessRole } from '#domain/runtime/events.js';
import { processDecider } from '#domain/runtime/process.js';
import { timeOutRuntimeRequest } from './control.js';

/** One process instance as the heartbeat table knows it (embedded: one row per name it runs). */
export type ProcessIdentity = { name: ProcessName; instance: string; role: ProcessRole; host: string; pid: number };

export type ProcessState = 'running' | 'stopped' | 'crashed';

export type ProcessRow = ProcessIdentity & {
  startedAt: string;
  heartbeatAt: string;
  state: ProcessState;
  stoppedAt: string | null;
};

/**
 * Liveness is state, not facts: one row per process instance whose `heartbeat_at` moves on every beat
 * (one event per beat would fill the store with noise). The facts are the transitions: ProcessStarted,
 * ProcessStopped, and ProcessCrashed when another process sees the beats stop.
 */
export interface ProcessHeartbeats {
  /** upserts the rows of this process with the time of the beat (started: the first beat) */
  beat(self: readonly ProcessIdentity[], now: Date): Promise<void>;
  stopped(self: readonly ProcessIdentity[], now: Date): Promise<void>;
  /** running instances whose last beat is older than `before` */
  stale(before: Date): Promise<Array<{ name: ProcessName; instance: string; heartbeatAt: string }>>;
  markCrashed(name: ProcessName, instance: string, now: Date): Promise<void>;
  list(): Promise<ProcessRow[]>;
}

/** Runtime requests still pending (read model), for the timeout. */
export interface PendingRuntimeRequests {
  requestedBefore(before: Date): Promise<Array<{ requestId: string; numberId: string }>>;
}

export type ProcessMonitorLog = {
  info(message: string, fields?: Record<string, unknown>): unknown;
  warn(message: string, fields?: Record<string, unknown>): unknown;
};

export type ProcessMonitorOptions = {
  store: EventStore;
  runtime: Runtime;
  heartbeats: ProcessHeartbeats;
  log: ProcessMonitorLog;
  self: readonly ProcessIdentity[];
  /** how often this process beats and looks at the others (PROCESS_HEARTBEAT_MS, default 5 s) */
  heartbeatMs: number;
  /** an instance silent for longer is crashed (PROCESS_HEARTBEAT_MS x PROCESS_CRASH_MISSED_HEARTBEATS, default 30 s) */
  crashAfterMs: number;
  /** runtime requests nobody answered within this are marked timed out (RUNTIME_REQUEST_TIMEOUT_MS, default 30 s); omit `requests` to skip */
  requests?: PendingRuntimeRequests;
  requestTimeoutMs: number;
  newCorrelationId: () => string;
};

export type ProcessMonitor = {
  /** one beat and one look, now (the loop does this every heartbeatMs) */
  tick(): Promise<void>;
  stop(): Promise<void>;
};

/**
 * Every process (app, worker-web, scheduler) beats and watches the others: an instance whose beats
 * stopped is recorded as crashed through the process decider, so when two live processes notice at
 * once the second one decides on the stream the first one extended and records nothing.
 */
export const startProcessMonitor = (options: ProcessMonitorOptions): ProcessMonitor => {
  const { store, runtime, heartbeats, log, self } = options;
  const { heartbeatMs, crashAfterMs, requestTimeoutMs } = options;
  const own = new Set(self.map((s) => `${s.name}|${s.instance}`));
  let stopped = false;
  let timer: NodeJS.Timeout | null = null;
  let current: Promise<void> = Promise.resolve();

  const detectCrashes = async (now: Date) => {
    for (const stale of await heartbeats.stale(new Date(now.getTime() - crashAfterMs))) {
      if (own.has(`${stale.name}|${stale.instance}`)) continue;
      const silentSeconds = Math.round((now.getTime() - new Date(stale.heartbeatAt).getTime()) / 1000);
      const result = await handleCommand(
        store,
        processStreamId(stale.name),
        processDecider,
        () => ({
          type: 'RecordProcessCrashed' as const,
          data: { name: stale.name, instance: stale.instance, reason: `no heartbeat for ${silentSeconds} s` },
        }),
        { correlationId: options.newCorrelationId(), actor: 'system' },
        { runtime },
      );
      await heartbeats.markCrashed(stale.name, stale.instance, now);
      if (result.events.length > 0)
        log.warn('process crashed: no heartbeat', { process: stale.name, instance: stale.instance, silentSeconds });
    }
  };

  const timeOutRequests = async (now: Date) => {
    if (!options.requests) return;
    for (const request of await options.requests.requestedBefore(new Date(now.getTime() - requestTimeoutMs))) {
      const marked = await timeOutRuntimeRequest({ store, runtime }, request, Math.round(requestTimeoutMs / 1000), {
        correlationId: options.newCorrelationId(),
        actor: 'system',
      });
      if (marked)
        log.warn('runtime request timed out: no worker obeyed', {
          numberId: request.numberId,
          requestId: request.requestId,
        });
    }
  };

  const tick = async () => {
    const now = runtime.clock();
    await heartbeats.beat(self, now);
    await detectCrashes(now);
    await timeOutRequests(now);
  };

  const loop = () => {
    current = tick()
      .catch((error: unknown) => void log.warn('process monitor round failed', { error }))
      .finally(() => {
        if (!stopped) timer = setTimeout(loop, heartbeatMs);
      });
  };
  loop();

  return {
    tick: () => {
      const run = current.then(tick);
      current = run.catch(() => undefined);
      return run;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      if (timer) clearTimeout(timer);
      await current;
      await heartbeats.stopped(self, runtime.clock()).catch(() => undefined);
    },
  };
};
