import type { AllFilter, EventStore, RecordedEvent } from '#application/shared/eventStore.js';

/**
 * Incident forensics over the event store port: filters the port does not offer (actor, correlation
 * id, time, backward order over $all) are applied here while paging through the store, with a bound
 * on the events scanned per request so one request can never read the whole log. See
 * docs/architecture.md ("Event explorer").
 */

export type EventQuery = {
  types?: readonly string[];
  streamPrefix?: string;
  actor?: string;
  correlationId?: string;
  /** inclusive, on metadata.occurredAt */
  from?: Date;
  /** exclusive, on metadata.occurredAt */
  to?: Date;
  direction: 'forwards' | 'backwards';
  /** forwards: events after this position; backwards: events before it */
  cursor?: number;
  limit: number;
};

export type EventPage = {
  events: RecordedEvent[];
  /** where the next page starts; null when the scan reached the end of the log */
  nextCursor: number | null;
  /** positions (backwards) or events (forwards) examined for this page */
  scanned: number;
};

/** Bounds of one request: how many events it reads from the store, and per round trip. */
export type ScanLimits = { maxScanned: number; batchSize: number };
export const DEFAULT_SCAN_LIMITS: ScanLimits = { maxScanned: 20_000, batchSize: 1_000 };

const storeFilter = (query: Pick<EventQuery, 'types' | 'streamPrefix'>): AllFilter | undefined => {
  const filter: AllFilter = {
    ...(query.types && query.types.length > 0 ? { eventTypes: query.types } : {}),
    ...(query.streamPrefix ? { streamPrefixes: [query.streamPrefix] } : {}),
  };
  return Object.keys(filter).length > 0 ? filter : undefined;
};

/** The filters the store cannot apply (metadata and time). */
export const matches = (query: Omit<EventQuery, 'direction' | 'limit' | 'cursor'>, event: RecordedEvent): boolean => {
  if (query.actor !== undefined && event.metadata.actor !== query.actor) return false;
  if (query.correlationId !== undefined && event.metadata.correlationId !== query.correlationId) return false;
  if (query.from || query.to) {
    const at = Date.parse(event.metadata.occurredAt);
    if (query.from && !(at >= query.from.getTime())) return false;
    if (query.to && !(at < query.to.getTime())) return false;
  }
  if (query.types && query.types.length > 0 && !query.types.includes(event.type)) return false;
  if (query.streamPrefix && !event.streamId.startsWith(query.streamPrefix)) return false;
  return true;
};

/** One page of events matching `query`, scanning at most `limits.maxScanned`. */
export const queryEvents = async (
  store: EventStore,
  query: EventQuery,
  limits: ScanLimits = DEFAULT_SCAN_LIMITS,
): Promise<EventPage> =>
  query.direction === 'forwards' ? scanForwards(store, query, limits) : scanBackwards(store, query, limits);

/** Whether every filter is applied by the store, so reading exactly what is still missing is enough. */
const storeOnly = (query: EventQuery): boolean =>
  query.actor === undefined && query.correlationId === undefined && !query.from && !query.to;

const scanForwards = async (store: EventStore, query: EventQuery, limits: ScanLimits): Promise<EventPage> => {
  const filter = storeFilter(query);
  const events: RecordedEvent[] = [];
  let after = query.cursor ?? 0;
  let scanned = 0;
  for (;;) {
    const wanted = storeOnly(query) ? query.limit - events.length : Number.POSITIVE_INFINITY;
    const maxCount = Math.min(limits.batchSize, limits.maxScanned - scanned, wanted);
    const batch = await store.readAll({ after, maxCount, filter });
    for (const event of batch) {
      after = event.position;
      scanned++;
      if (!matches(query, event)) continue;
      events.push(event);
      if (events.length >= query.limit) return { events, nextCursor: after, scanned };
    }
    if (batch.length < maxCount) return { events, nextCursor: null, scanned };
    if (scanned >= limits.maxScanned) return { events, nextCursor: after, scanned };
  }
};

/**
 * The port reads $all forwards only. Positions are unique integers, so a window of W positions holds
 * at most W events: reading W events after the window's start returns the whole window (and maybe
 * some events past it, dropped). Windows walk back from the cursor (or the head).
 */
const scanBackwards = async (store: EventStore, query: EventQuery, limits: ScanLimits): Promise<EventPage> => {
  const filter = storeFilter(query);
  const events: RecordedEvent[] = [];
  let before = query.cursor ?? (await store.headPosition()) + 1;
  let scanned = 0;
  while (before > 1) {
    // Without any filter every position in the window is a candidate: read no more than is missing.
    const wanted = storeOnly(query) && !filter ? query.limit - events.length : Number.POSITIVE_INFINITY;
    const width = Math.min(limits.batchSize, limits.maxScanned - scanned, before - 1, wanted);
    const start = before - width;
    const batch = await store.readAll({ after: start - 1, maxCount: width, filter });
    scanned += width;
    const inWindow = batch.filter((event) => event.position < before).reverse();
    for (const event of inWindow) {
      if (!matches(query, event)) continue;
      events.push(event);
      if (events.length >= query.limit) return { events, nextCursor: event.position, scanned };
    }
    before = start;
    if (scanned >= limits.maxScanned && before > 1) return { events, nextCursor: before, scanned };
  }
  return { events, nextCursor: null, scanned };
};

/** Every event matching `query`, oldest first, page by page: memory stays bounded by one batch. */
export async function* exportEvents(
  store: EventStore,
  query: Omit<EventQuery, 'direction' | 'limit'>,
  batchSize = DEFAULT_SCAN_LIMITS.batchSize,
): AsyncGenerator<RecordedEvent> {
  const filter = storeFilter(query);
  let after = query.cursor ?? 0;
  for (;;) {
    const batch = await store.readAll({ after, maxCount: batchSize, filter });
    for (const event of batch) {
      after = event.position;
      if (matches(query, event)) yield event;
    }
    if (batch.length < batchSize) return;
  }
}

/** Bound of the scans that look for one event or one correlation id without an index (newest first). */
export const LOOKUP_SCAN_LIMIT = 200_000;

/** Every event of one correlation id among the newest `maxScanned` events, oldest first. */
export const eventsOfCorrelation = async (
  store: EventStore,
  correlationId: string,
  maxScanned = LOOKUP_SCAN_LIMIT,
): Promise<{ events: RecordedEvent[]; complete: boolean }> => {
  const page = await queryEvents(
    store,
    { correlationId, direction: 'backwards', limit: Number.MAX_SAFE_INTEGER },
    { maxScanned, batchSize: DEFAULT_SCAN_LIMITS.batchSize },
  );
  return { events: page.events.reverse(), complete: page.nextCursor === null };
};

/** One event by id among the newest `maxScanned` events. */
export const findEvent = async (
  store: EventStore,
  eventId: string,
  maxScanned = LOOKUP_SCAN_LIMIT,
): Promise<RecordedEvent | null> => {
  const batchSize = DEFAULT_SCAN_LIMITS.batchSize;
  let before = (await store.headPosition()) + 1;
  let scanned = 0;
  while (before > 1 && scanned < maxScanned) {
    const width = Math.min(batchSize, before - 1);
    const start = before - width;
    const batch = await store.readAll({ after: start - 1, maxCount: width });
    const found = batch.find((event) => event.id === eventId && event.position < before);
    if (found) return found;
    scanned += width;
    before = start;
  }
  return null;
};

export type ChainNode = {
  event: RecordedEvent;
  /** ms between the parent's occurredAt and this event's (null for roots) */
  gapMs: number | null;
  children: ChainNode[];
};

/**
 * The causal tree of a set of events: each event under the event named by its causationId; events
 * whose cause is not in the set are roots. Siblings in position order.
 */
export const buildChain = (events: readonly RecordedEvent[]): ChainNode[] => {
  const sorted = [...events].sort((a, b) => a.position - b.position);
  const nodes = new Map<string, ChainNode>(sorted.map((event) => [event.id, { event, gapMs: null, children: [] }]));
  const roots: ChainNode[] = [];
  for (const node of nodes.values()) {
    const causation = node.event.metadata.causationId;
    const parent = causation !== null && causation !== node.event.id ? nodes.get(causation) : undefined;
    if (parent && !isAncestor(nodes, node.event.id, parent.event)) {
      node.gapMs = Date.parse(node.event.metadata.occurredAt) - Date.parse(parent.event.metadata.occurredAt);
      parent.children.push(node);
    } else roots.push(node);
  }
  return roots;
};

/** Guards against a causation cycle in stored data (a → b → a), which would drop both from the tree. */
const isAncestor = (nodes: Map<string, ChainNode>, id: string, of: RecordedEvent): boolean => {
  let current: RecordedEvent | undefined = of;
  const seen = new Set<string>();
  while (current && !seen.has(current.id)) {
    if (current.id === id) return true;
    seen.add(current.id);
    const cause: string | null = current.metadata.causationId;
    current = cause === null ? undefined : nodes.get(cause)?.event;
  }
  return false;
};

/** The causes of `event` (nearest first) and everything it caused, within `events`. */
export const relativesOf = (
  event: RecordedEvent,
  events: readonly RecordedEvent[],
): { ancestors: RecordedEvent[]; descendants: RecordedEvent[] } => {
  const byId = new Map(events.map((e) => [e.id, e]));
  const ancestors: RecordedEvent[] = [];
  const seen = new Set([event.id]);
  let cause = event.metadata.causationId;
  while (cause !== null && !seen.has(cause)) {
    const parent = byId.get(cause);
    if (!parent) break;
    ancestors.push(parent);
    seen.add(parent.id);
    cause = parent.metadata.causationId;
  }
  const descendants: RecordedEvent[] = [];
  const frontier = new Set([event.id]);
  for (const candidate of [...events].sort((a, b) => a.position - b.position)) {
    const parent = candidate.metadata.causationId;
    if (parent !== null && frontier.has(parent) && !frontier.has(candidate.id)) {
      frontier.add(candidate.id);
      descendants.push(candidate);
    }
  }
  return { ancestors, descendants };
};

/** Keys whose values never leave the server: hashes, ciphertexts, tokens, passwords, keys. */
const SECRET_KEY =
  /^(password|passwordhash|hash|ciphertext|secret|secretvalue|value|token|accesstoken|refreshtoken|apikey|api_key|privatekey|authstate|credentials)$/i;

/** A copy of `data` with secret values replaced by '[redacted]', at any depth. */
export const redactData = (data: unknown, depth = 0): unknown => {
  if (depth > 20) return '[redacted]';
  if (Array.isArray(data)) return data.map((item) => redactData(item, depth + 1));
  if (data !== null && typeof data === 'object') {
    return Object.fromEntries(
      Object.entries(data as Record<string, unknown>).map(([key, value]) => [
        key,
        SECRET_KEY.test(key) || /password|ciphertext|secret/i.test(key) ? '[redacted]' : redactData(value, depth + 1),
      ]),
    );
  }
  return data;
};

/** The public shape of one event: data redacted; personal data as stored (crypto-shredding is a later step). */
export const eventView = (event: RecordedEvent) => ({
  id: event.id,
  type: event.type,
  streamId: event.streamId,
  revision: event.revision,
  position: event.position,
  recordedAt: event.recordedAt,
  occurredAt: event.metadata.occurredAt,
  data: redactData(event.data),
  metadata: event.metadata,
});
export type EventView = ReturnType<typeof eventView>;

export type ChainView = EventView & { gapMs: number | null; children: ChainView[] };
export const chainView = (nodes: readonly ChainNode[]): ChainView[] =>
  nodes.map((node) => ({ ...eventView(node.event), gapMs: node.gapMs, children: chainView(node.children) }));
