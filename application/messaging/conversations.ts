import { handleCommand, loadAggregate, type CommandContext } from '#application/shared/commandHandler.js';
import { loadAggregateCached } from '#application/shared/aggregateCache.js';
import type { EventStore } from '#application/shared/eventStore.js';
import type { Runtime } from '#application/shared/runtime.js';
import { chatDecider } from '#domain/messaging/chat.js';
import { MessageNotFound } from '#domain/messaging/errors.js';
import { chatStreamId, messageStreamId } from '#domain/messaging/events.js';
import { outboundDecider } from '#domain/messaging/outbound.js';
import type { MessagingLog } from './ports.js';

export type ConversationDeps = { store: EventStore; runtime: Runtime; log: MessagingLog };

export type ChatRef = { chatId: string; numberId: string; contact: string };

/** Human takeover: while paused, inbound messages are stored and not answered. */
export const setPaused = async (
  deps: ConversationDeps,
  chat: ChatRef,
  paused: boolean,
  context: CommandContext,
): Promise<{ changed: boolean }> => {
  const data = { chatId: chat.chatId, numberId: chat.numberId, contact: chat.contact, by: context.actor };
  const result = await handleCommand(
    deps.store,
    chatStreamId(chat.chatId),
    chatDecider,
    () => (paused ? { type: 'PauseConversation' as const, data } : { type: 'ResumeConversation' as const, data }),
    context,
    { runtime: deps.runtime },
  );
  const changed = result.events.length > 0;
  if (changed) deps.log.info(paused ? 'conversation paused' : 'conversation resumed', { chatId: chat.chatId });
  return { changed };
};

/**
 * Is the bot paused on this chat? From the chat's own stream, not the read model: the process's cached
 * fold plus the events after it (a long chat is not re-read on every message).
 */
export const isPaused = async (store: EventStore, chatId: string): Promise<boolean> => {
  const { state } = await loadAggregateCached(store, chatStreamId(chatId), chatDecider);
  return state.status === 'open' && state.paused;
};

/** An admin's answer to a dead letter: send it again (attempts start over) or give up on it. */
export const resolveDeadLetter = async (
  deps: ConversationDeps,
  messageId: string,
  action: 'requeue' | 'drop',
  context: CommandContext,
): Promise<void> => {
  const { revision } = await loadAggregate(deps.store, messageStreamId(messageId), outboundDecider);
  if (revision === -1) throw new MessageNotFound(messageId);
  await handleCommand(
    deps.store,
    messageStreamId(messageId),
    outboundDecider,
    () =>
      action === 'requeue'
        ? { type: 'RequeueMessage' as const, data: { by: context.actor } }
        : { type: 'DropMessage' as const, data: { by: context.actor } },
    context,
    { runtime: deps.runtime },
  );
  deps.log.info(action === 'requeue' ? 'dead letter requeued' : 'message dropped', { messageId });
};
