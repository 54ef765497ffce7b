import type { MessagingLog } from '#application/messaging/ports.js';
import type { EventStore, RecordedEvent, Subscription } from '#application/shared/eventStore.js';
import type { MessageScheduled } from '#domain/scheduling/events.js';
import type { Runtime } from '#application/shared/runtime.js';
import { wakeableSleep } from '#application/shared/wakeableSleep.js';
import { fireScheduledMessage, type DueSchedule } from './scheduled.js';

/** What the firing loop reads: the scheduled-messages read model (projections/scheduling/scheduledMessages.ts). */
export type ScheduleQueries = {
  /**
   * Pending messages due by `until`, and fired ones whose MessageQueued has not shown up since `firedBefore`
   * (their scheduler died between the two appends), earliest first.
   */
  due(until: Date, firedBefore: Date, limit: number): Promise<Array<DueSchedule & { at: Date }>>;
};

export type FiringOptions = {
  store: EventStore;
  runtime: Runtime;
  log: MessagingLog;
  queries: ScheduleQueries;
  newCorrelationId: () => string;
  /** how often the read model is read; a message is armed this long before its time (default 250 ms) */
  pollMs?: number;
  /** messages fired at once (default 8) */
  concurrency?: number;
  /** a fired message not queued after this long is queued again, idempotently (default 5 s) */
  recoverAfterMs?: number;
  /** a message scheduled (live, from the store) to fire within this long is armed at once (default 60 s) */
  liveArmMs?: number;
};

export type Firing = { stop(): Promise<void> };

/**
 * The scheduler's loop for scheduled messages. Every `pollMs` it reads what falls due before the next read and
 * arms a timer for each at its exact time, so the read model's query is not on the path between a message's
 * time and its firing; what is already due fires at once. It also follows MessageScheduled in the store
 * (LISTEN/NOTIFY on PostgreSQL) and arms a message due soon as soon as it is scheduled, so a message scheduled
 * a moment ahead does not wait for the projection runner (another process) to show it. Correctness depends on
 * neither: each firing is decided on the schedule's own stream. Ids armed or fired here recently are left
 * alone meanwhile (the read model may lag a firing by a moment).
 */
export const startScheduledMessageFiring = (options: FiringOptions): Firing => {
  const { runtime, log, queries } = options;
  const pollMs = options.pollMs ?? 250;
  const concurrency = options.concurrency ?? 8;
  const recoverAfterMs = options.recoverAfterMs ?? 5_000;
  const liveArmMs = options.liveArmMs ?? 60_000;
  let subscription: Subscription | null = null;
  /** scheduleId -> until when to leave it alone: armed, fired here (the read model may not show it yet), or failed */
  const skipUntil = new Map<string, number>();
  const armed = new Map<string, NodeJS.Timeout>();
  const waiting: DueSchedule[] = [];
  const running = new Set<Promise<void>>();
  let stopped = false;
  const { sleep, wake } = wakeableSleep();

  const fireOne = async (due: DueSchedule) => {
    try {
      await fireScheduledMessage(options, due, options.newCorrelationId);
      skipUntil.set(due.scheduleId, runtime.clock().getTime() + recoverAfterMs * 2);
    } catch (error) {
      // The store or the database failed: the schedule stays due and a round a second from now tries again.
      skipUntil.set(due.scheduleId, runtime.clock().getTime() + 1_000);
      log.warn('firing a scheduled message failed', { scheduleId: due.scheduleId, error });
    }
  };

  /** runs waiting firings, `concurrency` at a time */
  const pump = () => {
    while (!stopped && running.size < concurrency && waiting.length > 0) {
      const run = fireOne(waiting.shift()!).finally(() => {
        running.delete(run);
        pump();
      });
      running.add(run);
    }
  };

  const arm = (due: DueSchedule & { at: Date }) => {
    const delay = due.at.getTime() - runtime.clock().getTime();
    // Left alone until well after its time: the firing itself, or the read model catching up, settles it.
    skipUntil.set(due.scheduleId, runtime.clock().getTime() + Math.max(0, delay) + recoverAfterMs * 2);
    const start = () => {
      armed.delete(due.scheduleId);
      waiting.push(due);
      pump();
    };
    if (delay <= 0) return start();
    // +1 ms: a timer may run a hair early by the clock, and the decider fires nothing before `at`.
    armed.set(due.scheduleId, setTimeout(start, delay + 1));
  };

  /** MessageScheduled as it is appended (any process): arm it now when it is due soon. */
  const follow = async () => {
    const after = await options.store.headPosition();
    subscription = options.store.subscribeToAll({
      after,
      filter: { eventTypes: ['MessageScheduled'] satisfies MessageScheduled['type'][] },
      onEvent: (recorded) => {
        const event = recorded as RecordedEvent<MessageScheduled>;
        if (event.type !== 'MessageScheduled' || stopped || skipUntil.has(event.data.scheduleId)) return;
        const at = new Date(event.data.at);
        if (at.getTime() - runtime.clock().getTime() > liveArmMs) return;
        arm({
          scheduleId: event.data.scheduleId,
          at,
          correlationId: event.metadata.correlationId,
          scheduledEventId: event.id,
        });
      },
      onError: (error) => {
        // the read model still serves; the next round subscribes again
        log.warn('scheduled messages: following the store failed', { error });
        subscription = null;
      },
    });
  };

  const round = async () => {
    if (subscription === null) await follow();
    const now = runtime.clock();
    for (const [id, until] of skipUntil) if (until <= now.getTime()) skipUntil.delete(id);
    const due = await queries.due(new Date(now.getTime() + pollMs * 2), new Date(now.getTime() - recoverAfterMs), 200);
    for (const row of due) if (!skipUntil.has(row.scheduleId)) arm(row);
  };

  const loop = (async () => {
    while (!stopped) {
      try {
        await round();
      } catch (error) {
        log.warn('scheduled messages: reading the read model failed', { error });
      }
      if (!stopped) await sleep(pollMs);
    }
  })();

  return {
    async stop() {
      stopped = true;
      wake();
      for (const timer of armed.values()) clearTimeout(timer);
      armed.clear();
      await loop;
      await subscription?.stop();
      await Promise.all(running);
    },
  };
};
