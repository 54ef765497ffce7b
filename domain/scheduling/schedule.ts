import type { Command, MessageTemplate } from '#domain/messaging/events.js';
import type { Decider } from '#domain/shared/event.js';
import {
  InvalidScheduleTime,
  ScheduledMessageAlreadyFired,
  ScheduledMessageExists,
  ScheduledMessageNotFound,
  UnknownSchedulingCommand,
} from './errors.js';
import { MAX_SCHEDULE_HORIZON_DAYS, type MessageScheduled, type SchedulingEvent } from './events.js';

/**
 * Scheduled message aggregate, stream `schedule-<scheduleId>`: pending -> fired (-> failed) | cancelled.
 * Firing is decided here with the stream's expected revision, so of several schedulers that find the
 * same due message only one appends ScheduledMessageFired; a cancel that lands first wins the same way.
 */
type Scheduled = {
  scheduleId: string;
  numberId: string;
  at: string;
  /** what to queue when it fires */
  message: { chatId: string; to: string; text: string | null; template: MessageTemplate | null };
  /** what was asked, to tell a retried request (same Idempotency-Key) from a different one */
  fingerprint: string;
};
export type ScheduleState =
  | Readonly<{ status: 'none' }>
  | Readonly<Scheduled & { status: 'pending' | 'cancelled' }>
  | Readonly<Scheduled & { status: 'fired' | 'failed'; messageId: string }>;

export type ScheduleMessage = Command<
  'ScheduleMessage',
  {
    scheduleId: string;
    numberId: string;
    chatId: string;
    to: string;
    text: string | null;
    template: MessageTemplate | null;
    at: string;
    by: string;
    now: string;
  }
>;
export type CancelScheduledMessage = Command<'CancelScheduledMessage', { scheduleId: string; by: string }>;
export type FireScheduledMessage = Command<'FireScheduledMessage', { messageId: string; now: string }>;
export type RecordFireFailure = Command<'RecordFireFailure', { code: string; error: string }>;
export type ScheduleCommand = ScheduleMessage | CancelScheduledMessage | FireScheduledMessage | RecordFireFailure;

export const initialState = (): ScheduleState => ({ status: 'none' });

const fingerprintOf = (d: MessageScheduled['data']): string =>
  JSON.stringify([d.numberId, d.to, d.text, d.template, Date.parse(d.at), d.by]);

const DAY_MS = 24 * 60 * 60 * 1000;

const schedule = ({ data: c }: ScheduleMessage, state: ScheduleState): SchedulingEvent[] => {
  const { now, ...data } = c;
  if (state.status !== 'none') {
    // The same request again (same Idempotency-Key and content): nothing new, whatever the time is now.
    if (state.fingerprint === fingerprintOf(data)) return [];
    throw new ScheduledMessageExists(c.scheduleId);
  }
  const at = Date.parse(c.at);
  const nowMs = Date.parse(now);
  if (!(at > nowMs)) throw new InvalidScheduleTime('in_the_past', MAX_SCHEDULE_HORIZON_DAYS);
  if (at - nowMs > MAX_SCHEDULE_HORIZON_DAYS * DAY_MS)
    throw new InvalidScheduleTime('too_far', MAX_SCHEDULE_HORIZON_DAYS);
  return [{ type: 'MessageScheduled', data: { ...data, at: new Date(at).toISOString() } }];
};

const cancel = ({ data: c }: CancelScheduledMessage, state: ScheduleState): SchedulingEvent[] => {
  switch (state.status) {
    case 'none':
      throw new ScheduledMessageNotFound(c.scheduleId);
    case 'cancelled':
      return [];
    case 'fired':
    case 'failed':
      throw new ScheduledMessageAlreadyFired(state.scheduleId, state.status);
    case 'pending':
      return [
        {
          type: 'ScheduledMessageCancelled',
          data: { scheduleId: state.scheduleId, numberId: state.numberId, by: c.by },
        },
      ];
    default: {
      const _exhaustive: never = state;
      return _exhaustive;
    }
  }
};

const fire = ({ data: c }: FireScheduledMessage, state: ScheduleState): SchedulingEvent[] => {
  // Fired by someone else, cancelled, unknown, or not due yet: nothing to do.
  if (state.status !== 'pending') return [];
  const lateMs = Date.parse(c.now) - Date.parse(state.at);
  if (lateMs < 0) return [];
  return [
    {
      type: 'ScheduledMessageFired',
      data: { scheduleId: state.scheduleId, numberId: state.numberId, messageId: c.messageId, firedAt: c.now, lateMs },
    },
  ];
};

const fail = ({ data: c }: RecordFireFailure, state: ScheduleState): SchedulingEvent[] =>
  state.status === 'fired'
    ? [
        {
          type: 'ScheduledMessageFailed',
          data: {
            scheduleId: state.scheduleId,
            numberId: state.numberId,
            messageId: state.messageId,
            code: c.code,
            error: c.error,
          },
        },
      ]
    : [];

export const decide = (command: ScheduleCommand, state: ScheduleState): SchedulingEvent[] => {
  switch (command.type) {
    case 'ScheduleMessage':
      return schedule(command, state);
    case 'CancelScheduledMessage':
      return cancel(command, state);
    case 'FireScheduledMessage':
      return fire(command, state);
    case 'RecordFireFailure':
      return fail(command, state);
    default: {
      const _exhaustive: never = command;
      throw new UnknownSchedulingCommand((_exhaustive as { type?: unknown }).type);
    }
  }
};

export const evolve = (state: ScheduleState, event: SchedulingEvent): ScheduleState => {
  switch (event.type) {
    case 'MessageScheduled':
      return state.status === 'none'
        ? {
            status: 'pending',
            scheduleId: event.data.scheduleId,
            numberId: event.data.numberId,
            at: event.data.at,
            message: {
              chatId: event.data.chatId,
              to: event.data.to,
              text: event.data.text,
              template: event.data.template,
            },
            fingerprint: fingerprintOf(event.data),
          }
        : state;
    case 'ScheduledMessageCancelled':
      return state.status === 'pending' ? { ...state, status: 'cancelled' } : state;
    case 'ScheduledMessageFired':
      return state.status === 'pending' ? { ...state, status: 'fired', messageId: event.data.messageId } : state;
    case 'ScheduledMessageFailed':
      return state.status === 'fired' ? { ...state, status: 'failed' } : state;
    default: {
      const _exhaustive: never = event;
      return _exhaustive;
    }
  }
};

export const scheduleDecider: Decider<ScheduleState, ScheduleCommand, SchedulingEvent> = {
  decide,
  evolve,
  initialState,
};
