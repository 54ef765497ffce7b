import type { Decider } from '#domain/shared/event.js';
import { MessageNotDeadLettered, MessageNotFound, UnknownMessagingCommand } from './errors.js';
import type { Command, DeliveryStatus, MessageQueued, OutboundEvent } from './events.js';

/**
 * Outbound message aggregate, stream `message-<messageId>`: queued -> attempts -> sent, or
 * dead-lettered after a permanent error or too many attempts (then an admin requeues or drops it).
 *
 * `inFlight` is an attempt recorded (MessageSendAttempted) whose outcome is not: its worker is making
 * the call, or died making it. A new attempt after that is "in doubt" (the message may already have
 * reached the provider): if the provider has since echoed a status with our message id, the attempt is
 * resolved as sent instead of sending again.
 */
type Known = {
  messageId: string;
  numberId: string;
  chatId: string;
  /** attempts made so far (since the last requeue) */
  attempts: number;
  /** attempts made over the message's whole life: attempt numbers never repeat */
  totalAttempts: number;
  inFlight: number | null;
  providerMessageId: string | null;
  statuses: readonly DeliveryStatus[];
};
export type OutboundState =
  Readonly<{ status: 'none' }> | Readonly<Known & { status: 'queued' | 'sent' | 'dead' | 'dropped' }>;

export type QueueMessage = Command<'QueueMessage', MessageQueued['data']>;
export type StartSendAttempt = Command<'StartSendAttempt', { worker: string }>;
export type RecordSendOutcome = Command<
  'RecordSendOutcome',
  {
    attempt: number;
    outcome:
      | { status: 'sent'; providerMessageId: string }
      | { status: 'failed'; retryable: boolean; code: string; error: string };
    maxAttempts: number;
    /** computed outside (backoff with jitter needs randomness); used when the message is retried */
    nextAttemptAt: string;
  }
>;
export type RequeueMessage = Command<'RequeueMessage', { by: string }>;
export type DropMessage = Command<'DropMessage', { by: string }>;
export type RecordDeliveryStatus = Command<
  'RecordDeliveryStatus',
  { providerMessageId: string; status: DeliveryStatus; at: string; errorCode: string | null; errorTitle: string | null }
>;
export type OutboundCommand =
  QueueMessage | StartSendAttempt | RecordSendOutcome | RequeueMessage | DropMessage | RecordDeliveryStatus;

export const initialState = (): OutboundState => ({ status: 'none' });

const ids = (s: Known) => ({ messageId: s.messageId, numberId: s.numberId, chatId: s.chatId });

const startAttempt = ({ data: c }: StartSendAttempt, state: OutboundState): OutboundEvent[] => {
  // Already sent, dead-lettered, dropped (or unknown): nothing to send; the caller lets go of its claim.
  if (state.status !== 'queued') return [];
  const attempt = state.totalAttempts + 1;
  if (state.inFlight !== null && state.providerMessageId !== null)
    return [
      {
        type: 'MessageSent',
        data: {
          ...ids(state),
          attempt: state.inFlight,
          providerMessageId: state.providerMessageId,
          resolvedFromStatus: true,
        },
      },
    ];
  return [
    {
      type: 'MessageSendAttempted',
      data: { ...ids(state), attempt, worker: c.worker, afterInDoubt: state.inFlight !== null },
    },
  ];
};

const recordOutcome = ({ data: c }: RecordSendOutcome, state: OutboundState): OutboundEvent[] => {
  // A stale outcome (another attempt has started since, or the message left the queue) changes nothing.
  if (state.status !== 'queued' || state.inFlight !== c.attempt) return [];
  if (c.outcome.status === 'sent')
    return [
      {
        type: 'MessageSent',
        data: {
          ...ids(state),
          attempt: c.attempt,
          providerMessageId: c.outcome.providerMessageId,
          resolvedFromStatus: false,
        },
      },
    ];
  const { retryable, code, error } = c.outcome;
  const attempts = state.attempts + 1;
  const dead = !retryable || attempts >= c.maxAttempts;
  const failed: OutboundEvent = {
    type: 'MessageSendFailed',
    data: { ...ids(state), attempt: c.attempt, retryable, code, error, nextAttemptAt: dead ? null : c.nextAttemptAt },
  };
  if (!dead) return [failed];
  return [
    failed,
    {
      type: 'MessageDeadLettered',
      data: { ...ids(state), attempts, reason: retryable ? 'max_attempts' : 'permanent_error', code },
    },
  ];
};

const queue = ({ data: c }: QueueMessage, state: OutboundState): OutboundEvent[] =>
  // The message id is derived from the idempotency key (or the inbound event for bot replies): a
  // second request with the same key finds the message and queues nothing new.
  state.status === 'none' ? [{ type: 'MessageQueued', data: { ...c } }] : [];

const recordStatus = ({ data: c }: RecordDeliveryStatus, state: OutboundState): OutboundEvent[] => {
  if (state.status === 'none' || state.statuses.includes(c.status)) return [];
  return [{ type: 'MessageStatusUpdated', data: { ...ids(state), ...c } }];
};

export const decide = (command: OutboundCommand, state: OutboundState): OutboundEvent[] => {
  switch (command.type) {
    case 'QueueMessage':
      return queue(command, state);
    case 'StartSendAttempt':
      return startAttempt(command, state);
    case 'RecordSendOutcome':
      return recordOutcome(command, state);
    case 'RequeueMessage':
      if (state.status === 'none') throw new MessageNotFound('(unknown)');
      if (state.status !== 'dead') throw new MessageNotDeadLettered(state.messageId, state.status);
      return [{ type: 'MessageRequeued', data: { ...ids(state), by: command.data.by } }];
    case 'DropMessage':
      if (state.status === 'none') throw new MessageNotFound('(unknown)');
      if (state.status !== 'dead' && state.status !== 'queued')
        throw new MessageNotDeadLettered(state.messageId, state.status);
      return [{ type: 'MessageDropped', data: { ...ids(state), by: command.data.by } }];
    case 'RecordDeliveryStatus':
      return recordStatus(command, state);
    default: {
      const _exhaustive: never = command;
      throw new UnknownMessagingCommand((_exhaustive as { type?: unknown }).type);
    }
  }
};

const fromQueued = (event: MessageQueued): OutboundState => ({
  status: 'queued',
  messageId: event.data.messageId,
  numberId: event.data.numberId,
  chatId: event.data.chatId,
  attempts: 0,
  totalAttempts: 0,
  inFlight: null,
  providerMessageId: null,
  statuses: [],
});

export const evolve = (state: OutboundState, event: OutboundEvent): OutboundState => {
  if (event.type === 'MessageQueued') return state.status === 'none' ? fromQueued(event) : state;
  if (state.status === 'none') return state;
  switch (event.type) {
    case 'MessageSendAttempted':
      return {
        ...state,
        inFlight: event.data.attempt,
        totalAttempts: Math.max(state.totalAttempts, event.data.attempt),
      };
    case 'MessageSent':
      return { ...state, status: 'sent', inFlight: null, providerMessageId: event.data.providerMessageId };
    case 'MessageSendFailed':
      return { ...state, inFlight: null, attempts: state.attempts + 1 };
    case 'MessageDeadLettered':
      return { ...state, status: 'dead', inFlight: null };
    case 'MessageRequeued':
      return { ...state, status: 'queued', attempts: 0, inFlight: null };
    case 'MessageDropped':
      return { ...state, status: 'dropped', inFlight: null };
    case 'MessageStatusUpdated':
      return {
        ...state,
        providerMessageId: state.providerMessageId ?? event.data.providerMessageId,
        statuses: [...state.statuses, event.data.status],
      };
    default: {
      const _exhaustive: never = event;
      return state;
    }
  }
};

export const outboundDecider: Decider<OutboundState, OutboundCommand, OutboundEvent> = {
  decide,
  evolve,
  initialState,
};
