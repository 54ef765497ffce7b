/**
 * The event-store workloads, written once against a small target interface so every store runs the
 * exact same loop: appends (N writers, each awaiting its own appends to its own streams), read-all
 * in pages, and subscription catch-up from position 0.
 */
import { randomUUID } from 'node:crypto';
import type { EventMetadata } from '../application/shared/eventStore.js';
import { median, percentile } from './bench-support.js';

/** What a writer appends; each target adds what its store needs (ids, versions). */
export type BenchEvent = { type: string; data: Record<string, unknown>; metadata: EventMetadata };

/** What a read handed over: events in total, and distinct global positions among them. */
export type Delivery = { delivered: number; unique: number };

/** Counts deliveries and distinct positions (a reader that skips or repeats events shows it here). */
export const deliveryCounter = () => {
  const positions = new Set<number | bigint>();
  let delivered = 0;
  return {
    add(position: number | bigint) {
      delivered += 1;
      positions.add(position);
    },
    result: (): Delivery => ({ delivered, unique: positions.size }),
  };
};

/** A stream a writer owns; `length` is how many events it holds (the writer's expected version). */
export type StreamCursor = { name: string; length: number };

export type BenchTarget = {
  readonly name: string;
  /** appends with an exact expected version derived from `stream.length`; must throw on a conflict */
  append(stream: StreamCursor, events: readonly BenchEvent[]): Promise<void>;
  /** reads the whole store from the start in pages of `pageSize` */
  readAll(pageSize: number): Promise<Delivery>;
  /** subscribes from 0 and resolves once caught up */
  catchUp(): Promise<Delivery>;
  close(): Promise<void>;
};

const TEXT = 'Hola, ¿a qué hora abren mañana? Quisiera reservar una mesa para cuatro personas, gracias.';

export const makeEvents = (count: number, writer: number, seq: number): BenchEvent[] =>
  Array.from({ length: count }, (_, i) => ({
    type: 'MessageReceived',
    data: { chatId: `34600${String(writer).padStart(6, '0')}@s.whatsapp.net`, seq: seq + i, text: TEXT },
    metadata: {
      correlationId: randomUUID(),
      causationId: null,
      actor: 'system',
      ip: '127.0.0.1',
      userAgent: 'bench',
      occurredAt: new Date().toISOString(),
      schemaVersion: 1,
    },
  }));

export type AppendLoad = {
  writers: number;
  eventsPerAppend: number;
  /** stop after this many appends in total... */
  maxAppends: number;
  /** ...or after this long, whichever comes first */
  maxSeconds: number;
  streamsPerWriter: number;
  /** makes stream names unique per run */
  label: string;
};

export type AppendResult = {
  appends: number;
  events: number;
  seconds: number;
  appendsPerSecond: number;
  eventsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
};

/** Each writer appends to its own streams in turn and awaits every append before the next. */
export const runAppends = async (target: BenchTarget, load: AppendLoad): Promise<AppendResult> => {
  const latencies: number[] = [];
  let issued = 0;
  const start = performance.now();
  const deadline = start + load.maxSeconds * 1000;
  const writer = async (w: number) => {
    const streams: StreamCursor[] = Array.from({ length: load.streamsPerWriter }, (_, i) => ({
      name: `bench-${load.label}-w${w}-s${i}`,
      length: 0,
    }));
    for (let i = 0; issued < load.maxAppends && performance.now() < deadline; i++) {
      issued += 1;
      const stream = streams[i % streams.length]!;
      const events = makeEvents(load.eventsPerAppend, w, stream.length);
      const t0 = performance.now();
      await target.append(stream, events);
      latencies.push(performance.now() - t0);
      stream.length += events.length;
    }
  };
  await Promise.all(Array.from({ length: load.writers }, (_, w) => writer(w)));
  const seconds = (performance.now() - start) / 1000;
  return {
    appends: latencies.length,
    events: latencies.length * load.eventsPerAppend,
    seconds,
    appendsPerSecond: latencies.length / seconds,
    eventsPerSecond: (latencies.length * load.eventsPerAppend) / seconds,
    p50Ms: median(latencies),
    p99Ms: percentile(latencies, 99),
  };
};

/** Several rounds of one load: the median round's rates, and each round's appends/s to show the spread. */
export const medianOfRounds = (
  rounds: readonly AppendResult[],
): AppendResult & { roundsAppendsPerSecond: number[] } => {
  const sorted = [...rounds].sort((a, b) => a.appendsPerSecond - b.appendsPerSecond);
  const mid = sorted[Math.floor((sorted.length - 1) / 2)]!;
  return { ...mid, roundsAppendsPerSecond: rounds.map((r) => r.appendsPerSecond) };
};

/** Fills an empty store with exactly `events` events: 8 writers, 10 events per append. */
export const prefill = async (target: BenchTarget, events: number, label: string): Promise<void> => {
  const result = await runAppends(target, {
    writers: 8,
    eventsPerAppend: 10,
    maxAppends: Math.ceil(events / 10),
    maxSeconds: 600,
    streamsPerWriter: 50,
    label,
  });
  if (result.events !== events)
    throw new Error(`${target.name}: prefill wrote ${result.events} events, wanted ${events}`);
};

export type ReadResult = {
  /** events in the store */
  events: number;
  /** what the last pass delivered: `unique < events` means events were skipped, `delivered > unique` repeated */
  delivered: number;
  unique: number;
  seconds: number[];
  /** delivered events per second of the median pass */
  eventsPerSecond: number;
};

/** One unmeasured pass, then `passes` measured ones; the rate is the median pass's. */
export const runRepeated = async (
  what: () => Promise<Delivery>,
  expected: number,
  passes: number,
): Promise<ReadResult> => {
  let last = await what();
  const seconds: number[] = [];
  for (let i = 0; i < passes; i++) {
    const t0 = performance.now();
    last = await what();
    seconds.push((performance.now() - t0) / 1000);
  }
  return {
    events: expected,
    delivered: last.delivered,
    unique: last.unique,
    seconds,
    eventsPerSecond: last.delivered / median(seconds),
  };
};
