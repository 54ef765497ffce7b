import { handleCommand, type CommandContext } from '#application/shared/commandHandler.js';
import { loadAggregateCached } from '#application/shared/aggregateCache.js';
import type { EventStore } from '#application/shared/eventStore.js';
import type { Runtime } from '#application/shared/runtime.js';
import { chatDecider } from '#domain/messaging/chat.js';
import { OutsideCustomerServiceWindow } from '#domain/messaging/errors.js';
import { chatStreamId, messageStreamId, type MessageSource, type MessageTemplate } from '#domain/messaging/events.js';
import { outboundDecider } from '#domain/messaging/outbound.js';
import { normaliseRecipient, windowOpen } from '#domain/messaging/recipient.js';
import { chatIdFor, messageIdForKey } from './ids.js';
import { activeNumber } from './numbers.js';
import type { MessagingLog, NumberInfo } from './ports.js';
import { ValidationError } from '#application/shared/errors.js';

export type SendDeps = {
  store: EventStore;
  runtime: Runtime;
  log: MessagingLog;
  /** the number a send uses when it names none (configuration) */
  defaultNumberId: string | null;
};

export type SendInput = {
  to: string;
  text?: string | null;
  template?: MessageTemplate | null;
  numberId?: string | null;
  idempotencyKey?: string | null;
  source: MessageSource;
  /** a fixed message id (bot replies derive it from the inbound event) */
  messageId?: string;
  inReplyTo?: string | null;
  /** the number as the caller has just read it from its stream, active (the responder): not read again */
  number?: NumberInfo;
  /**
   * The caller has just read the message's stream and found none (the responder): the append expects no
   * stream without reading it again; if one was written since, the append conflicts and the command
   * handler reads it and decides again.
   */
  streamAbsent?: boolean;
};

export type SendResult = { messageId: string; chatId: string; numberId: string; duplicate: boolean };

/**
 * Appends MessageQueued; the worker sends it. The 24-hour customer service window applies to Cloud API
 * numbers only (it is Meta's rule: the Web channel and the simulator have none). Templates are allowed
 * at any time.
 */
export const queueMessage = async (deps: SendDeps, input: SendInput, context: CommandContext): Promise<SendResult> => {
  const to = normaliseRecipient(input.to);
  const numberId = input.numberId ?? deps.defaultNumberId;
  if (numberId === null)
    throw new ValidationError('No number is configured: name one with "number".', undefined, 'number_required');
  const number =
    input.number?.numberId === numberId && input.number.status === 'active'
      ? input.number
      : await activeNumber(deps.store, numberId);
  const chatId = chatIdFor(number.numberId, to);
  const text = input.text ?? null;
  const template = input.template ?? null;
  if (template === null && number.kind === 'cloud') {
    const { state } = await loadAggregateCached(deps.store, chatStreamId(chatId), chatDecider);
    const lastInboundAt = state.status === 'open' ? state.lastInboundAt : null;
    if (!windowOpen(lastInboundAt, deps.runtime.clock()))
      throw new OutsideCustomerServiceWindow(numberId, lastInboundAt);
  }
  const messageId =
    input.messageId ??
    (input.idempotencyKey ? messageIdForKey(context.actor, input.idempotencyKey) : deps.runtime.newId());
  const result = await handleCommand(
    deps.store,
    messageStreamId(messageId),
    outboundDecider,
    () => ({
      type: 'QueueMessage' as const,
      data: {
        messageId,
        numberId: number.numberId,
        chatId,
        to,
        text,
        template,
        source: input.source,
        idempotencyKey: input.idempotencyKey ?? null,
        inReplyTo: input.inReplyTo ?? null,
        by: context.actor,
      },
    }),
    context,
    {
      runtime: deps.runtime,
      ...(input.streamAbsent === true ? { known: { state: outboundDecider.initialState(), revision: -1 } } : {}),
    },
  );
  const duplicate = result.events.length === 0;
  if (!duplicate)
    deps.log.info('message queued', { messageId, numberId: number.numberId, chatId, source: input.source });
  // The first request's number and chat: a repeated key answers with what was queued then.
  const state = result.state;
  return state.status === 'none'
    ? { messageId, chatId, numberId: number.numberId, duplicate }
    : { messageId, chatId: state.chatId, numberId: state.numberId, duplicate };
};
