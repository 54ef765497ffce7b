import {
  DeadlineExceededError,
  NotLeaderError,
  StreamDeletedError as EsdbStreamDeletedError,
  TimeoutError,
  UnavailableError,
  type RecordedEvent as EsdbRecordedEvent,
  type WrongExpectedVersionError,
} from '@eventstore/db-client';
import {
  DuplicateEventIdError,
  EventStoreUnavailableError,
  StreamDeletedError,
  WrongExpectedRevisionError,
  type AllFilter,
  type AppendResult,
  type EventMetadata,
  type ExpectedRevision,
  type NewEvent,
  type RecordedEvent,
} from '#application/shared/eventStore.js';

/**
 * Metadata key of the append attempt that wrote an event. `$` keeps it apart from our envelope's fields;
 * readers never see it.
 */
export const APPEND_ATTEMPT_KEY = '$appendAttemptId';

/** What the server sends when it has no position for a record (stream reads on old servers). */
const NO_POSITION = 18446744073709551615n;

export const safeNumber = (value: bigint, what: string): number => {
  if (value < 0n || value > BigInt(Number.MAX_SAFE_INTEGER))
    throw new RangeError(`${what} ${value} does not fit a safe integer`);
  return Number(value);
};

/** Stream reads carry the event's position since server 22.6; for gRPC appends commit and prepare are equal. */
export const positionOfStreamEvent = (event: EsdbRecordedEvent): number => {
  const position = event.position;
  if (position && position.commit < NO_POSITION) return safeNumber(position.commit, 'commit position');
  if (position && position.prepare < NO_POSITION) return safeNumber(position.prepare, 'prepare position');
  throw new Error(
    `EventStoreDB sent no position for event ${event.id} of ${event.streamId} (server 22.6 or later is required)`,
  );
};

/** EventStoreDB's own records ($stats, $epoch, links, stream metadata): never ours, never delivered. */
export const isSystemEvent = (event: { type: string; streamId: string }): boolean =>
  event.type.startsWith('$') || event.streamId.startsWith('$');

/** Exact event types and literal stream prefixes; server-side filters are prefix matches, so this always runs too. */
export const matchesFilter = (event: { type: string; streamId: string }, filter: AllFilter | undefined): boolean => {
  if (filter?.eventTypes && filter.eventTypes.length > 0 && !filter.eventTypes.includes(event.type)) return false;
  if (
    filter?.streamPrefixes &&
    filter.streamPrefixes.length > 0 &&
    !filter.streamPrefixes.some((p) => event.streamId.startsWith(p))
  )
    return false;
  return true;
};

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' &&
  value !== null &&
  (Object.getPrototypeOf(value) === Object.prototype || Object.getPrototypeOf(value) === null);

/** Correlation and causation go where EventStoreDB's projections look for them; the rest of the envelope as is. */
export const toEsdbMetadata = (metadata: EventMetadata, attempt: string): Record<string, unknown> => {
  const { correlationId, causationId, ...rest } = metadata;
  return {
    ...rest,
    $correlationId: correlationId,
    ...(causationId === null || causationId === undefined ? {} : { $causationId: causationId }),
    [APPEND_ATTEMPT_KEY]: attempt,
  };
};

/** Events written by other tools get a plausible envelope rather than a crash. */
const fromEsdbMetadata = (raw: unknown, event: EsdbRecordedEvent): EventMetadata => {
  const { $correlationId, $causationId, [APPEND_ATTEMPT_KEY]: _attempt, ...rest } = isRecord(raw) ? raw : {};
  return {
    actor: 'system',
    ip: null,
    userAgent: null,
    occurredAt: event.created.toISOString(),
    schemaVersion: 1,
    ...rest,
    correlationId: typeof $correlationId === 'string' ? $correlationId : event.id,
    causationId: typeof $causationId === 'string' ? $causationId : null,
  };
};

const fromEsdbData = (event: EsdbRecordedEvent): Record<string, unknown> => {
  if (!event.isJson) return { base64: Buffer.from(event.data).toString('base64') };
  return isRecord(event.data) ? event.data : { value: event.data };
};

export const fromEsdbEvent = (event: EsdbRecordedEvent, position: number): RecordedEvent => ({
  id: event.id,
  type: event.type,
  streamId: event.streamId,
  revision: safeNumber(event.revision, 'stream revision'),
  position,
  data: fromEsdbData(event),
  metadata: fromEsdbMetadata(event.metadata, event),
  recordedAt: event.created.toISOString(),
});

/** JSON values equal whatever their keys' order (what a retry with the same content looks like). */
export const sameJson = (a: unknown, b: unknown): boolean => {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => sameJson(x, b[i]));
  const [ka, kb] = [Object.keys(a), Object.keys(b)];
  return (
    ka.length === kb.length &&
    ka.every(
      (k) =>
        Object.prototype.hasOwnProperty.call(b, k) &&
        sameJson((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]),
    )
  );
};

/**
 * Is this append a retry of one already in the stream? `recent` holds the stream's last events (newest
 * first, as read backwards). null: none of the append's ids is there, append it. An AppendResult: all
 * of them are, consecutively, with the same type and data, so nothing is written (`idempotent: true`,
 * the original revision and position). Anything else is a DuplicateEventIdError.
 */
export const retryOutcome = (
  events: readonly NewEvent[],
  recent: readonly EsdbRecordedEvent[],
): AppendResult | DuplicateEventIdError | null => {
  const byId = new Map(recent.map((e) => [e.id.toLowerCase(), e]));
  const found = events.map((e) => byId.get(e.id.toLowerCase()));
  if (found.every((f) => f === undefined)) return null;
  const first = found[0];
  const consistent =
    first !== undefined &&
    found.every(
      (f, i) =>
        f !== undefined &&
        f.revision === first.revision + BigInt(i) &&
        f.type === events[i]!.type &&
        f.isJson &&
        sameJson(f.data, events[i]!.data),
    );
  if (!consistent) {
    const clash = found.findIndex(
      (f, i) => f !== undefined && (f.type !== events[i]!.type || !sameJson(f.data, events[i]!.data)),
    );
    const offending =
      clash >= 0
        ? clash
        : Math.max(
            0,
            found.findIndex((f) => f !== undefined),
          );
    return new DuplicateEventIdError(events[offending]!.id);
  }
  const last = found[found.length - 1]!;
  return {
    nextExpectedRevision: safeNumber(last.revision, 'stream revision'),
    position: positionOfStreamEvent(last),
    idempotent: true,
  };
};

/**
 * The port error for a refused append. The server answers WrongExpectedVersion both for a lost race and
 * for what it calls "corrupted idempotency" (a retry that reuses only some ids): with `any`, and with
 * `stream_exists` on a stream that exists, only the second is possible. `clash` is one of our ids found
 * where the retry would have put them (read by the caller after an exact-revision conflict).
 */
export const appendConflict = (
  streamId: string,
  events: readonly NewEvent[],
  expected: ExpectedRevision,
  error: WrongExpectedVersionError,
  clash: string | null,
): Error => {
  const actual = error.actualVersion === 'no_stream' ? -1 : safeNumber(error.actualVersion, 'stream revision');
  if (clash !== null) return new DuplicateEventIdError(clash);
  if (expected === 'any') return new DuplicateEventIdError(events[0]!.id);
  if (expected === 'stream_exists' && actual >= 0) return new DuplicateEventIdError(events[0]!.id);
  return new WrongExpectedRevisionError(streamId, expected, actual);
};

/**
 * Client errors that have a port meaning: a deleted stream, and a server that cannot answer now
 * (unreachable, no leader, deadline passed), which is retryable. Anything else passes through.
 */
export const portError = (error: unknown, streamId: string | null): unknown => {
  if (error instanceof EsdbStreamDeletedError) return new StreamDeletedError(streamId ?? error.streamName);
  if (
    error instanceof UnavailableError ||
    error instanceof DeadlineExceededError ||
    error instanceof NotLeaderError ||
    error instanceof TimeoutError
  )
    return new EventStoreUnavailableError(`EventStoreDB: ${error.message}`, error);
  return error;
};
