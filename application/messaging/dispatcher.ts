import { handleCommand, type CommandContext } from '#application/shared/commandHandler.js';
import type { EventStore } from '#application/shared/eventStore.js';
import type { Runtime } from '#application/shared/runtime.js';
import { messageStreamId } from '#domain/messaging/events.js';
import { outboundDecider } from '#domain/messaging/outbound.js';
import type { ChannelAdapter, ChannelSink, OutboundContent, SendOutcome } from './channel.js';
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
  /** sends in flight now */
  inFlight(): number;
  stop(): Promise<void>;
};

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
  const pacer = createPacer();
  const adapters = new Map<string, ChannelAdapter>();
  const sending = new Map<string, Promise<void>>();
  let held: string[] = [];
  let stopped = false;
  let wake: (() => void) | null = null;
  const sleepers = new Set<() => void>();
  const nudge = () => wake?.();
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
  const pause = (ms: number) =>
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
        if (adapter) adapters.set(number.numberId, adapter);
      }
    }
    for (const id of [...adapters.keys()]) if (!ids.includes(id)) adapters.delete(id);
    held = ids.filter((id) => adapters.has(id));
  };

  // ---- one message -------------------------------------------------------------------------------
  const send = async (message: DueMessage, adapter: ChannelAdapter): Promise<void> => {
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
      { runtime },
    );
    const first = started.events[0];
    if (first?.type !== 'MessageSendAttempted') {
      // Sent, dead-lettered or dropped meanwhile, or an in-doubt attempt resolved from a status.
      if (first?.type === 'MessageSent')
        log.info('in-doubt send resolved from a status', { messageId: message.messageId });
      await queue.hold(message.messageId, worker.workerId, new Date(runtime.clock().getTime() + claimMs));
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
      { runtime },
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
    await queue.hold(
      message.messageId,
      worker.workerId,
      retry ? nextAttemptAt : new Date(runtime.clock().getTime() + claimMs),
    );
  };

  const launch = (message: DueMessage, adapter: ChannelAdapter) => {
    const run = send(message, adapter)
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
  };

  const drain = async (): Promise<boolean> => {
    if (held.length === 0 || sending.size >= concurrency) return false;
    const now = runtime.clock();
    const due = await queue.due(held, now, concurrency * 4);
    const chosen: Array<{ message: DueMessage; adapter: ChannelAdapter }> = [];
    for (const message of due) {
      if (stopped || sending.size + chosen.length >= concurrency) break;
      if (sending.has(message.messageId)) continue;
      const adapter = adapters.get(message.numberId);
      if (!adapter) continue;
      if (!pacer.tryAcquire(message.numberId, message.to, adapter.limits, now.getTime())) continue;
      chosen.push({ message, adapter });
    }
    const claimed = new Set(
      await queue.claim(
        chosen.map((c) => c.message.messageId),
        worker.workerId,
        now,
        new Date(now.getTime() + claimMs),
      ),
    );
    let launched = false;
    for (const { message, adapter } of chosen) {
      if (!claimed.has(message.messageId)) {
        // someone else holds it: give the pacing slot back
        pacer.done(message.numberId, message.to, Number.NEGATIVE_INFINITY);
        continue;
      }
      launch(message, adapter);
      launched = true;
    }
    return launched;
  };

  const leaseLoop = (async () => {
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
      if (!stopped) await pause(launched ? 5 : pollMs);
    }
  })();

  return {
    heldNumbers: () => [...held],
    inFlight: () => sending.size,
    async stop() {
      if (stopped) return;
      stopped = true;
      nudge();
      for (const wakeUp of [...sleepers]) wakeUp();
      await Promise.all([leaseLoop, drainLoop, ...sending.values()]);
      // Hand the numbers over at once instead of letting their leases run out.
      for (const id of held) await leases.release(id, worker.workerId).catch(() => undefined);
      await leases.stopWorker(worker.workerId).catch(() => undefined);
    },
  };
};
