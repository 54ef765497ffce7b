import { DomainError, type Event } from '#domain/shared/event.js';

/**
 * The event store port. Adapters: PostgreSQL (pg), embedded (the same SQL on PGlite)
 * and EventStoreDB. Every adapter passes tests/contract/eventStore.contract.ts.
 *
 * What every adapter refuses before anything is written (InvalidAppendError, kind 'validation'):
 * an empty or over-long stream id, event ids that are not UUIDs or repeat within the append, an empty
 * type, NUL or a lone surrogate in the stream id, a type or any string or key of data and metadata,
 * data that JSON would change on the way back (undefined, NaN, Infinity, BigInt, functions, symbols,
 * Map, Set, Date or other class instances, sparse arrays, cycles), and an expected revision that is
 * not 'no_stream' | 'stream_exists' | 'any' | an integer >= 0.
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

/**
 * What a caller appends. `id` makes the append idempotent: retrying an append with the same ids (and
 * the same types and data) writes nothing and answers `idempotent: true`, however the stream moved
 * since. Reusing an id with another type or data, or only some of an append's ids, is refused with
 * DuplicateEventIdError. See the contract suite's "idempotent append" cases for what each store keeps.
 */
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

export type CountAllOptions = {
  /** exclusive */
  after?: number;
  /** inclusive */
  upTo?: number;
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
  /**
   * position of the newest event (0 when empty). Events become visible in position order in every store,
   * so a readAll started after this call that comes back short (fewer than maxCount) has returned every
   * matching event up to this head: a reader may checkpoint there (projections/shared/checkpoints.ts).
   */
  headPosition(): Promise<number>;
  /** Optional: how many events match, counted by the store (a projection's lag, a rebuild's total); else readers page through readAll. */
  countAll?(options?: CountAllOptions): Promise<number>;
  /** cheap round trip for /healthz; adapters keep at most one in flight */
  ping(): Promise<void>;
  close(): Promise<void>;
  /**
   * Optional, and for one use only: the one sanctioned rewrite of the log, `chatbot contacts encrypt-legacy`
   * (infrastructure/privacy/legacyEncryption.ts), which encrypts in place the personal fields of events
   * appended before crypto-shredding existed. Replaces the data of the event `eventId` if it is still
   * exactly `expected` (compare-and-set); true when it did. Type, ids, metadata and positions never change.
   * The SQL stores have it; EventStoreDB's log is immutable and has not. The crypto-shredding decorator does
   * not pass it on, so nothing that holds the application's store can rewrite an event.
   */
  rewriteEventData?(
    eventId: string,
    expected: Record<string, unknown>,
    data: Record<string, unknown>,
  ): Promise<boolean>;
}

/** The append was refused before anything was written: see the port's list above. */
export class InvalidAppendError extends DomainError {
  readonly kind = 'validation' as const;
  constructor(
    reason: string,
    readonly streamId: string | null = null,
  ) {
    super('invalid_append', `invalid append: ${reason}`, { reason });
  }
}

/**
 * The store could not take the write or read now (the commit-ordering lock was not granted in time, the
 * server is unreachable): nothing was written, the same call may be retried.
 */
export class EventStoreUnavailableError extends DomainError {
  readonly kind = 'unavailable' as const;
  readonly retryable = true;
  constructor(
    reason: string,
    readonly cause?: unknown,
  ) {
    super('event_store_unavailable', `the event store is unavailable: ${reason}`);
  }
}

/** The stream was deleted (EventStoreDB tombstone or soft delete); the SQL stores never delete streams. */
export class StreamDeletedError extends DomainError {
  readonly kind = 'conflict' as const;
  constructor(readonly streamId: string) {
    super('stream_deleted', `stream ${streamId} was deleted`);
  }
}

/**
 * Another writer appended to the stream since it was read. The command handler re-reads and decides
 * again; when it gives up (a very hot stream), the API answers 409 `wrong_expected_revision` with
 * `details.retryable: true`: the same request may simply be sent again. Nothing was written.
 */
export class WrongExpectedRevisionError extends DomainError {
  readonly kind = 'conflict' as const;
  readonly retryable = true;
  constructor(
    readonly streamId: string,
    readonly expected: ExpectedRevision,
    /** revision of the stream's last event, or -1 when the stream does not exist */
    readonly actual: number,
  ) {
    super(
      'wrong_expected_revision',
      `stream ${streamId}: expected revision ${String(expected)}, actual ${actual} (changed by another request at the same time; retry)`,
      { retryable: true },
    );
  }
}

/**
 * An event id is already stored with another type or data, in another stream, or only some of an
 * append's ids are stored: the append is refused and nothing is written. The API answers 409
 * `duplicate_event_id` with `details.retryable: false`: sending the same request again cannot succeed.
 */
export class DuplicateEventIdError extends DomainError {
  readonly kind = 'conflict' as const;
  readonly retryable = false;
  constructor(readonly eventId: string) {
    super('duplicate_event_id', `event id ${eventId} is already stored with different content or position`, {
      retryable: false,
    });
  }
}

/**
 * A store refusal that says "not now" rather than "never": the same call may succeed later. A consumer
 * that skips refused work (a domain refusal) must not skip these: it retries or restarts instead.
 */
export const isTransientStoreError = (error: unknown): boolean =>
  error instanceof EventStoreUnavailableError || error instanceof WrongExpectedRevisionError;
