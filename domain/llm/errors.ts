import { DomainError } from '#domain/shared/event.js';

/** 400: a setting is out of its range (the message names the setting and the range). */
export class InvalidLlmSettings extends DomainError {
  readonly kind = 'validation';
  constructor(problems: readonly string[]) {
    super('invalid_llm_settings', `The LLM settings are invalid: ${problems.join('; ')}.`, { problems: [...problems] });
  }
}

/** 400: the provider named is not in the configured chain. */
export class UnknownProvider extends DomainError {
  readonly kind = 'validation';
  constructor(provider: string, known: readonly string[]) {
    super(
      'unknown_provider',
      `No provider named ${provider.slice(0, 40)} in the chain; configured: ${known.length > 0 ? known.join(', ') : '(none)'}.`,
      { known: [...known] },
    );
  }
}

/** 400: a force must last 1 minute to 24 hours. */
export class InvalidForceDuration extends DomainError {
  readonly kind = 'validation';
  constructor() {
    super('invalid_force_duration', 'A provider is forced for 1 to 1440 minutes (a whole number).');
  }
}

/** 500: a command type the decider does not know (a programming error). */
export class UnknownLlmCommand extends DomainError {
  readonly kind = 'internal';
  constructor(type: unknown) {
    super('unknown_llm_command', `Unknown LLM command ${String(type)}.`);
  }
}

/**
 * 409: another caller holds this LLM turn (it appended to the turn's stream since this caller looked,
 * or its call is still within its time). The caller stays quiet; whoever holds the turn answers.
 */
export class TurnBusy extends DomainError {
  readonly kind = 'conflict';
  constructor(turnId: string) {
    super('llm_turn_busy', `LLM turn ${turnId.slice(0, 60)} is being answered by another caller.`);
  }
}
