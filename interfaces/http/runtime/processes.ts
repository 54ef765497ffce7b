import type { ProcessHeartbeats } from '#application/runtime/processMonitor.js';

/**
 * Each process instance with its role, pid, host, age of its last heartbeat and state (running, stopped,
 * crashed). A running instance silent for longer than the crash limit is `reporting: false` until a live
 * process records it crashed.
 */
export const processList = async (heartbeats: ProcessHeartbeats, now: Date, crashAfterMs: number) =>
  (await heartbeats.list()).map((p) => {
    const ageSeconds = Math.max(0, Math.round((now.getTime() - new Date(p.heartbeatAt).getTime()) / 1000));
    return {
      name: p.name,
      instance: p.instance,
      role: p.role,
      host: p.host,
      pid: p.pid,
      state: p.state,
      startedAt: p.startedAt,
      lastHeartbeatAt: p.heartbeatAt,
      heartbeatAgeSeconds: ageSeconds,
      reporting: p.state === 'running' && ageSeconds * 1000 <= crashAfterMs,
      stoppedAt: p.stoppedAt,
    };
  });

/** /healthz's detail: counts per process name and state, never a reason to answer 503. */
export const processSummary = async (heartbeats: ProcessHeartbeats, now: Date, crashAfterMs: number) => {
  const list = await processList(heartbeats, now, crashAfterMs);
  const byName: Record<string, { running: number; crashed: number; stopped: number; notReporting: number }> = {};
  for (const p of list) {
    const entry = (byName[p.name] ??= { running: 0, crashed: 0, stopped: 0, notReporting: 0 });
    entry[p.state] += 1;
    if (p.state === 'running' && !p.reporting) entry.notReporting += 1;
  }
  return byName;
};
