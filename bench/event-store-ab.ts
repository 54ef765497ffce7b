/**
 * A/B of append throughput: our event store as it is here, a candidate copy of it (another checkout
 * with a change applied, e.g. bench/proposals/*.patch) and Emmett, taking turns round after round.
 *
 *   mkdir /tmp/candidate && git archive HEAD | tar -x -C /tmp/candidate && ln -s "$PWD/node_modules" /tmp/candidate/node_modules
 *   (cd /tmp/candidate && git apply "$OLDPWD/bench/proposals/event-store-append-one-round-trip.patch")
 *   npx tsx bench/event-store-ab.ts --candidate /tmp/candidate [--backend postgres|pglite] [--rounds 5] [--seconds 1.5]
 *     [--db-prefix bench_ab]   (or BENCH_DB_PREFIX: databases <prefix>_current, _candidate, _emmett)
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { EventStore } from '../application/shared/eventStore.js';
import * as current from '../infrastructure/eventstore/postgres.js';
import { openPgliteDatabase } from '../infrastructure/sql/database.js';
import { createPgExecutor, type SqlExecutor } from '../infrastructure/sql/executor.js';
import {
  adminConnectionString,
  databasePrefix,
  dropDatabase,
  median,
  recreateDatabase,
  textTable,
} from './bench-support.js';
import { emmettOnPostgres } from './event-store-emmett.js';
import { runAppends, type BenchTarget } from './event-store-workloads.js';

type StoreModule = { createPostgresEventStore: (options: { executor: SqlExecutor }) => Promise<EventStore> };

const { values: args } = parseArgs({
  options: {
    candidate: { type: 'string' },
    backend: { type: 'string', default: 'postgres' },
    rounds: { type: 'string', default: '5' },
    seconds: { type: 'string', default: '1.5' },
    'db-prefix': { type: 'string' },
  },
});
const prefix = databasePrefix(args['db-prefix'], 'bench_ab');
if (!args.candidate) throw new Error('--candidate <checkout with the change applied> is required');
const backend = args.backend === 'pglite' ? 'pglite' : 'postgres';
const rounds = Number(args.rounds);
const seconds = Number(args.seconds);
const admin = adminConnectionString();
const candidateModule = pathToFileURL(path.resolve(args.candidate, 'infrastructure/eventstore/postgres.ts')).href;
const candidate = (await import(candidateModule)) as StoreModule;

const cleanups: Array<() => Promise<void>> = [];
const openOurs = async (name: string, module: StoreModule): Promise<BenchTarget> => {
  let executor: SqlExecutor;
  if (backend === 'postgres') {
    executor = createPgExecutor({ connectionString: await recreateDatabase(admin, `${prefix}_${name}`), max: 10 });
    cleanups.push(() => dropDatabase(admin, `${prefix}_${name}`));
  } else {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-ab-'));
    cleanups.push(() => Promise.resolve(rmSync(dir, { recursive: true, force: true })));
    executor = openPgliteDatabase(dir).executor;
  }
  const store = await module.createPostgresEventStore({ executor });
  return {
    name,
    append: async (stream, events) => {
      await store.append(
        stream.name,
        events.map((e) => ({ id: randomUUID(), ...e })),
        { expectedRevision: stream.length === 0 ? 'no_stream' : stream.length - 1 },
      );
    },
    readAll: () => Promise.reject(new Error('appends only')),
    catchUp: () => Promise.reject(new Error('appends only')),
    close: async () => {
      await store.close();
      await executor.close();
    },
  };
};

const targets = [await openOurs('current', current), await openOurs('candidate', candidate)];
if (backend === 'postgres') {
  targets.push(await emmettOnPostgres(await recreateDatabase(admin, `${prefix}_emmett`)));
  cleanups.push(() => dropDatabase(admin, `${prefix}_emmett`));
}
const LOADS = [
  { writers: 1, eventsPerAppend: 1 },
  { writers: 8, eventsPerAppend: 1 },
  { writers: 1, eventsPerAppend: 10 },
  { writers: 8, eventsPerAppend: 10 },
];
const rates = new Map<string, number[]>();
for (const [l, load] of LOADS.entries()) {
  const base = { ...load, maxAppends: 1_000_000, streamsPerWriter: 20 };
  for (const target of targets) await runAppends(target, { ...base, maxSeconds: 0.5, label: `l${l}-warmup` });
  for (let round = 0; round < rounds; round++) {
    for (const target of targets) {
      const result = await runAppends(target, { ...base, maxSeconds: seconds, label: `l${l}-r${round}` });
      const key = `${target.name}/${l}`;
      rates.set(key, [...(rates.get(key) ?? []), result.appendsPerSecond]);
    }
  }
}
for (const target of targets) await target.close();
for (const cleanup of cleanups) await cleanup();

const reference = backend === 'postgres' ? 'emmett' : 'current';
console.log(
  `${backend}, ${rounds} rounds of ${seconds} s, load average ${os
    .loadavg()
    .map((n) => n.toFixed(1))
    .join(' ')}; appends/s, median (min-max), ratio to ${reference}\n`,
);
console.log(
  textTable(
    ['store', ...LOADS.map((l) => `${l.eventsPerAppend} event(s) x ${l.writers} writer(s)`)],
    targets.map((target) => [
      target.name,
      ...LOADS.map((_, l) => {
        const values = rates.get(`${target.name}/${l}`)!;
        const ratio = median(values) / median(rates.get(`${reference}/${l}`)!);
        return `${Math.round(median(values))} (${Math.round(Math.min(...values))}-${Math.round(Math.max(...values))}) ${ratio.toFixed(2)}x`;
      }),
    ]),
  ),
);
