/** A domain event as the domain sees it: a type tag and its data. Plain data, no I/O. */
export type Event<
  Type extends string = string,
  Data extends Record<string, unknown> = Record<string, unknown>,
> = Readonly<{
  type: Type;
  data: Readonly<Data>;
}>;

/** The three pure functions of an aggregate (Emmett's / Dudycz's Decider). */
export type Decider<State, Command, E extends Event> = {
  decide: (command: Command, state: State) => E[];
  evolve: (state: State, event: E) => State;
  initialState: () => State;
};

/**
 * What kind of refusal an error is. The one error map (interfaces/http/shared/errors.ts) turns a
 * kind into an HTTP status (and the WebSocket handler into a close code); nothing else does.
 */
export type ErrorKind =
  | 'validation'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'precondition_failed'
  | 'too_large'
  | 'unprocessable'
  | 'locked'
  | 'rate_limited'
  | 'unavailable'
  | 'internal';

/** A domain rule was broken; `code` is stable and ends up in the API error, `kind` picks its status. */
export abstract class DomainError extends Error {
  abstract readonly kind: ErrorKind;
  constructor(
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = new.target.name;
  }
}
