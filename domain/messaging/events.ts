import type { Event } from '#domain/shared/event.js';

/**
 * The messaging context's event catalogue (numbers, chats, outbound messages). Every message event
 * names its number.
 *
 * Streams:
 *  - `number-<numberId>`: a connected number (instance) and its lifecycle;
 *  - `chat-<chatId>`: inbound messages and human takeover (pause/resume) of one contact of one number;
 *  - `message-<messageId>`: one outbound message, queued to delivered.
 * `chatId` is a name-based UUID of (numberId, contact), not the phone number itself: stream names are
 * never encrypted, so a phone number in a stream name would survive the per-contact crypto-shredding
 * of a later issue. Personal data lives only in the data fields `contact`, `to`, `contactName`,
 * `text` and `template` (easy to find for that issue), never in stream names or log lines.
 */

export type ChannelKind = 'simulator' | 'cloud' | 'web';
export const CHANNEL_KINDS: readonly ChannelKind[] = ['simulator', 'cloud', 'web'];

/** A WhatsApp template message (the channel port's TemplateContent). */
export type MessageTemplate = {
  name: string;
  language: string;
  components?: readonly Record<string, unknown>[];
};

export type InboundKind =
  | 'text'
  | 'image'
  | 'audio'
  | 'video'
  | 'document'
  | 'sticker'
  | 'location'
  | 'contacts'
  | 'interactive'
  | 'reaction'
  | 'unsupported';

/** Who put a message in the queue. */
export type MessageSource = 'manual' | 'api' | 'bot' | 'scheduled';
export type DeliveryStatus = 'sent' | 'delivered' | 'read' | 'failed';

// ---- numbers -------------------------------------------------------------------------------------

export type NumberAdded = Event<
  'NumberAdded',
  {
    numberId: string;
    name: string;
    kind: ChannelKind;
    /** name of the Fernet secret holding the channel's credentials (never the credentials) */
    credentialsSecret: string | null;
    /** Cloud API phone-number id (not personal data: the business's own id at Meta) */
    phoneNumberId: string | null;
    by: string;
  }
>;
export type NumberDisabled = Event<'NumberDisabled', { numberId: string; by: string }>;
export type NumberEnabled = Event<'NumberEnabled', { numberId: string; by: string }>;
export type NumberRemoved = Event<'NumberRemoved', { numberId: string; by: string }>;

export type NumberEvent = NumberAdded | NumberDisabled | NumberEnabled | NumberRemoved;

// ---- chats ---------------------------------------------------------------------------------------

export type MessageReceived = Event<
  'MessageReceived',
  {
    messageId: string;
    numberId: string;
    chatId: string;
    contact: string;
    contactName: string | null;
    /** the provider's id: inbound messages are idempotent on it (Meta retries webhooks) */
    providerMessageId: string;
    kind: InboundKind;
    /** the text, or a readable placeholder for other kinds */
    text: string;
    sentAt: string;
  }
>;
export type ConversationPaused = Event<
  'ConversationPaused',
  { chatId: string; numberId: string; contact: string; by: string }
>;
export type ConversationResumed = Event<
  'ConversationResumed',
  { chatId: string; numberId: string; contact: string; by: string }
>;

export type ChatEvent = MessageReceived | ConversationPaused | ConversationResumed;

// ---- outbound messages ---------------------------------------------------------------------------

export type MessageQueued = Event<
  'MessageQueued',
  {
    messageId: string;
    numberId: string;
    chatId: string;
    /** recipient: E.164 digits without '+', or a JID */
    to: string;
    /** free text (null for a template send) */
    text: string | null;
    template: MessageTemplate | null;
    source: MessageSource;
    /** the caller's Idempotency-Key (the message id is derived from it) */
    idempotencyKey: string | null;
    /** the inbound message this answers (bot replies) */
    inReplyTo: string | null;
    by: string;
  }
>;
export type MessageSendAttempted = Event<
  'MessageSendAttempted',
  {
    messageId: string;
    numberId: string;
    chatId: string;
    attempt: number;
    /** process instance that makes the call */
    worker: string;
    /** a previous attempt's outcome was never recorded (its worker died): this may send twice */
    afterInDoubt: boolean;
  }
>;
export type MessageSent = Event<
  'MessageSent',
  {
    messageId: string;
    numberId: string;
    chatId: string;
    attempt: number;
    providerMessageId: string;
    /** true when an in-doubt attempt was resolved by a status the provider echoed with our id */
    resolvedFromStatus: boolean;
  }
>;
export type MessageSendFailed = Event<
  'MessageSendFailed',
  {
    messageId: string;
    numberId: string;
    chatId: string;
    attempt: number;
    retryable: boolean;
    code: string;
    error: string;
    /** when the next attempt may start; null when the message is dead-lettered instead */
    nextAttemptAt: string | null;
  }
>;
export type MessageDeadLettered = Event<
  'MessageDeadLettered',
  {
    messageId: string;
    numberId: string;
    chatId: string;
    attempts: number;
    reason: 'permanent_error' | 'max_attempts';
    code: string;
  }
>;
export type MessageRequeued = Event<
  'MessageRequeued',
  { messageId: string; numberId: string; chatId: string; by: string }
>;
export type MessageDropped = Event<
  'MessageDropped',
  { messageId: string; numberId: string; chatId: string; by: string }
>;
export type MessageStatusUpdated = Event<
  'MessageStatusUpdated',
  {
    messageId: string;
    numberId: string;
    chatId: string;
    providerMessageId: string;
    status: DeliveryStatus;
    at: string;
    errorCode: string | null;
    errorTitle: string | null;
  }
>;

export type OutboundEvent =
  | MessageQueued
  | MessageSendAttempted
  | MessageSent
  | MessageSendFailed
  | MessageDeadLettered
  | MessageRequeued
  | MessageDropped
  | MessageStatusUpdated;

/** Everything the messaging context appends: add it to the application-wide catalogue. */
export type MessagingEvent = NumberEvent | ChatEvent | OutboundEvent;

export const NUMBER_EVENT_TYPES: readonly NumberEvent['type'][] = [
  'NumberAdded',
  'NumberDisabled',
  'NumberEnabled',
  'NumberRemoved',
];
export const CHAT_EVENT_TYPES: readonly ChatEvent['type'][] = [
  'MessageReceived',
  'ConversationPaused',
  'ConversationResumed',
];
export const OUTBOUND_EVENT_TYPES: readonly OutboundEvent['type'][] = [
  'MessageQueued',
  'MessageSendAttempted',
  'MessageSent',
  'MessageSendFailed',
  'MessageDeadLettered',
  'MessageRequeued',
  'MessageDropped',
  'MessageStatusUpdated',
];
export const MESSAGING_EVENT_TYPES: readonly MessagingEvent['type'][] = [
  ...NUMBER_EVENT_TYPES,
  ...CHAT_EVENT_TYPES,
  ...OUTBOUND_EVENT_TYPES,
];

export const NUMBER_STREAM_PREFIX = 'number-';
export const CHAT_STREAM_PREFIX = 'chat-';
export const MESSAGE_STREAM_PREFIX = 'message-';
export const numberStreamId = (numberId: string): string => `${NUMBER_STREAM_PREFIX}${numberId}`;
export const chatStreamId = (chatId: string): string => `${CHAT_STREAM_PREFIX}${chatId}`;
export const messageStreamId = (messageId: string): string => `${MESSAGE_STREAM_PREFIX}${messageId}`;

export type Command<Type extends string, Data extends Record<string, unknown>> = Readonly<{
  type: Type;
  data: Readonly<Data>;
}>;
