import type { RecordedEvent as EsdbRecordedEvent } from '@eventstore/db-client';
import type { AllFilter, EventMetadata, RecordedEvent } from '#application/shared/eventStore.js';

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
