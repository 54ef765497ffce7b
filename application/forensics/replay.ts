import type { EventStore, RecordedEvent } from '#application/shared/eventStore.js';
import { NotFoundError } from '#application/shared/errors.js';
import { eventView, findEvent, type EventView } from './eventQuery.js';
import { familyOf, foldEvents, stateView } from './timeTravel.js';

/**
 * The replay stepper: one stream, one event at a time. Step N is the event at revision N, the state
 * of the stream right after it (folded from revision 0 with the live decider's evolve, the same fold
 * as time travel), what that event changed, who did it, from where, and why (its causation event and
 * correlation id), with the neighbouring revisions to step to. See docs/architecture.md ("Event explorer").
 */
export type ReplayStep = {
  streamId: string;
  /** the stream family folded (account, chat, number...), or null: no decider folds this stream */
  kind: string | null;
  revision: number;
  /** revision of the stream's newest event */
  lastRevision: number;
  previous: number | null;
  next: number | null;
  event: EventView;
  /** whether this event changed the folded state (false for an event type the decider does not fold) */
  folded: boolean;
  /** the state after this event, secrets redacted (null when no decider folds the stream) */
  state: unknown;
  summary: Record<string, unknown> | null;
  /** JSON paths (a.b.c) whose value this event changed */
  changed: string[];
  who: { actor: string; username: string | null };
  origin: { ip: string | null; userAgent: string | null };
  why: {
    correlationId: string;
    causationId: string | null;
    /** the causation event, when it is found (in this stream, or among the newest events) */
    cause: { id: string; type: string; streamId: string; revision: number; occurredAt: string } | null;
  };
};

/** Events read per round trip while folding up to the wanted revision (memory stays bounded by one page). */
const PAGE = 1_000;
const MAX_CHANGED_PATHS = 50;

/** The paths where two JSON values differ, depth-first, at most MAX_CHANGED_PATHS. */
export const changedPaths = (before: unknown, after: unknown, path = '', out: string[] = []): string[] => {
  if (out.length >= MAX_CHANGED_PATHS) return out;
  const isObject = (v: unknown): v is Record<string, unknown> =>
    v !== null && typeof v === 'object' && !Array.isArray(v);
  if (isObject(before) && isObject(after)) {
    for (const key of [...new Set([...Object.keys(before), ...Object.keys(after)])].sort())
      changedPaths(before[key], after[key], path === '' ? key : `${path}.${key}`, out);
    return out;
  }
  if (JSON.stringify(before) !== JSON.stringify(after)) out.push(path === '' ? '(state)' : path);
  return out;
};

/** Who an actor id is: the username of its account (read from its AccountCreated), when there is one. */
const usernameOf = async (store: EventStore, actor: string): Promise<string | null> => {
  if (!/^[0-9a-f-]{36}$/i.test(actor)) return null;
  const [created] = await store.readStream(`account-${actor}`, { maxCount: 1 });
  const username = created?.type === 'AccountCreated' ? (created.data as { username?: unknown }).username : undefined;
  return typeof username === 'string' ? username : null;
};

export type StepOptions = {
  /** bound of the search for a causation event outside the stream (newest events first) */
  lookupScanLimit?: number;
};

export const stepOf = async (
  store: EventStore,
  streamId: string,
  revision: number | 'last',
  options: StepOptions = {},
): Promise<ReplayStep> => {
  const [newest] = await store.readStream(streamId, { direction: 'backwards', maxCount: 1 });
  if (!newest) throw new NotFoundError(`The stream ${streamId} has no events.`, 'stream_not_found');
  const lastRevision = newest.revision;
  const wanted = revision === 'last' ? lastRevision : revision;
  if (wanted > lastRevision)
    throw new NotFoundError(
      `The stream ${streamId} has revisions 0 to ${lastRevision}; ${wanted} is not one.`,
      'revision_not_found',
    );

  const f = familyOf(streamId);
  let state: unknown = f?.initialState() ?? null;
  let before: unknown = state;
  let event: RecordedEvent | undefined;
  const folded: RecordedEvent[] = [];
  const sameStream = new Map<string, RecordedEvent>();
  for (let from = 0; from <= wanted; from += PAGE) {
    const page = await store.readStream(streamId, { fromRevision: from, maxCount: Math.min(PAGE, wanted - from + 1) });
    if (page.length === 0) break;
    for (const current of page) {
      if (current.revision > wanted) break;
      sameStream.set(current.id, current);
      if (current.revision === wanted) {
        event = current;
        before = state;
      }
      if (f) state = foldEvents(f, state, [current], folded);
    }
  }
  if (!event)
    throw new NotFoundError(`The stream ${streamId} has no event at revision ${wanted}.`, 'revision_not_found');

  const causationId = event.metadata.causationId;
  const cause =
    causationId === null
      ? null
      : (sameStream.get(causationId) ?? (await findEvent(store, causationId, options.lookupScanLimit)));
  const stateAfter = f ? stateView(state) : null;
  return {
    streamId,
    kind: f?.kind ?? null,
    revision: wanted,
    lastRevision,
    previous: wanted > 0 ? wanted - 1 : null,
    next: wanted < lastRevision ? wanted + 1 : null,
    event: eventView(event),
    folded: f !== null && f.types.has(event.type),
    state: stateAfter,
    summary: f ? f.summary(state, folded, event.metadata.occurredAt) : null,
    changed: f ? changedPaths(stateView(before), stateAfter) : [],
    who: { actor: event.metadata.actor, username: await usernameOf(store, event.metadata.actor) },
    origin: { ip: event.metadata.ip, userAgent: event.metadata.userAgent },
    why: {
      correlationId: event.metadata.correlationId,
      causationId,
      cause:
        cause === null
          ? null
          : {
              id: cause.id,
              type: cause.type,
              streamId: cause.streamId,
              revision: cause.revision,
              occurredAt: cause.metadata.occurredAt,
            },
    },
  };
};
