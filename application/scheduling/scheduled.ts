import { chatIdFor, scheduleIdForKey, scheduledMessageIdFor } from '#application/messaging/ids.js';
import { activeNumber } from '#application/messaging/numbers.js';
import type { MessagingLog } from '#application/messaging/ports.js';
import { queueMessage, type SendDeps } from '#application/messaging/send.js';
import { handleCommand, type CommandContext } from '#application/shared/commandHandler.js';
import { ValidationError } from '#application/shared/errors.js';
import type { EventStore } from '#application/shared/eventStore.js';
import type { Runtime } from '#application/shared/runtime.js';
import type { MessageTemplate } from '#domain/messaging/events.js';
import { normaliseRecipient } from '#domain/messaging/recipient.js';
import { scheduleStreamId, type SchedulingEvent } from '#domain/scheduling/events.js';
import { scheduleDecider } from '#domain/scheduling/schedule.js';
import { DomainError } from '#domain/shared/event.js';

export type SchedulingDeps = {
  store: EventStore;
  runtime: Runtime;
  log: MessagingLog;
  /** the number a schedule uses when it names none (configuration) */
  defaultNumberId: string | null;
};

export type ScheduleInput = {
  to: string;
  text?: string | null;
  template?: MessageTemplate | null;
  /** ISO-8601 */
  at: string;
  numberId?: string | null;
  idempotencyKey?: string | null;
};

export type ScheduleResult = {
  scheduleId: string;
  numberId: string;
  chatId: string;
  at: string;
  /** true when the same request (same Idempotency-Key) had already scheduled it */
  duplicate: boolean;
};

/**
 * Appends MessageScheduled. The recipient and the number are checked now, as a send checks them, so a
 * mistake is a 4xx today rather than a failure at the due time; the number is checked again when it fires.
 */
export const scheduleMessage = async (
  deps: SchedulingDeps,
  input: ScheduleInput,
  context: CommandContext,
): Promise<ScheduleResult> => {
  const to = normaliseRecipient(input.to);
  const numberId = input.numberId ?? deps.defaultNumberId;
  if (numberId === null)
    throw new ValidationError('No number is configured: name one with "number".', undefined, 'number_required');
  const number = await activeNumber(deps.store, numberId);
  const chatId = chatIdFor(number.numberId, to);
  const scheduleId = input.idempotencyKey
    ? scheduleIdForKey(context.actor, input.idempotencyKey)
    : deps.runtime.newId();
  const result = await handleCommand(
    deps.store,
    scheduleStreamId(scheduleId),
    scheduleDecider,
    () => ({
      type: 'ScheduleMessage' as const,
      data: {
        scheduleId,
        numberId: number.numberId,
        chatId,
        to,
        text: input.text ?? null,
        template: input.template ?? null,
        at: input.at,
        by: context.actor,
        now: deps.runtime.clock().toISOString(),
      },
    }),
    context,
    { runtime: deps.runtime },
  );
  const duplicate = result.events.length === 0;
  const state = result.state;
  const at = state.status === 'none' ? new Date(input.at).toISOString() : state.at;
  if (!duplicate) deps.log.info('message scheduled', { scheduleId, numberId: number.numberId, at });
  return { scheduleId, numberId: number.numberId, chatId, at, duplicate };
};

/** Appends ScheduledMessageCancelled; 404 for an unknown id, 409 once it has fired. */
export const cancelScheduledMessage = async (
  deps: Pick<SchedulingDeps, 'store' | 'runtime' | 'log'>,
  scheduleId: string,
  context: CommandContext,
): Promise<{ changed: boolean }> => {
  const result = await handleCommand(
    deps.store,
    scheduleStreamId(scheduleId),
    scheduleDecider,
    () => ({ type: 'CancelScheduledMessage' as const, data: { scheduleId, by: context.actor } }),
    context,
    { runtime: deps.runtime },
  );
  const changed = result.events.length > 0;
  if (changed) deps.log.info('scheduled message cancelled', { scheduleId });
  return { changed };
};

export type FireOutcome =
  /** queued now (by this call or, idempotently, by an earlier one that died before finishing) */
  | 'fired'
  /** cancelled, failed, unknown, or not due yet: nothing was queued */
  | 'skipped'
  /** fired, but the message could not be queued (number gone or disabled, window closed): recorded */
  | 'failed';

/** What the firing needs of a due schedule (the read model has it: the MessageScheduled event's envelope). */
export type DueSchedule = { scheduleId: string; correlationId: string | null; scheduledEventId: string | null };

/**
 * Fires one scheduled message: ScheduledMessageFired with the stream's expected revision (of several
 * schedulers, one wins; a cancel appended first wins too), then MessageQueued under a message id derived
 * from the schedule id. The two appends are not one transaction, so the second is idempotent instead:
 * whoever finds the schedule fired (the winner, a loser of the race, a scheduler restarted after a crash
 * between the two) queues the same message id, and the outbound decider queues it only once.
 * The stream is read once on the way to the first append (the message to queue is in the decider's state),
 * so a due message costs five round trips: read and append the schedule, read the number, read and append
 * the message.
 */
export const fireScheduledMessage = async (
  deps: Pick<SendDeps, 'store' | 'runtime' | 'log'>,
  due: DueSchedule,
  newCorrelationId: () => string,
): Promise<FireOutcome> => {
  const { store, runtime, log } = deps;
  const { scheduleId } = due;
  const stream = scheduleStreamId(scheduleId);
  const messageId = scheduledMessageIdFor(scheduleId);
  // The send is part of the request that scheduled it: same correlation id, caused by the schedule.
  const fireContext: CommandContext = {
    correlationId: due.correlationId ?? newCorrelationId(),
    causationId: due.scheduledEventId,
    actor: 'scheduler',
  };
  const fired = await handleCommand(
    store,
    stream,
    scheduleDecider,
    () => ({ type: 'FireScheduledMessage' as const, data: { messageId, now: runtime.clock().toISOString() } }),
    fireContext,
    { runtime },
  );
  const state = fired.state;
  if (state.status !== 'fired') return 'skipped';
  const firedEventId =
    fired.eventIds[0] ??
    (await store.readStream<SchedulingEvent>(stream)).find((e) => e.type === 'ScheduledMessageFired')?.id ??
    null;
  const queueContext: CommandContext = { ...fireContext, causationId: firedEventId };
  try {
    const queued = await queueMessage(
      { store, runtime, log, defaultNumberId: null },
      {
        to: state.message.to,
        text: state.message.text,
        template: state.message.template,
        numberId: state.numberId,
        messageId,
        source: 'scheduled',
      },
      queueContext,
    );
    const event = fired.events[0];
    if (event?.type === 'ScheduledMessageFired')
      log.info('scheduled message fired', { scheduleId, messageId, lateMs: event.data.lateMs });
    else if (!queued.duplicate)
      log.warn('scheduled message queued after an interrupted firing', { scheduleId, messageId });
    return 'fired';
  } catch (error) {
    // A rule refuses the message (number removed or disabled, Cloud API window closed): retrying will not
    // help, so the schedule records why. Anything else (store down) is retried on the next round.
    if (!(error instanceof DomainError)) throw error;
    await handleCommand(
      store,
      stream,
      scheduleDecider,
      () => ({ type: 'RecordFireFailure' as const, data: { code: error.code, error: error.message.slice(0, 500) } }),
      queueContext,
      { runtime },
    );
    log.warn('scheduled message could not be queued', { scheduleId, messageId, code: error.code });
    return 'failed';
  }
};
