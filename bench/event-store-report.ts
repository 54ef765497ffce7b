/** Turns event-store measurements into the results JSON, the stdout tables and the README summary. */
import { markdownTable, round3, textTable } from './bench-support.js';
import type { AppendResult, ReadResult } from './event-store-workloads.js';

export const TARGETS = ['ours-postgres', 'ours-pglite', 'emmett'] as const;
export type TargetName = (typeof TARGETS)[number];

export type Figure = {
  id: string;
  title: string;
  unit: 'appends/s' | 'events/s';
  'ours-postgres': number;
  'ours-pglite': number;
  emmett: number;
  /** ours-postgres / emmett (> 1: we are faster) */
  ratio: number;
  /** ours-pglite / emmett */
  ratioPglite: number;
  /** batched appends: the same run counted in events */
  eventsPerSecond?: Record<TargetName, number>;
  details: Record<string, unknown>;
};

const ratioOf = (ours: number, theirs: number) => (theirs > 0 ? Number((ours / theirs).toFixed(2)) : 0);

export const appendFigure = (id: string, title: string, results: Record<TargetName, AppendResult>): Figure => ({
  id,
  title,
  unit: 'appends/s',
  'ours-postgres': round3(results['ours-postgres'].appendsPerSecond),
  'ours-pglite': round3(results['ours-pglite'].appendsPerSecond),
  emmett: round3(results.emmett.appendsPerSecond),
  ratio: ratioOf(results['ours-postgres'].appendsPerSecond, results.emmett.appendsPerSecond),
  ratioPglite: ratioOf(results['ours-pglite'].appendsPerSecond, results.emmett.appendsPerSecond),
  eventsPerSecond: Object.fromEntries(TARGETS.map((t) => [t, round3(results[t].eventsPerSecond)])) as Record<
    TargetName,
    number
  >,
  details: Object.fromEntries(
    TARGETS.map((t) => {
      const r = results[t];
      const spread =
        'roundsAppendsPerSecond' in r
          ? { roundsAppendsPerSecond: (r.roundsAppendsPerSecond as number[]).map(round3) }
          : {};
      return [
        t,
        {
          appends: r.appends,
          events: r.events,
          seconds: round3(r.seconds),
          p50Ms: round3(r.p50Ms),
          p99Ms: round3(r.p99Ms),
          ...spread,
        },
      ];
    }),
  ),
});

export const readFigure = (
  id: string,
  title: string,
  results: Record<TargetName, ReadResult>,
  extra: Record<string, unknown> = {},
): Figure => ({
  id,
  title,
  unit: 'events/s',
  'ours-postgres': round3(results['ours-postgres'].eventsPerSecond),
  'ours-pglite': round3(results['ours-pglite'].eventsPerSecond),
  emmett: round3(results.emmett.eventsPerSecond),
  ratio: ratioOf(results['ours-postgres'].eventsPerSecond, results.emmett.eventsPerSecond),
  ratioPglite: ratioOf(results['ours-pglite'].eventsPerSecond, results.emmett.eventsPerSecond),
  details: {
    ...Object.fromEntries(
      TARGETS.map((t) => {
        const r = results[t];
        return [
          t,
          {
            storeEvents: r.events,
            delivered: r.delivered,
            distinct: r.unique,
            missed: r.events - r.unique,
            repeated: r.delivered - r.unique,
            passSeconds: r.seconds.map(round3),
          },
        ];
      }),
    ),
    ...extra,
  },
});

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

/** One row per figure, plus an events/s row under each batched append figure. */
const summaryRows = (figures: readonly Figure[]): string[][] =>
  figures.flatMap((f) => {
    const row = [
      f.title,
      f.unit,
      fmt(f['ours-postgres']),
      fmt(f['ours-pglite']),
      fmt(f.emmett),
      `${f.ratio.toFixed(2)}x`,
      `${f.ratioPglite.toFixed(2)}x`,
    ];
    const batched = f.eventsPerSecond && f.id.includes('batch');
    if (!batched) return [row];
    const e = f.eventsPerSecond!;
    return [
      row,
      [
        `  same, in events`,
        'events/s',
        fmt(e['ours-postgres']),
        fmt(e['ours-pglite']),
        fmt(e.emmett),
        `${f.ratio.toFixed(2)}x`,
        `${f.ratioPglite.toFixed(2)}x`,
      ],
    ];
  });

const HEADER = [
  'figure',
  'unit',
  'ours (PostgreSQL)',
  'ours (PGlite)',
  'Emmett (PostgreSQL)',
  'ours PG / Emmett',
  'ours PGlite / Emmett',
];

export const stdoutSummary = (figures: readonly Figure[]): string => textTable(HEADER, summaryRows(figures));

export const stdoutLatencies = (figures: readonly Figure[]): string =>
  textTable(
    ['append figure', ...TARGETS.map((t) => `${t} p50/p99 ms`)],
    figures
      .filter((f) => f.unit === 'appends/s')
      .map((f) => [
        f.title,
        ...TARGETS.map((t) => {
          const d = f.details[t] as { p50Ms: number; p99Ms: number };
          return `${d.p50Ms.toFixed(2)} / ${d.p99Ms.toFixed(2)}`;
        }),
      ]),
  );

export const markdownSummary = (figures: readonly Figure[], machineLine: string): string =>
  `${machineLine}\n\n${markdownTable(
    HEADER,
    summaryRows(figures).map((r) => r.map((c) => c.trim())),
  )}`;
