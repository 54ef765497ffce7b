import type { MessagingLog } from '#application/messaging/ports.js';
import type { EventStore } from '#application/shared/eventStore.js';
import type { Runtime } from '#application/shared/runtime.js';
import { fireScheduledMessage } from './scheduled.js';

/** What the firing loop reads: the scheduled-messages read model (projections/scheduling/scheduledMessages.ts). */
export type ScheduleQueries = {
  /**
   * Ids of messages to fire now: pending ones whose time has come, and fired ones whose MessageQueued has not
   * shown up since `firedBefore` (their scheduler died between the two appends).
   */
  due(now: Date, firedBefore: Date, limit: number): Promise<string[]>;
  /** the earliest time of a pending message, if any */
  nextAt(): Promise<Date | null>;
};

export type FiringOptions = {
  store: EventStore;
  runtime: Runtime;
  log: MessagingLog;
  queries: ScheduleQueries;
  newCorrelationId: () => string;
  /** longest sleep between two looks at the read model (new schedules are seen this late at most; default 500 ms) */
  pollMs?: number;
  /** messages fired at once (default 8) */
  concurrency?: number;
  /** a fired message not queued after this long is queued again, idempotently (default 5 s) */
  recoverAfterMs?: number;
};

export type Firing = { stop(): Promise<void> };

/**
 * The scheduler's loop for scheduled messages: fire what is due, then sleep until the next pending time or
 * `pollMs`, whichever comes first (so a known message fires on time, and a new one is seen within pollMs).
 * Correctness does not depend on the read model being fresh: each firing is decided on the schedule's own
 * stream. The read model may lag a firing by a moment; ids fired here recently are skipped meanwhile.
 */
export const startScheduledMessageFiring = (options: FiringOptions): Firing => {
  const { runtime, log, queries } = options;
  const pollMs = options.pollMs ?? 500;
  const concurrency = options.concurrency ?? 8;
  const recoverAfterMs = options.recoverAfterMs ?? 5_000;
  /** scheduleId -> until when to leave it alone: fired here (the read model may not show it yet), or failed */
  const skipUntil = new Map<string, number>();
  let stopped = false;
  let wake: (() => void) | null = null;

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        wake = null;
        resolve();
      }, ms);
      wake = () => {
        clearTimeout(timer);
        wake = null;
        resolve();
      };
    });

  const fireOne = async (scheduleId: string) => {
    try {
      await fireScheduledMessage(options, scheduleId, options.newCorrelationId);
      skipUntil.set(scheduleId, runtime.clock().getTime() + recoverAfterMs * 2);
    } catch (error) {
      // The store or the database failed: the schedule stays due and a round a second from now tries again.
      skipUntil.set(scheduleId, runtime.clock().getTime() + 1_000);
      log.warn('firing a scheduled message failed', { scheduleId, error });
    }
  };

  const round = async () => {
    const now = runtime.clock();
    for (const [id, until] of skipUntil) if (until <= now.getTime()) skipUntil.delete(id);
    const due = (await queries.due(now, new Date(now.getTime() - recoverAfterMs), 200)).filter(
      (id) => !skipUntil.has(id),
    );
    for (let i = 0; i < due.length && !stopped; i += concurrency)
      await Promise.all(due.slice(i, i + concurrency).map(fireOne));
    const next = await queries.nextAt();
    const untilNext = next === null ? pollMs : next.getTime() - runtime.clock().getTime() + 1;
    // A due message left alone above (fired, read model not there yet) must not spin the loop.
    return Math.max(due.length === 0 && untilNext <= 0 ? 20 : 0, Math.min(pollMs, untilNext));
  };

  const loop = (async () => {
    while (!stopped) {
      let waitMs = pollMs;
      try {
        waitMs = await round();
      } catch (error) {
        log.warn('scheduled messages: reading the read model failed', { error });
      }
      if (!stopped) await sleep(waitMs);
    }
  })();

  return {
    async stop() {
      stopped = true;
      wake?.();
      await loop;
    },
  };
};
