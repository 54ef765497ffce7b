import { handleCommand, type CommandContext } from '#application/shared/commandHandler.js';
import type { EventStore, RecordedEvent, Subscription } from '#application/shared/eventStore.js';
import type { Runtime } from '#application/shared/runtime.js';
import { messageStreamId, type MessageQueued } from '#domain/messaging/events.js';
import { outboundDecider } from '#domain/messaging/outbound.js';
import {
  RUNTIME_REQUEST_TYPES,
  RUNTIME_STREAM_PREFIX,
  runtimeStreamId,
  type NumberRuntimeEvent,
  type RuntimeOutcome,
} from '#domain/runtime/events.js';
import { numberRuntimeDecider, type RuntimeRequestState } from '#domain/runtime/numberRuntime.js';
import type { ChannelAdapter, ChannelSink, OutboundContent, SendOutcome } from './channel.js';
import { startFreshQueue } from './freshQueue.js';
import { backoffDelayMs, createPacer } from './pacing.js';
import type {
  ChannelFactory,
  DueMessage,
  MessagingLog,
  MessagingQueries,
  NumberInfo,
  NumberLeases,
  OutboundQueue,
  WorkerInfo,
} from './ports.js';
import { wakeableSleep } from '#application/shared/wakeableSleep.js';

export type DispatcherOptions = {
  store: EventStore;
  runtime: Runtime;
  log: MessagingLog;
  queue: OutboundQueue;
  leases: NumberLeases;
  queries: Pick<MessagingQueries, 'numbers'>;
  channels: ChannelFactory;
  sink: ChannelSink;
  worker: WorkerInfo;
  newCorrelationId: () => string;
  /** sends in flight at once (default 8) */
  concurrency?: number;
  /** attempts before a retryable failure is dead-lettered (default 5) */
  maxAttempts?: number;
  /** a claimed message is this worker's for so long; a dead worker's claims run out (default 30 s) */
  claimMs?: number;
  /** a number's lease; a dead worker's numbers move when it runs out (default 10 s) */
  numberLeaseMs?: number;
  backoff?: { baseMs: number; maxMs: number };
  /** idle poll of the queue (default 100 ms) */
  pollMs?: number;
  random?: () => number;
};

export type Dispatcher = {
  /** numbers this worker holds now */
  heldNumbers(): string[];
  /** held numbers whose runtime runs (channel open, queue drained); a stopped number's queue waits */
  runningNumbers(): string[];
  /** sends in flight now */
  inFlight(): number;
  stop(): Promise<void>;
};

const REQUEST_TYPES: ReadonlySet<string> = new Set(Object.values(RUNTIME_REQUEST_TYPES));

const contentOf = (message: DueMessage): OutboundContent =>
  message.template !== null
    ? { kind: 'template', template: message.template }
    : { kind: 'text', text: message.text ?? '' };

/**
 * The worker's send loop. Numbers are divided between workers by lease; each queued message of a held
 * number is claimed (so no two workers send it), MessageSendAttempted is appended before the call and
 * MessageSent/MessageSendFailed after it, retries wait with exponential backoff and jitter, and after
 * the last attempt or a permanent error the message is dead-lettered. At least once: a worker killed
 * between the call and the outcome leaves an attempt in doubt, which the next attempt resolves from a
 * provider status echoing our message id, or sends again.
 *
 * Runtime control: the worker holding a number runs its channel (the port's optional lifecycle). It
 * opens it when it takes the number (unless an admin stopped the number's runtime), obeys the number's
 * start/stop/restart/logout requests (`runtime-<numberId>`, followed by a store subscription) and
 * records each outcome through the runtime decider, and closes it when it loses the lease or shuts
 * down. Lifecycle steps of one number run one after the other; a stopped number's queue is not drained
 * (its messages wait, nothing is lost).
 */
export const startDispatcher = (options: DispatcherOptions): Dispatcher => {
  const { store, runtime, log, queue, leases, worker } = options;
  const concurrency = options.concurrency ?? 8;
  const maxAttempts = options.maxAttempts ?? 5;
  const claimMs = options.claimMs ?? 30_000;
  const numberLeaseMs = options.numberLeaseMs ?? 10_000;
  const backoff = options.backoff ?? { baseMs: 1_000, maxMs: 300_000 };
  const pollMs = options.pollMs ?? 100;
  const random = options.random ?? Math.random;
  const pacer = createPacer({ random });
  const adapters = new Map<string, ChannelAdapter>();
  const sending = new Map<string, Promise<void>>();
  const sendingNumber = new Map<string, string>();
  const running = new Set<string>();
  const lifecycle = new Map<string, Promise<void>>();
  /** held numbers whose channel failed to open on take-over, opened again on the next lease round */
  const reopen = new Set<string>();
  let subscription: Subscription | null = null;
  let held: string[] = [];
  let stopped = false;
  // The drain loop's pause between rounds, cut short by news (a fresh message, a freed slot, a stop).
  const { sleep: pause, wake: nudge } = wakeableSleep();
  const sleepers = new Set<() => void>();
  // Sleeps that end early when the dispatcher stops.
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        sleepers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      sleepers.add(done);
    });

  // ---- runtime: the channel's lifecycle per number, one step after the other ---------------------
  const serially = (numberId: string, step: () => Promise<void>): Promise<void> => {
    const next = (lifecycle.get(numberId) ?? Promise.resolve()).then(step).catch((error: unknown) => {
      log.error('number runtime step failed', { numberId, error });
    });
    lifecycle.set(numberId, next);
    void next.finally(() => {
      if (lifecycle.get(numberId) === next) lifecycle.delete(numberId);
    });
    return next;
  };
  /** the number's sends in flight, finished (a stop or restart waits for them before closing) */
  const settle = async (numberId: string) => {
    const mine = [...sending].filter(([messageId]) => sendingNumber.get(messageId) === numberId).map(([, p]) => p);
    await Promise.all(mine);
  };
  const openChannel = async (numberId: string, adapter: ChannelAdapter) => {
    await adapter.open?.();
    running.add(numberId);
    nudge();
  };
  const closeChannel = async (numberId: string, adapter: ChannelAdapter) => {
    running.delete(numberId);
    await settle(numberId);
    await adapter.close?.();
  };
  /** the outcome carries the request's correlation id and names the request event as its cause */
  const obey = async (
    numberId: string,
    request: RuntimeRequestState,
    cause: { eventId: string; correlationId: string } | undefined,
  ) => {
    const adapter = adapters.get(numberId);
    if (!adapter) return; // no longer ours: the new holder obeys
    const context: CommandContext = {
      correlationId: cause?.correlationId ?? options.newCorrelationId(),
      causationId: cause?.eventId ?? null,
      actor: 'system',
    };
    let result: { ok: true; outcome: RuntimeOutcome } | { ok: false; error: string };
    try {
      switch (request.action) {
        case 'start':
          await openChannel(numberId, adapter);
          result = { ok: true, outcome: 'running' };
          break;
        case 'stop':
          await closeChannel(numberId, adapter);
          result = { ok: true, outcome: 'stopped' };
          break;
        case 'restart':
          await closeChannel(numberId, adapter);
          await openChannel(numberId, adapter);
          result = { ok: true, outcome: 'running' };
          break;
        case 'logout':
          running.delete(numberId);
          await settle(numberId);
          // A channel without a session (simulator, Cloud API) has nothing to end: logging out stops it.
          if (adapter.logout) await adapter.logout();
          else await adapter.close?.();
          result = { ok: true, outcome: adapter.logout ? 'logged_out' : 'stopped' };
          break;
      }
    } catch (error) {
      result = { ok: false, error: error instanceof Error ? error.message : String(error) };
    }
    const recorded = await handleCommand(
      store,
      runtimeStreamId(numberId),
      numberRuntimeDecider,
      () => ({
        type: 'RecordRuntimeOutcome' as const,
        data: { requestId: request.requestId, numberId, workerId: worker.workerId, ...result },
      }),
      context,
      { runtime },
    );
    if (recorded.events.length === 0) return;
    if (result.ok)
      log.info('runtime request done', {
        numberId,
        requestId: request.requestId,
        action: request.action,
        outcome: result.outcome,
      });
    else
      log.warn('runtime request failed', {
        numberId,
        requestId: request.requestId,
        action: request.action,
        error: result.error,
      });
  };
  /** obeys the number's open requests, oldest first; on taking the number, opens it unless it is stopped */
  const reconcile = async (numberId: string, takingOver: boolean) => {
    if (!adapters.has(numberId)) return;
    const recorded = await store.readStream<NumberRuntimeEvent>(runtimeStreamId(numberId));
    const state = recorded.reduce(
      (s, e) => numberRuntimeDecider.evolve(s, { type: e.type, data: e.data } as NumberRuntimeEvent),
      numberRuntimeDecider.initialState(),
    );
    const causes = new Map(
      recorded
        .filter((e) => REQUEST_TYPES.has(e.type))
        .map((e) => [
          (e.data as { requestId: string }).requestId,
          { eventId: e.id, correlationId: e.metadata.correlationId },
        ]),
    );
    if (takingOver && state.open.length === 0) {
      const adapter = adapters.get(numberId)!;
      if (state.desired === 'running')
        try {
          await openChannel(numberId, adapter);
        } catch (error) {
          // No request to answer: try again on the next lease round (a request in between decides instead).
          reopen.add(numberId);
          log.warn('number runtime open failed, will retry', { numberId, error });
        }
      else log.info('number runtime stopped: its queue waits', { numberId });
    }
    for (const request of state.open) await obey(numberId, request, causes.get(request.requestId));
  };

  // ---- numbers: who serves which -----------------------------------------------------------------
  const balance = async () => {
    const now = runtime.clock();
    await leases.heartbeat(worker, now);
    const live = Math.max(1, await leases.liveWorkers(new Date(now.getTime() - numberLeaseMs)));
    const numbers = (await options.queries.numbers()).filter((n) => n.status === 'active');
    const share = Math.ceil(numbers.length / live);
    const holders = await leases.holders(now);
    const until = new Date(now.getTime() + numberLeaseMs);
    const mine: NumberInfo[] = [];
    for (const number of numbers) {
      const holder = holders.get(number.numberId);
      if (holder === worker.workerId || (holder === undefined && mine.length < share)) {
        if (holder === worker.workerId && mine.length >= share) {
          // Over our fair share (a worker joined): hand the number over.
          await leases.release(number.numberId, worker.workerId);
          continue;
        }
        if (await leases.acquire(number.numberId, worker.workerId, now, until)) mine.push(number);
      }
    }
    const ids = mine.map((n) => n.numberId);
    for (const id of held) if (!ids.includes(id)) log.info('number lease released', { numberId: id });
    for (const number of mine) {
      if (!held.includes(number.numberId)) log.info('number lease taken', { numberId: number.numberId });
      if (!adapters.has(number.numberId)) {
        const adapter = await options.channels(number, options.sink);
        if (adapter) {
          adapters.set(number.numberId, adapter);
          void serially(number.numberId, () => reconcile(number.numberId, true));
        }
      }
    }
    for (const [id, adapter] of [...adapters]) {
      if (ids.includes(id)) continue;
      // Lost the lease: stop draining at once, close the channel (the session is kept for the next holder).
      adapters.delete(id);
      running.delete(id);
      void serially(id, () => closeChannel(id, adapter));
    }
    held = ids.filter((id) => adapters.has(id));
    for (const id of [...reopen]) {
      reopen.delete(id);
      if (adapters.has(id) && !running.has(id)) void serially(id, () => reconcile(id, true));
    }
  };

  // ---- one message -------------------------------------------------------------------------------
  /**
   * The claim's hold after the outcome is recorded, off the send's slot: the outcome is in the store
   * already (the message's stream decides whether it is sent again), the claim still runs from the
   * claim, and the holds of sends that finish together are written in one statement (sqlQueue.ts).
   * `stop` waits for them.
   */
  const holds = new Set<Promise<void>>();
  const holdLater = (messageId: string, until: Date) => {
    const held = queue.hold(messageId, worker.workerId, until).catch((error: unknown) => {
      // The claim runs out on its own: at worst the poll offers the message again and its stream refuses it.
      log.warn('claim hold failed', { messageId, error });
    });
    holds.add(held);
    void held.finally(() => holds.delete(held));
  };
  /**
   * `queued`: the MessageQueued the fast path saw. A message just queued has that one event (revision
   * 0), so the attempt decides on it without reading the stream; anything written since (another
   * worker's attempt, a drop) makes the append conflict and the attempt re-read and decide again.
   */
  const send = async (
    message: DueMessage,
    adapter: ChannelAdapter,
    queued?: RecordedEvent<MessageQueued>,
  ): Promise<void> => {
    const context: CommandContext = {
      correlationId: message.correlationId ?? options.newCorrelationId(),
      causationId: message.queuedEventId,
      actor: 'system',
    };
    const stream = messageStreamId(message.messageId);
    const started = await handleCommand(
      store,
      stream,
      outboundDecider,
      () => ({ type: 'StartSendAttempt' as const, data: { worker: worker.workerId } }),
      context,
      {
        runtime,
        ...(queued === undefined
          ? {}
          : {
              known: {
                state: outboundDecider.evolve(outboundDecider.initialState(), {
                  type: queued.type,
                  data: queued.data,
                }),
                revision: queued.revision,
              },
            }),
      },
    );
    const first = started.events[0];
    if (first?.type !== 'MessageSendAttempted') {
      // Sent, dead-lettered or dropped meanwhile, or an in-doubt attempt resolved from a status.
      if (first?.type === 'MessageSent')
        log.info('in-doubt send resolved from a status', { messageId: message.messageId });
      holdLater(message.messageId, new Date(runtime.clock().getTime() + claimMs));
      return;
    }
    const attempt = first.data.attempt;
    if (first.data.afterInDoubt)
      log.warn('resending a message whose previous attempt is in doubt', { messageId: message.messageId, attempt });
    let outcome: SendOutcome;
    try {
      outcome = await adapter.send({
        messageId: message.messageId,
        numberId: message.numberId,
        to: message.to,
        content: contentOf(message),
        attempt,
      });
    } catch (error) {
      // Adapters classify provider answers themselves; a throw is a bug or a network failure: retry.
      outcome = {
        status: 'failed',
        retryable: true,
        code: 'adapter_error',
        message: error instanceof Error ? error.message : String(error),
      };
    }
    const attemptsSoFar = started.state.status === 'none' ? 1 : started.state.attempts + 1;
    const delay =
      outcome.status === 'failed' ? backoffDelayMs(attemptsSoFar, backoff, random, outcome.retryAfterMs) : 0;
    const nextAttemptAt = new Date(runtime.clock().getTime() + delay);
    const recorded = await handleCommand(
      store,
      stream,
      outboundDecider,
      () => ({
        type: 'RecordSendOutcome' as const,
        data: {
          attempt,
          outcome:
            outcome.status === 'sent'
              ? { status: 'sent' as const, providerMessageId: outcome.providerMessageId }
              : {
                  status: 'failed' as const,
                  retryable: outcome.retryable,
                  code: outcome.code,
                  error: outcome.message.slice(0, 500),
                },
          maxAttempts,
          nextAttemptAt: nextAttemptAt.toISOString(),
        },
      }),
      context,
      { runtime, known: { state: started.state, revision: started.nextExpectedRevision } },
    );
    const types = recorded.events.map((e) => e.type);
    if (outcome.status === 'sent') log.info('message sent', { messageId: message.messageId, attempt });
    else if (types.includes('MessageDeadLettered'))
      log.warn('message dead-lettered', { messageId: message.messageId, attempt, code: outcome.code });
    else
      log.warn('send failed, will retry', {
        messageId: message.messageId,
        attempt,
        code: outcome.code,
        delayMs: delay,
      });
    const retry = outcome.status === 'failed' && !types.includes('MessageDeadLettered');
    holdLater(message.messageId, retry ? nextAttemptAt : new Date(runtime.clock().getTime() + claimMs));
  };

  const launch = (message: DueMessage, adapter: ChannelAdapter, queued?: RecordedEvent<MessageQueued>) => {
    const run = send(message, adapter, queued)
      .catch((error: unknown) => {
        // The store or the database failed mid-send: the claim runs out and the message is retried.
        log.error('send step failed', { messageId: message.messageId, error });
      })
      .finally(() => {
        pacer.done(message.numberId, message.to, runtime.clock().getTime());
        sending.delete(message.messageId);
        nudge();
      });
    sending.set(message.messageId, run);
    sendingNumber.set(message.messageId, message.numberId);
    void run.finally(() => sendingNumber.delete(message.messageId));
  };

  // New messages straight from the store (freshQueue.ts), so a send need not wait for the queue
  // projection and the next poll; the poll of the queue read model stays for everything else.
  let arrived = false;
  const fresh = startFreshQueue({
    store,
    log,
    holds: (numberId) => held.includes(numberId),
    onArrival: () => {
      arrived = true;
      nudge();
    },
  });
  let lastPoll = Number.NEGATIVE_INFINITY;

  const drain = async (): Promise<boolean> => {
    arrived = false;
    if (held.length === 0 || sending.size >= concurrency) return false;
    const now = runtime.clock();
    const serving = held.filter((id) => running.has(id));
    if (serving.length === 0) return false;
    const room = concurrency * 4;
    // The fast path first; the read model when it has nothing, and at least every pollMs (retries,
    // requeues, what was queued before this worker started or while its feed was down).
    let due = fresh.peek(room);
    if (due.length === 0 || now.getTime() - lastPoll >= pollMs) {
      lastPoll = now.getTime();
      const seen = new Set(due.map((m) => m.messageId));
      due = [...due, ...(await queue.due(serving, now, room)).filter((m) => !seen.has(m.messageId))];
    }
    const chosen: Array<{ message: DueMessage; adapter: ChannelAdapter; queued?: RecordedEvent<MessageQueued> }> = [];
    for (const message of due) {
      if (stopped || sending.size + chosen.length >= concurrency) break;
      if (sending.has(message.messageId)) {
        fresh.remove(message.messageId);
        continue;
      }
      const adapter = adapters.get(message.numberId);
      if (!adapter || !running.has(message.numberId)) {
        // not ours or stopped: the poll finds it when it may go
        fresh.remove(message.messageId);
        continue;
      }
      if (!pacer.tryAcquire(message.numberId, message.to, adapter.limits, now.getTime())) continue;
      chosen.push({ message, adapter, queued: fresh.queuedEvent(message.messageId) });
    }
    // Claimed here or by another worker: either way the fast path is done with it.
    for (const { message } of chosen) fresh.remove(message.messageId);
    const claimed = new Set(
      await queue.claim(
        chosen.map((c) => c.message.messageId),
        worker.workerId,
        now,
        new Date(now.getTime() + claimMs),
      ),
    );
    let launched = false;
    for (const { message, adapter, queued } of chosen) {
      if (!claimed.has(message.messageId)) {
        // someone else holds it: give the pacing slot back
        pacer.done(message.numberId, message.to, Number.NEGATIVE_INFINITY);
        continue;
      }
      launch(message, adapter, queued);
      launched = true;
    }
    return launched;
  };

  // Requests appended from now on arrive through the subscription; older open ones are found when the
  // number is taken (reconcile folds its stream), so the head is read before the first lease round.
  const ready = (async () => {
    while (!stopped) {
      try {
        const after = await store.headPosition();
        if (stopped) return;
        subscription = store.subscribeToAll({
          after,
          filter: { streamPrefixes: [RUNTIME_STREAM_PREFIX] },
          onEvent: (event) => {
            if (!REQUEST_TYPES.has(event.type)) return;
            const numberId = (event.data as { numberId?: unknown }).numberId;
            if (typeof numberId === 'string' && adapters.has(numberId))
              void serially(numberId, () => reconcile(numberId, false));
          },
          onError: (error) => log.error('runtime request subscription failed', { error }),
        });
        return;
      } catch (error) {
        // The store is not answering yet: nothing can be leased either, so wait and try again.
        log.warn('runtime request subscription failed, will retry', { error });
        await sleep(1_000);
      }
    }
  })();

  const leaseLoop = (async () => {
    await ready;
    while (!stopped) {
      try {
        await balance();
      } catch (error) {
        log.warn('number lease round failed', { error });
      }
      if (!stopped) await sleep(Math.max(200, numberLeaseMs / 4));
    }
  })();
  const drainLoop = (async () => {
    while (!stopped) {
      let launched = false;
      try {
        launched = await drain();
      } catch (error) {
        log.warn('queue poll failed', { error });
      }
      if (!stopped && !arrived) await pause(launched ? 5 : pollMs);
    }
  })();

  return {
    heldNumbers: () => [...held],
    runningNumbers: () => held.filter((id) => running.has(id)),
    inFlight: () => sending.size,
    async stop() {
      if (stopped) return;
      stopped = true;
      nudge();
      for (const wakeUp of [...sleepers]) wakeUp();
      await Promise.all([leaseLoop, drainLoop, ...sending.values()]);
      await Promise.all([...holds]);
      await subscription?.stop();
      await fresh.stop();
      // Close every channel (sessions are kept: the next holder resumes them), after any step under way.
      for (const [id, adapter] of [...adapters]) void serially(id, () => closeChannel(id, adapter));
      adapters.clear();
      await Promise.all([...lifecycle.values()]);
      // Hand the numbers over at once instead of letting their leases run out.
      for (const id of held) await leases.release(id, worker.workerId).catch(() => undefined);
      await leases.stopWorker(worker.workerId).catch(() => undefined);
    },
  };
};
