import type { Decider } from '#domain/shared/event.js';
import { UnknownMessagingCommand } from './errors.js';
import type { ChatEvent, Command, ConversationPaused, ConversationResumed, MessageReceived } from './events.js';

/**
 * Chat aggregate, stream `chat-<chatId>`: what a contact sent to one number, and whether the bot is
 * paused (human takeover). Inbound messages are idempotent on the provider's message id.
 */
export type ChatState =
  | Readonly<{ status: 'none' }>
  | Readonly<{
      status: 'open';
      chatId: string;
      numberId: string;
      contact: string;
      paused: boolean;
      lastInboundAt: string | null;
      /** provider message ids already recorded */
      received: ReadonlySet<string>;
    }>;

/** Commands carry exactly their event's data (the catalogue in events.ts is the one declaration). */
export type ReceiveMessage = Command<'ReceiveMessage', MessageReceived['data']>;
export type PauseConversation = Command<'PauseConversation', ConversationPaused['data']>;
export type ResumeConversation = Command<'ResumeConversation', ConversationResumed['data']>;
export type ChatCommand = ReceiveMessage | PauseConversation | ResumeConversation;

export const initialState = (): ChatState => ({ status: 'none' });

const isPaused = (state: ChatState): boolean => state.status === 'open' && state.paused;

export const decide = (command: ChatCommand, state: ChatState): ChatEvent[] => {
  switch (command.type) {
    case 'ReceiveMessage':
      // Meta retries webhooks; the same delivery twice appends once.
      if (state.status === 'open' && state.received.has(command.data.providerMessageId)) return [];
      return [{ type: 'MessageReceived', data: { ...command.data } }];
    case 'PauseConversation':
      return isPaused(state) ? [] : [{ type: 'ConversationPaused', data: { ...command.data } }];
    case 'ResumeConversation':
      return isPaused(state) ? [{ type: 'ConversationResumed', data: { ...command.data } }] : [];
    default: {
      const _exhaustive: never = command;
      throw new UnknownMessagingCommand((_exhaustive as { type?: unknown }).type);
    }
  }
};

const opened = (state: ChatState, chatId: string, numberId: string, contact: string) =>
  state.status === 'open'
    ? state
    : {
        status: 'open' as const,
        chatId,
        numberId,
        contact,
        paused: false,
        lastInboundAt: null,
        received: new Set<string>(),
      };

export const evolve = (state: ChatState, event: ChatEvent): ChatState => {
  const base = opened(state, event.data.chatId, event.data.numberId, event.data.contact);
  switch (event.type) {
    case 'MessageReceived':
      return {
        ...base,
        lastInboundAt:
          base.lastInboundAt !== null && base.lastInboundAt > event.data.sentAt
            ? base.lastInboundAt
            : event.data.sentAt,
        received: new Set([...base.received, event.data.providerMessageId]),
      };
    case 'ConversationPaused':
      return { ...base, paused: true };
    case 'ConversationResumed':
      return { ...base, paused: false };
    default: {
      const _exhaustive: never = event;
      return state;
    }
  }
};

export const chatDecider: Decider<ChatState, ChatCommand, ChatEvent> = { decide, evolve, initialState };
