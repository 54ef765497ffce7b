import { DomainError } from '#domain/shared/event.js';

/** 409: pairing is a Web channel thing (the Cloud API and the simulator have no session to pair). */
export class WebNumberRequired extends DomainError {
  readonly kind = 'conflict';
  constructor(numberId: string, kind: string) {
    super('not_a_web_number', `Number ${numberId} is of kind ${kind}: only numbers of kind web are paired.`, {
      numberId,
      kind,
    });
  }
}
