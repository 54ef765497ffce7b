import type { Decider, Event } from '#domain/shared/event.js';
import { WrongExpectedRevisionError, type EventMetadata, type EventStore, type RecordedEvent } from './eventStore.js';
import type { Runtime } from './runtime.js';

/** Who caused a command: copied into every event's metadata. */
export type CommandContext = {
  correlationId: string;
  causationId?: string | null;
  actor: string;
  ip?: string | null;
  userAgent?: string | null;
};

export const eventMetadata = (context: CommandContext, now: Date, schemaVersion = 1): EventMetadata => ({
  correlationId: context.correlationId,
  causationId: context.causationId ?? null,
  actor: context.actor,
  ip: context.ip ?? null,
  userAgent: context.userAgent ?? null,
  occurredAt: now.toISOString(),
  schemaVersion,
});

export type HandleResult<State, E extends Event> = {
  /** events appended by this call (empty when the decider decided nothing) */
  events: E[];
  /** ids of the appended events, in order */
  eventIds: string[];
  /** global position of the last appended event (0 when nothing was appended) */
  position: number;
  state: State;
  nextExpectedRevision: number;
};

/**
 * The domain's view of a recorded event: its type and data. `RecordedEvent<E>` distributes over `E`, so
 * for a concrete union this is plain narrowing; for the generic `E` here TypeScript cannot see through
 * the conditional type, hence the one assertion.
 */
const domainEvent = <E extends Event>(recorded: RecordedEvent<E>): E =>
  ({ type: recorded.type, data: recorded.data }) as E;

/** Folds a stream with `evolve`; the revision is -1 for a stream that does not exist. */
export const loadAggregate = async <State, Command, E extends Event>(
  store: EventStore,
  streamId: string,
  decider: Decider<State, Command, E>,
): Promise<{ state: State; revision: number }> => {
  const recorded = await store.readStream<E>(streamId);
  const state = recorded.reduce((s, r) => decider.evolve(s, domainEvent<E>(r)), decider.initialState());
  return { state, revision: recorded.length > 0 ? recorded[recorded.length - 1]!.revision : -1 };
};

/**
 * The one command handler: read the stream, fold, decide, append with the expected revision; on a
 * concurrency conflict start over with the fresh stream (the decision is re-made on the new state,
 * which is what keeps concurrent login attempts from slipping past a lockout).
 * `command` is a function so that time-dependent commands can take a fresh `now` on each attempt; it
 * may be async, for work that needs the state read here (a login verifies the password against the
 * hash of the very state it decides on, so the stream is read once).
 * Event ids come from `runtime.newId`, `occurredAt` from `runtime.clock`.
 */
export const handleCommand = async <State, Command, E extends Event>(
  store: EventStore,
  streamId: string,
  decider: Decider<State, Command, E>,
  command: (state: State) => Command | Promise<Command>,
  context: CommandContext,
  options: {
    runtime: Runtime;
    maxAttempts?: number;
    /**
     * The stream's state and revision as this caller just left them (a previous handleCommand's `state`
     * and `nextExpectedRevision`): the first attempt decides on it without reading. Safe: the append
     * expects that revision, so if anyone wrote since, it conflicts and the retry reads the stream.
     */
    known?: { state: State; revision: number };
  },
): Promise<HandleResult<State, E>> => {
  const { clock, newId } = options.runtime;
  const maxAttempts = options.maxAttempts ?? 100;
  for (let attempt = 1; ; attempt++) {
    const { state, revision } =
      attempt === 1 && options.known !== undefined ? options.known : await loadAggregate(store, streamId, decider);
    const events = decider.decide(await command(state), state);
    const newState = events.reduce(decider.evolve, state);
    if (events.length === 0)
      return { events, eventIds: [], position: 0, state: newState, nextExpectedRevision: revision };
    const metadata = eventMetadata(context, clock());
    const toAppend = events.map((e) => ({ id: newId(), type: e.type, data: { ...e.data }, metadata }));
    try {
      const result = await store.append(streamId, toAppend, {
        expectedRevision: revision === -1 ? 'no_stream' : revision,
      });
      return {
        events,
        eventIds: toAppend.map((e) => e.id),
        position: result.position,
        state: newState,
        nextExpectedRevision: result.nextExpectedRevision,
      };
    } catch (error) {
      if (!(error instanceof WrongExpectedRevisionError) || attempt >= maxAttempts) throw error;
      // Jitter spreads out a thundering herd of retries on one hot stream.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(50, attempt * 5)));
    }
  }
};

/**
 * For a command whose decision does not depend on the stream (the decider answers the same on any
 * state): decide on the initial state and append with expectedRevision 'any', without reading the
 * stream. Idempotence then rests on `eventIds`, which must be derived from the command (a retry gets the
 * same ids): the store's idempotent append writes a repeat once and answers `idempotent: true`
 * (EventStoreDB only recognises a repeat among the stream's last events: see the contract suite).
 */
export const handleCommandWithoutRead = async <State, Command, E extends Event>(
  store: EventStore,
  streamId: string,
  decider: Decider<State, Command, E>,
  command: Command,
  context: CommandContext,
  options: { runtime: Runtime; eventIds: (events: readonly E[]) => string[] },
): Promise<{ events: E[]; eventIds: string[]; position: number; idempotent: boolean }> => {
  const events = decider.decide(command, decider.initialState());
  if (events.length === 0) return { events, eventIds: [], position: 0, idempotent: false };
  const ids = options.eventIds(events);
  const metadata = eventMetadata(context, options.runtime.clock());
  const result = await store.append(
    streamId,
    events.map((e, i) => ({ id: ids[i]!, type: e.type, data: { ...e.data }, metadata })),
    { expectedRevision: 'any' },
  );
  return { events, eventIds: ids, position: result.position, idempotent: result.idempotent };
};
