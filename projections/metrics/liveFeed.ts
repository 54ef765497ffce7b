import {
  BehaviorSubject,
  EMPTY,
  Subject,
  catchError,
  defer,
  exhaustMap,
  map,
  timer,
  type Subscription as RxSubscription,
} from 'rxjs';
import type { LiveEvent, LiveFeed, MetricsSnapshot } from '#application/metrics/live.js';
import type { EventStore, RecordedEvent, Subscription } from '#application/shared/eventStore.js';
import type { Clock } from '#application/shared/runtime.js';
import {
  foldMetrics,
  initialMetricsState,
  METRICS_EVENT_TYPES,
  snapshotOf,
  toLiveEvent,
  type MetricsState,
  type ProjectionLag,
} from './model.js';

export type LiveFeedLogger = { warn(message: string, meta?: Record<string, unknown>): unknown };

export type LiveFeedOptions = {
  store: EventStore;
  /** cluster-wide projection lag, e.g. () => projectionStatus(db, store, projections); polled, never overlapping */
  projectionStatus?: () => Promise<readonly ProjectionLag[]>;
  clock: Clock;
  /**
   * Where the fold starts: the metrics projection's stored state (readMetricsState), so a start folds
   * only the events after its checkpoint. Without it (or before the projection's first event): position 0.
   */
  storedState?: () => Promise<MetricsState | null>;
  /** snapshot period (default 1000 ms) */
  intervalMs?: number;
  /** projection status period (default: intervalMs); each poll runs a few queries per projection */
  projectionStatusIntervalMs?: number;
  /** listed as 'unknown' until their first ProcessStarted/Stopped/Crashed */
  expectedProcesses?: readonly string[];
  /** restricts events$ to these types (default: every event) */
  liveEventTypes?: readonly string[];
  /** wait before resubscribing after a failed subscription (default 1000 ms) */
  retryMs?: number;
  logger?: LiveFeedLogger;
};

export type LiveFeedHandle = LiveFeed & {
  /** subscribes and resolves once the history is folded, so the first snapshot is already right */
  start: () => Promise<void>;
  /** stops the subscriptions and timers and completes both streams; idempotent */
  stop: () => Promise<void>;
  /** a snapshot computed now (what Prometheus scrapes read) */
  current: () => MetricsSnapshot;
};

/**
 * The live metrics feed of one process: folds the metric events (from the stored projection's
 * checkpoint, then live) into the model, emits a snapshot every interval and every newly appended event as it comes.
 * Two subscriptions on purpose: the fold needs the history of a few types, the event stream
 * needs every type but only from now on (replaying history to a dashboard would flood it).
 */
export const createLiveFeed = (options: LiveFeedOptions): LiveFeedHandle => {
  const { store } = options;
  const { clock } = options;
  const intervalMs = options.intervalMs ?? 1_000;
  const retryMs = options.retryMs ?? 1_000;
  const logger = options.logger ?? { warn: () => undefined };

  let state: MetricsState = initialMetricsState();
  let projections: readonly ProjectionLag[] = [];
  const snapshot = () => snapshotOf(state, clock(), { projections, expectedProcesses: options.expectedProcesses });

  const snapshots = new BehaviorSubject<MetricsSnapshot>(snapshot());
  const events = new Subject<LiveEvent>();
  const rx: RxSubscription[] = [];
  const subscriptions = new Set<Subscription>();
  const retries = new Set<NodeJS.Timeout>();
  let started: Promise<void> | null = null;
  let stopping: Promise<void> | null = null;
  // stop() during start() must not leave start() waiting for a catch-up that will never come.
  let releaseStart: () => void = () => undefined;

  /** Subscribes after `checkpoint()`; on failure, waits and resubscribes from wherever the handler got to. */
  const follow = (
    name: string,
    subscribe: (after: number, onError: (error: Error) => void) => Subscription,
    checkpoint: () => number,
  ) => {
    const open = () => {
      if (stopping) return;
      const subscription = subscribe(checkpoint(), (error) => {
        subscriptions.delete(subscription);
        logger.warn('live metrics: subscription failed; resubscribing', {
          subscription: name,
          error: error.message,
          position: checkpoint(),
        });
        const retry = setTimeout(() => {
          retries.delete(retry);
          open();
        }, retryMs);
        retries.add(retry);
      });
      subscriptions.add(subscription);
    };
    open();
  };

  const start = async (): Promise<void> => {
    const stored = options.storedState ? await options.storedState() : null;
    if (stored !== null && stored.position > state.position) state = stored;
    const head = await store.headPosition();
    let lastLive = head;
    follow(
      'events',
      (after, onError) =>
        store.subscribeToAll({
          after,
          ...(options.liveEventTypes ? { filter: { eventTypes: options.liveEventTypes } } : {}),
          onEvent: (event: RecordedEvent) => {
            if (event.position <= lastLive) return;
            lastLive = event.position;
            events.next(toLiveEvent(event));
          },
          onError,
        }),
      () => lastLive,
    );

    const caughtUp = new Promise<void>((resolve) => {
      releaseStart = resolve;
      follow(
        'model',
        (after, onError) =>
          store.subscribeToAll({
            after,
            filter: { eventTypes: METRICS_EVENT_TYPES },
            onEvent: (event: RecordedEvent) => {
              state = foldMetrics(state, event, clock());
            },
            onError,
            onCaughtUp: () => resolve(),
          }),
        () => state.position,
      );
    });

    if (options.projectionStatus) {
      const poll = options.projectionStatus;
      rx.push(
        timer(0, options.projectionStatusIntervalMs ?? intervalMs)
          .pipe(
            // A slow status query skips ticks instead of stacking up behind itself.
            exhaustMap(() =>
              defer(poll).pipe(
                catchError((error: unknown) => {
                  logger.warn('live metrics: projection status failed; keeping the last one', {
                    error: error instanceof Error ? error.message : String(error),
                  });
                  return EMPTY;
                }),
              ),
            ),
          )
          .subscribe((latest) => {
            projections = latest;
          }),
      );
    }

    await caughtUp;
    if (stopping) return;
    rx.push(
      timer(0, intervalMs)
        .pipe(map(snapshot))
        .subscribe((next) => snapshots.next(next)),
    );
  };

  return {
    snapshots$: snapshots.asObservable(),
    events$: events.asObservable(),
    current: snapshot,
    start: () => (started ??= start()),
    stop: () =>
      (stopping ??= (async () => {
        releaseStart();
        for (const retry of retries) clearTimeout(retry);
        retries.clear();
        for (const subscription of rx.splice(0)) subscription.unsubscribe();
        await Promise.all([...subscriptions].map((subscription) => subscription.stop()));
        subscriptions.clear();
        snapshots.complete();
        events.complete();
      })()),
  };
};
