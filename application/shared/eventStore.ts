import type { Event } from '#domain/shared/event.js';

/**
 * The event store port. Adapters: PostgreSQL (pg), embedded (the same SQL on PGlite)
 * and EventStoreDB. Every adapter passes tests/contract/eventStore.contract.ts.
 */

/** Metadata carried by every stored event (the envelope). */
export type EventMetadata = {
  correlationId: string;
  causationId: string | null;
  /** user id, or 'system' */
  actor: string;
  ip: string | null;
  userAgent: string | null;
  /** ISO-8601 */
  occurredAt: string;
  schemaVersion: number;
};

/** What a caller appends. `id` makes the append idempotent: retrying with the same ids writes nothing. */
export type NewEvent = {
  id: string;
  type: string;
  data: Record<string, unknown>;
  metadata: EventMetadata;
};

/** The envelope a store adds to every event it records. */
export type RecordedEnvelope = {
  id: string;
  metadata: EventMetadata;
  streamId: string;
  /** 0-based index of the event in its stream */
  revision: number;
  /** global position (all-stream order, strictly increasing) */
  position: number;
  /** when the store recorded it (ISO-8601) */
  recordedAt: string;
};

/**
 * What a reader gets back, typed by the event union the caller reads (a context's catalogue,
 * e.g. `RecordedEvent<IdentityEvent>`): distributive, so narrowing on `type` narrows `data`.
 * The default (`Event`) is the untyped envelope for code that handles any event.
 */
export type RecordedEvent<E extends Event = Event> = E extends Event
  ? RecordedEnvelope & { type: E['type']; data: E['data'] }
  : never;

/**
 * Expected revision for optimistic concurrency (EventStoreDB semantics):
 * - 'no_stream': the stream must not exist
 * - 'stream_exists': the stream must have at least one event
 * - 'any': no check
 * - a number: the revision of the stream's last event must be exactly this
 */
export type ExpectedRevision = 'no_stream' | 'stream_exists' | 'any' | number;

export type AppendResult = {
  /** revision of the last event now in the stream: pass it as the next expectedRevision */
  nextExpectedRevision: number;
  /** global position of the last appended event */
  position: number;
  /** true when every event id was already stored and nothing was written */
  idempotent: boolean;
};

export type Direction = 'forwards' | 'backwards';

export type ReadStreamOptions = {
  direction?: Direction;
  /** inclusive; default: start (forwards) or end (backwards) */
  fromRevision?: number;
  maxCount?: number;
};

export type AllFilter = {
  eventTypes?: readonly string[];
  streamPrefixes?: readonly string[];
};

export type ReadAllOptions = {
  /** exclusive: events with a position greater than this; default: from the beginning */
  after?: number;
  maxCount?: number;
  filter?: AllFilter;
};

export type SubscribeOptions = {
  /** exclusive checkpoint: the first event delivered has a greater position */
  after?: number;
  filter?: AllFilter;
  /** called for each event in position order; the next one waits for the promise */
  onEvent: (event: RecordedEvent) => Promise<void> | void;
  /** a failing handler or a lost connection stops the subscription and lands here */
  onError?: (error: Error) => void;
  /** catch-up is done: every event stored before subscribing has been delivered */
  onCaughtUp?: (position: number) => void;
};

export type Subscription = {
  /** position of the last event handed to onEvent (or the starting checkpoint) */
  readonly position: number;
  stop(): Promise<void>;
};

/** Upcasters turn old event versions into the current shape on read. */
export type Upcaster = (event: RecordedEvent) => RecordedEvent;

export interface EventStore {
  readonly kind: 'postgres' | 'pglite' | 'eventstoredb';
  append(
    streamId: string,
    events: readonly NewEvent[],
    options?: { expectedRevision?: ExpectedRevision },
  ): Promise<AppendResult>;
  /** `E` names the union the caller expects on this stream (the store does not check it: the catalogue does) */
  readStream<E extends Event = Event>(streamId: string, options?: ReadStreamOptions): Promise<RecordedEvent<E>[]>;
  readAll<E extends Event = Event>(options?: ReadAllOptions): Promise<RecordedEvent<E>[]>;
  subscribeToAll(options: SubscribeOptions): Subscription;
  /** position of the newest event (0 when empty) */
  headPosition(): Promise<number>;
  /** cheap round trip for /healthz */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export class WrongExpectedRevisionError extends Error {
  readonly code = 'wrong_expected_revision';
  constructor(
    readonly streamId: string,
    readonly expected: ExpectedRevision,
    /** revision of the stream's last event, or -1 when the stream does not exist */
    readonly actual: number,
  ) {
    super(`stream ${streamId}: expected revision ${String(expected)}, actual ${actual}`);
    this.name = 'WrongExpectedRevisionError';
  }
}

/** Some, but not all, of an append's event ids are already stored (or stored in another stream). */
export class DuplicateEventIdError extends Error {
  readonly code = 'duplicate_event_id';
  constructor(readonly eventId: string) {
    super(`event id ${eventId} is already stored with different content or position`);
    this.name = 'DuplicateEventIdError';
  }
}
