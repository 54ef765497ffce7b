import { DomainError } from '#domain/shared/event.js';

/** Typed rule violations of the scheduling context; the HTTP status each maps to is noted. */

/** 404 */
export class ScheduledMessageNotFound extends DomainError {
  readonly kind = 'not_found';
  constructor(scheduleId: string) {
    super('scheduled_message_not_found', `There is no scheduled message with id ${scheduleId}.`, { scheduleId });
  }
}

/** 409: a fired message is in the outbound queue (or failed to get there); cancelling it is too late. */
export class ScheduledMessageAlreadyFired extends DomainError {
  readonly kind = 'conflict';
  constructor(scheduleId: string, state: string) {
    super('scheduled_message_already_fired', `The scheduled message ${scheduleId} has already fired (${state}).`, {
      scheduleId,
      state,
    });
  }
}

/** 409: the id is taken by another scheduled message. */
export class ScheduledMessageExists extends DomainError {
  readonly kind = 'conflict';
  constructor(scheduleId: string) {
    super('scheduled_message_exists', `A scheduled message with id ${scheduleId} already exists.`, { scheduleId });
  }
}

/** 400: `at` is not in the future, or beyond the horizon. */
export class InvalidScheduleTime extends DomainError {
  readonly kind = 'validation';
  constructor(reason: 'in_the_past' | 'too_far', horizonDays: number) {
    super(
      reason === 'in_the_past' ? 'schedule_time_in_past' : 'schedule_time_too_far',
      reason === 'in_the_past'
        ? '"at" must be a time in the future.'
        : `"at" must be within ${horizonDays} days from now.`,
      { horizonDays },
    );
  }
}

/** 400: TypeScript prevents it; this guards untyped callers. */
export class UnknownSchedulingCommand extends DomainError {
  readonly kind = 'validation';
  constructor(type: unknown) {
    super('unknown_command', `unknown scheduling command ${String(type)}`, { type: String(type) });
  }
}
