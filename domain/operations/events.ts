import type { Event } from '#domain/shared/event.js';

/**
 * The operations context's event catalogue: what an admin does to the running system itself (not to
 * accounts, numbers or chats). Stream `projection-<name>` per read model.
 */

/** An admin asked for a blue/green rebuild of one read model (the rebuild's own progress is not an event). */
export type ProjectionRebuildRequested = Event<'ProjectionRebuildRequested', { projection: string; by: string }>;

export type OperationsEvent = ProjectionRebuildRequested;

export const OPERATIONS_EVENT_TYPES: readonly OperationsEvent['type'][] = ['ProjectionRebuildRequested'];

export const PROJECTION_STREAM_PREFIX = 'projection-';
export const projectionStreamId = (name: string): string => `${PROJECTION_STREAM_PREFIX}${name}`;
