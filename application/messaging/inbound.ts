import { handleCommand, handleCommandWithoutRead, type CommandContext } from '#application/shared/commandHandler.js';
import { DuplicateEventIdError, type EventStore } from '#application/shared/eventStore.js';
import type { Runtime } from '#application/shared/runtime.js';
import { chatDecider } from '#domain/messaging/chat.js';
import { chatStreamId, messageStreamId } from '#domain/messaging/events.js';
import { outboundDecider } from '#domain/messaging/outbound.js';
import { normaliseRecipient } from '#domain/messaging/recipient.js';
import type { ChannelSink, InboundMessage, StatusUpdate } from './channel.js';
import { chatIdFor, inboundEventIdFor, inboundMessageIdFor } from './ids.js';
import { activeNumber } from './numbers.js';
import type { MessagingLog, MessagingQueries } from './ports.js';

export type InboundDeps = {
  store: EventStore;
  runtime: Runtime;
  log: MessagingLog;
  queries: Pick<MessagingQueries, 'messageIdForProviderId'>;
  /** correlation id for what a channel hands over (webhooks carry their own request's) */
  newCorrelationId: () => string;
};

export type ReceivedResult = { messageId: string; chatId: string; duplicate: boolean; eventId: string | null };

/** MessageReceived on the contact's chat, once per provider message id. */
export const receiveInbound = async (
  deps: InboundDeps,
  message: InboundMessage,
  context?: CommandContext,
): Promise<ReceivedResult> => {
  await activeNumber(deps.store, message.numberId);
  const contact = normaliseRecipient(message.from);
  const chatId = chatIdFor(message.numberId, contact);
  const messageId = inboundMessageIdFor(message.numberId, message.providerMessageId);
  const eventId = inboundEventIdFor(message.numberId, message.providerMessageId);
  // No read of the chat's history: the decision does not depend on it, and the derived event id makes a
  // retried delivery the store's idempotent append (domain/messaging/chat.ts).
  let duplicate: boolean;
  try {
    const result = await handleCommandWithoutRead(
      deps.store,
      chatStreamId(chatId),
      chatDecider,
      {
        type: 'ReceiveMessage' as const,
        data: {
          messageId,
          numberId: message.numberId,
          chatId,
          contact,
          contactName: message.contactName,
          providerMessageId: message.providerMessageId,
          kind: message.kind,
          text: message.text,
          sentAt: message.sentAt,
        },
      },
      context ?? { correlationId: deps.newCorrelationId(), actor: 'system' },
      { runtime: deps.runtime, eventIds: () => [eventId] },
    );
    duplicate = result.idempotent;
  } catch (error) {
    // The same provider message id already recorded with other details (a redelivery whose profile
    // name changed): the message is the one recorded first.
    if (!(error instanceof DuplicateEventIdError) || error.eventId !== eventId) throw error;
    duplicate = true;
  }
  deps.log.info(duplicate ? 'inbound message already recorded' : 'inbound message received', {
    numberId: message.numberId,
    chatId,
    messageId,
    kind: message.kind,
  });
  return { messageId, chatId, duplicate, eventId: duplicate ? null : eventId };
};

/** MessageStatusUpdated on our message: by the id the provider echoes, else by its own id. */
export const recordStatus = async (
  deps: InboundDeps,
  update: StatusUpdate,
  context?: CommandContext,
): Promise<void> => {
  const messageId =
    update.messageId ?? (await deps.queries.messageIdForProviderId(update.numberId, update.providerMessageId));
  if (messageId === null) {
    deps.log.warn('status for an unknown message ignored', { numberId: update.numberId, status: update.status });
    return;
  }
  await handleCommand(
    deps.store,
    messageStreamId(messageId),
    outboundDecider,
    () => ({
      type: 'RecordDeliveryStatus' as const,
      data: {
        providerMessageId: update.providerMessageId,
        status: update.status,
        at: update.at,
        errorCode: update.error?.code ?? null,
        errorTitle: update.error?.title ?? null,
      },
    }),
    context ?? { correlationId: deps.newCorrelationId(), actor: 'system' },
    { runtime: deps.runtime },
  );
};

/** What channel adapters (webhooks, sockets, the simulator) hand their traffic to. */
export const createMessagingSink = (deps: InboundDeps): ChannelSink => ({
  inbound: async (message) => void (await receiveInbound(deps, message)),
  status: (update) => recordStatus(deps, update),
});
