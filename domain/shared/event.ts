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

/** A domain rule was broken; `code` is stable and ends up in the API error. */
export class DomainError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = new.target.name;
  }
}
