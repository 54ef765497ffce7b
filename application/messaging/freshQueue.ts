import type { EventStore, RecordedEvent, Subscription } from '#application/shared/eventStore.js';
import type { MessageQueued } from '#domain/messaging/events.js';
import type { DueMessage, MessagingLog } from './ports.js';

export type FreshQueue = {
  /** messages queued since the feed started, oldest first, not yet taken (at most `limit`) */
  peek(limit: number): DueMessage[];
  /** the dispatcher launched it, or another worker claimed it: forget it */
  remove(messageId: string): void;
  /** the MessageQueued event a message in the feed came from (its stream's first event, revision 0) */
  queuedEvent(messageId: string): RecordedEvent<MessageQueued> | undefined;
  size(): number;
  stop(): Promise<void>;
};

/**
 * The worker's fast path to new messages: `MessageQueued` straight from the store's subscription, so a
 * message can be claimed and sent without waiting for the outbound-queue projection (its own batch
 * and checkpoint) and the next poll of it. Only an accelerator: the queue projection stays the source
 * of truth for everything else (retries, requeues, messages queued before the worker started, a
 * worker that restarts), which the dispatcher still polls; a message is claimed the same way whichever
 * path found it, so two workers never send the same message, and the outbound decider refuses an
 * attempt on a message that was sent meanwhile. Bounded: past `capacity` new messages wait for the poll.
 */
export const startFreshQueue = (options: {
  store: EventStore;
  log: MessagingLog;
  /** only messages of numbers this worker holds are kept */
  holds: (numberId: string) => boolean;
  /** a message arrived: wake the dispatcher */
  onArrival: () => void;
  capacity?: number;
  retryMs?: number;
}): FreshQueue => {
  const capacity = options.capacity ?? 1_000;
  const fresh = new Map<string, DueMessage>();
  const events = new Map<string, RecordedEvent<MessageQueued>>();
  let subscription: Subscription | null = null;
  let stopped = false;
  let timer: NodeJS.Timeout | null = null;

  const dueOf = (event: RecordedEvent<MessageQueued>): DueMessage => ({
    messageId: event.data.messageId,
    numberId: event.data.numberId,
    chatId: event.data.chatId,
    to: event.data.to,
    text: event.data.text,
    template: event.data.template,
    correlationId: event.metadata.correlationId,
    queuedEventId: event.id,
  });

  const subscribe = (after: number) => {
    if (stopped) return;
    let seen = after;
    subscription = options.store.subscribeToAll({
      after,
      filter: { eventTypes: ['MessageQueued'] },
      onEvent: (event) => {
        seen = event.position;
        if (event.type !== 'MessageQueued') return;
        const queued = event as RecordedEvent<MessageQueued>;
        if (fresh.size >= capacity || !options.holds(queued.data.numberId)) return;
        fresh.set(queued.data.messageId, dueOf(queued));
        events.set(queued.data.messageId, queued);
        options.onArrival();
      },
      onError: (error) => {
        // Nothing is lost: what the feed misses, the poll of the queue finds.
        options.log.warn('fresh queue feed failed; the queue poll carries on alone until it is back', { error });
        subscription = null;
        if (!stopped) timer = setTimeout(() => subscribe(seen), options.retryMs ?? 1_000);
      },
    });
  };
  const start = async () => {
    for (let attempt = 1; !stopped; attempt++) {
      try {
        return subscribe(await options.store.headPosition());
      } catch {
        await new Promise((resolve) => {
          timer = setTimeout(resolve, Math.min(10_000, 250 * attempt));
        });
      }
    }
  };
  const starting = start();

  return {
    peek: (limit) => {
      const out: DueMessage[] = [];
      for (const message of fresh.values()) {
        if (out.length >= limit) break;
        out.push(message);
      }
      return out;
    },
    remove: (messageId) => {
      fresh.delete(messageId);
      events.delete(messageId);
    },
    queuedEvent: (messageId) => events.get(messageId),
    size: () => fresh.size,
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await starting;
      await subscription?.stop();
      fresh.clear();
      events.clear();
    },
  };
};
