import type { Decider } from '#domain/shared/event.js';
import { UnknownMessagingCommand } from './errors.js';
import type { ChatEvent, Command, ConversationPaused, ConversationResumed, MessageReceived } from './events.js';

/**
 * Chat aggregate, stream `chat-<chatId>`: what a contact sent to one number, and whether the bot is
 * paused (human takeover).
 *
 * Inbound messages are idempotent on the provider's message id, but not through this state: the state
 * stays constant-size (no set of every id ever received, which made each fold quadratic and each inbound
 * message a read of the whole history). `ReceiveMessage` decides the same whatever the state, so the
 * application appends its `MessageReceived` without reading the stream, under an event id derived from
 * (number, provider message id) (application/messaging/ids.ts `inboundEventIdFor`): the same delivery
 * twice is the same event id, which the store's idempotent append writes once.
 *
 * The trade-off, per store (tests/contract/eventStore.contract.ts): PostgreSQL and PGlite index every
 * event id forever, so a redelivery is recognised however late it comes. EventStoreDB recognises a
 * repeat only among the stream's last events (its adapter's `idempotenceWindow`, 32 by default): a
 * delivery repeated after 32 newer events on the same chat would be recorded twice there. Meta retries
 * a webhook within minutes, so that takes a very busy chat; raise the window if it matters.
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
      /** MessageReceived events in the stream */
      receivedCount: number;
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
      // Independent of the state on purpose (see above): Meta's retries of a webhook are absorbed by the
      // event id, so the application need not fold the chat's history to take a message.
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
        receivedCount: 0,
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
        receivedCount: base.receivedCount + 1,
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
