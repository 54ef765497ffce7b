import { DomainError } from '#domain/shared/event.js';

/** Typed rule violations of the messaging context; the HTTP status each maps to is noted. */

/** 400 */
export class InvalidNumberId extends DomainError {
  readonly kind = 'validation';
  constructor() {
    super('invalid_number_id', 'A number id is 1-32 characters of a-z, 0-9 or dash, starting with a letter or digit.');
  }
}

/** 400 */
export class InvalidRecipient extends DomainError {
  readonly kind = 'validation';
  constructor() {
    // The refused value is personal data (a phone number): not echoed.
    super(
      'invalid_recipient',
      'The recipient must be an E.164 phone number (8-15 digits, optional leading +) or a WhatsApp JID (digits@s.whatsapp.net, id@g.us).',
    );
  }
}

/** 409 */
export class NumberAlreadyExists extends DomainError {
  readonly kind = 'conflict';
  constructor(numberId: string) {
    super('number_already_exists', `A number with id ${numberId} already exists.`, { numberId });
  }
}

/** 404 */
export class NumberNotFound extends DomainError {
  readonly kind = 'not_found';
  constructor(numberId: string) {
    super('number_not_found', `There is no number with id ${numberId}.`, { numberId });
  }
}

/** 409 */
export class NumberDisabledError extends DomainError {
  readonly kind = 'conflict';
  constructor(numberId: string) {
    super('number_disabled', `The number ${numberId} is disabled.`, { numberId });
  }
}

/** 404 */
export class MessageNotFound extends DomainError {
  readonly kind = 'not_found';
  constructor(messageId: string) {
    super('message_not_found', `There is no outbound message with id ${messageId}.`, { messageId });
  }
}

/** 409: retry/drop need a dead-lettered (drop: or queued) message. */
export class MessageNotDeadLettered extends DomainError {
  readonly kind = 'conflict';
  constructor(messageId: string, status: string) {
    super('message_not_dead_lettered', `The message ${messageId} is ${status}, not dead-lettered.`, {
      messageId,
      status,
    });
  }
}

/** 422: the Cloud API refuses free text outside the customer service window. */
export class OutsideCustomerServiceWindow extends DomainError {
  readonly kind = 'unprocessable';
  constructor(numberId: string, lastInboundAt: string | null) {
    super(
      'outside_customer_service_window',
      'The 24-hour customer service window of this chat is closed (no message from the contact in the last 24 hours): free text cannot be sent. Send an approved template instead: {"to","template":{"name","language","components"}}.',
      { numberId, lastInboundAt, windowHours: 24 },
    );
  }
}

/** 400: TypeScript prevents it; this guards untyped callers. */
export class UnknownMessagingCommand extends DomainError {
  readonly kind = 'validation';
  constructor(type: unknown) {
    super('unknown_command', `unknown messaging command ${String(type)}`, { type: String(type) });
  }
}
