import type { CommandContext } from '#application/shared/commandHandler.js';
import {
  isTransientStoreError,
  type EventStore,
  type RecordedEvent,
  type Subscription,
} from '#application/shared/eventStore.js';
import { DomainError } from '#domain/shared/event.js';
import { messageStreamId, type MessageReceived } from '#domain/messaging/events.js';
import type { AutoReplier } from './autoReply.js';
import { isPaused } from './conversations.js';
import { splitForWhatsApp } from '#domain/llm/split.js';
import { replyMessageIdFor, replyPartMessageIdFor } from './ids.js';
import { loadNumber } from './numbers.js';
import type { MessagingLog, MessagingQueries } from './ports.js';
import { queueMessage, type SendDeps } from './send.js';

/** Where a process manager keeps the position of the last event it handled. */
export interface ProcessCheckpoints {
  load(name: string): Promise<number>;
  save(name: string, position: number): Promise<void>;
}

export type ResponderDeps = {
  store: EventStore;
  send: SendDeps;
  replier: AutoReplier;
  queries: Pick<MessagingQueries, 'recentTurns'>;
  log: MessagingLog;
  /** turns of history handed to the replier (default 20) */
  historyLimit?: number;
};

export type ResponderOutcome = 'answered' | 'already_answered' | 'paused' | 'number_inactive' | 'no_reply';

/**
 * The responder process manager, for one inbound message: skips paused chats (human takeover) and
 * inactive numbers, asks the auto-replier, and queues its answer. The reply's message id is derived from
 * the inbound event's id, so a second run (a restart, another process) lands on the same stream and
 * queues nothing new: each inbound message is answered once. Causation = the inbound event. A reply
 * longer than WhatsApp's text limit is queued as parts (ids derived the same way), in order.
 */
export const answerInbound = async (
  deps: ResponderDeps,
  event: RecordedEvent<MessageReceived>,
): Promise<ResponderOutcome> => {
  const d = event.data;
  const replyId = replyMessageIdFor(event.id);
  // Three independent reads, in parallel: one round trip of latency instead of three.
  const [answered, paused, number] = await Promise.all([
    deps.store.readStream(messageStreamId(replyId), { maxCount: 1 }),
    isPaused(deps.store, d.chatId),
    loadNumber(deps.store, d.numberId),
  ]);
  if (answered.length > 0) return 'already_answered';
  if (paused) {
    deps.log.info('responder: chat paused, not answering', { chatId: d.chatId, messageId: d.messageId });
    return 'paused';
  }
  if (number?.status !== 'active') return 'number_inactive';
  const history =
    deps.replier.usesHistory === false
      ? []
      : await deps.queries.recentTurns(d.chatId, deps.historyLimit ?? 20, d.messageId);
  const reply = await deps.replier.reply({
    numberId: d.numberId,
    chatId: d.chatId,
    contact: d.contact,
    inboundMessageId: d.messageId,
    inboundEventId: event.id,
    correlationId: event.metadata.correlationId,
    text: d.text,
    history,
  });
  if (reply === null) return 'no_reply';
  const context: CommandContext = {
    correlationId: event.metadata.correlationId,
    causationId: event.id,
    actor: 'system',
  };
  // A long reply (an LLM's) goes as several messages, cut at sentence ends within WhatsApp's limit.
  const parts = splitForWhatsApp(reply.text);
  if (parts.length === 0) return 'no_reply';
  for (const [index, text] of parts.entries())
    await queueMessage(
      deps.send,
      {
        to: d.contact,
        text,
        numberId: d.numberId,
        source: 'bot',
        messageId: replyPartMessageIdFor(event.id, index),
        inReplyTo: d.messageId,
        number,
        // the first part's stream was read above and found empty; the others are read as usual
        streamAbsent: index === 0,
      },
      context,
    );
  deps.log.info('responder: reply queued', {
    chatId: d.chatId,
    messageId: replyId,
    source: reply.source,
    parts: parts.length,
  });
  return 'answered';
};

export const RESPONDER_CHECKPOINT = 'responder';

/**
 * Runs the responder on every MessageReceived after its checkpoint, several messages at once (one
 * at a time per chat, so a chat's replies keep their order). At least once: the checkpoint only
 * passes an event when it and every event before it are handled, so a crash replays the unfinished
 * ones, and the derived reply id makes a replay queue nothing new. A refusal of the domain (e.g. a
 * closed window after a long outage) skips the message with a warning; any other failure stops,
 * waits and starts again from the checkpoint, so no message is skipped.
 */
export const startResponder = (
  deps: ResponderDeps & { checkpoints: ProcessCheckpoints; retryMs?: number; concurrency?: number },
): { stop(): Promise<void> } => {
  const concurrency = deps.concurrency ?? 64;
  let subscription: Subscription | null = null;
  let stopped = false;
  let timer: NodeJS.Timeout | null = null;
  let generation = 0;

  const start = async () => {
    if (stopped) return;
    const run = ++generation;
    const after = await deps.checkpoints.load(RESPONDER_CHECKPOINT);
    /** positions handed out and not yet handled, in order */
    const pending: Array<{ position: number; done: boolean }> = [];
    const inFlight = new Set<Promise<void>>();
    const perChat = new Map<string, Promise<void>>();
    let saved = after;
    let saving: Promise<void> = Promise.resolve();
    let queuedSave = false;
    let failed: unknown = null;
    const advance = () => {
      let position = saved;
      while (pending.length > 0 && pending[0]!.done) position = pending.shift()!.position;
      if (position > saved && run === generation) {
        saved = position;
        // One write at a time, of the newest position: the positions passed while a write is in flight
        // are covered by the next one (a crash replays at most what the last write did not cover).
        if (queuedSave) return;
        queuedSave = true;
        saving = saving
          .then(() => {
            queuedSave = false;
            return run === generation ? deps.checkpoints.save(RESPONDER_CHECKPOINT, saved) : undefined;
          })
          .catch(() => undefined);
      }
    };
    subscription = deps.store.subscribeToAll({
      after,
      filter: { eventTypes: ['MessageReceived'] },
      onEvent: async (event) => {
        if (failed !== null) return;
        if (event.type !== 'MessageReceived') return;
        const inbound = event as RecordedEvent<MessageReceived>;
        const slot = { position: event.position, done: false };
        pending.push(slot);
        const previous = perChat.get(inbound.data.chatId) ?? Promise.resolve();
        const task = previous
          .then(() => answerInbound(deps, inbound))
          .then(
            () => undefined,
            (error: unknown) => {
              // A refusal is logged and skipped; a store that said "not now" restarts from the checkpoint.
              if (!(error instanceof DomainError) || isTransientStoreError(error)) throw error;
              deps.log.warn('responder: message not answered', { messageId: inbound.data.messageId, code: error.code });
            },
          )
          .then(
            () => {
              slot.done = true;
              advance();
            },
            (error: unknown) => {
              if (failed !== null) return;
              failed = error;
              // Stop here and start again from the checkpoint: the failed message is not skipped.
              deps.log.error('responder failed; restarting from its checkpoint', { error });
              const broken = subscription;
              subscription = null;
              void broken?.stop();
              if (!stopped) timer = setTimeout(() => void start().catch(restart), deps.retryMs ?? 2_000);
            },
          );
        perChat.set(inbound.data.chatId, task);
        const tracked = task.finally(() => {
          inFlight.delete(tracked);
          if (perChat.get(inbound.data.chatId) === task) perChat.delete(inbound.data.chatId);
        });
        inFlight.add(tracked);
        if (inFlight.size >= concurrency) await Promise.race(inFlight);
      },
      onError: (error) => {
        deps.log.error('responder failed; restarting from its checkpoint', { error });
        const broken = subscription;
        subscription = null;
        void broken?.stop();
        if (!stopped) timer = setTimeout(() => void start().catch(restart), deps.retryMs ?? 2_000);
      },
    });
  };
  const restart = (error: unknown) => {
    deps.log.error('responder could not start; retrying', { error });
    if (!stopped) timer = setTimeout(() => void start().catch(restart), deps.retryMs ?? 2_000);
  };
  void start().catch(restart);
  return {
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await subscription?.stop();
    },
  };
};
