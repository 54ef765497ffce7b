import type { AllFilter, RecordedEvent, SubscribeOptions, Subscription } from '#application/shared/eventStore.js';
import type { Wakeup } from './notifier.js';

export type PollingSubscriptionOptions = SubscribeOptions & {
  wakeup: Wakeup;
  pollIntervalMs: number;
  /** events after `after` matching the filter, and how far the read scanned (the head it saw) */
  readBatch: (after: number, filter: AllFilter | undefined) => Promise<{ events: RecordedEvent[]; scannedTo: number }>;
  batchSize?: number;
};

/**
 * Catch up, then live: read batches after the checkpoint until a short batch, then wait for a wakeup
 * (local append or NOTIFY) or the poll interval. Read failures (a restarting database) are retried
 * with backoff; a failing handler stops the subscription and is reported through onError.
 */
export const pollingSubscription = (options: PollingSubscriptionOptions): Subscription => {
  const batchSize = options.batchSize ?? 500;
  let position = options.after ?? 0;
  let stopped = false;
  let caughtUp = false;
  let failures = 0;

  const run = async () => {
    while (!stopped) {
      // Taken before the read: an append that lands after it makes the wait below return at once.
      const generation = options.wakeup.generation;
      let batch: Awaited<ReturnType<PollingSubscriptionOptions['readBatch']>>;
      try {
        batch = await options.readBatch(position, options.filter);
        failures = 0;
      } catch (_error) {
        failures += 1;
        await options.wakeup.wait(generation, Math.min(10_000, 100 * 2 ** Math.min(failures, 7)));
        continue;
      }
      for (const event of batch.events) {
        if (stopped) return;
        try {
          await options.onEvent(event);
        } catch (error) {
          stopped = true;
          options.onError?.(error instanceof Error ? error : new Error(String(error)));
          return;
        }
        position = event.position;
      }
      if (batch.events.length < batchSize) {
        // Nothing matched up to the head this read saw: the checkpoint may move past it.
        position = Math.max(position, batch.scannedTo);
        if (!caughtUp) {
          caughtUp = true;
          options.onCaughtUp?.(position);
        }
        // Sleep through local appends of types this subscription does not read (no read for nothing);
        // the poll interval still bounds the wait.
        const deadline = Date.now() + options.pollIntervalMs;
        let since = generation;
        while (!stopped) {
          const left = deadline - Date.now();
          if (left <= 0) break;
          await options.wakeup.wait(since, left);
          if (options.wakeup.generation === since) break;
          if (options.wakeup.mayConcern(since, options.filter?.eventTypes)) break;
          since = options.wakeup.generation;
        }
      }
    }
  };
  const done = run();

  return {
    get position() {
      return position;
    },
    async stop() {
      stopped = true;
      options.wakeup.signal();
      await done;
    },
  };
};
