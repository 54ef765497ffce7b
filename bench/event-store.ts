/**
 * Event store benchmark: our PostgreSQL/PGlite adapter against Emmett's PostgreSQL event store, in
 * the same run, on the same local PostgreSQL (each store in its own throwaway database).
 *
 *   npm run bench:event-store              # full run (~3 min on 2 cores): writes bench/results/event-store.json and the README table
 *   npx tsx bench/event-store.ts --quick   # smoke run with tiny counts, writes nothing
 *   options: --pglite=tempdir|memory (default tempdir), BENCH_PG_URL (default postgres://postgres@127.0.0.1:5432/postgres),
 *            --db-prefix=<name> or BENCH_DB_PREFIX (default bench: databases bench_ours and bench_emmett), so that
 *            two runs on one server do not drop each other's databases
 */
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import { parseArgs } from 'node:util';
import {
  adminConnectionString,
  databasePrefix,
  dropDatabase,
  machineInfo,
  recreateDatabase,
  replaceBetweenMarkers,
  round3,
  serverInfo,
} from './bench-support.js';
import { emmettLocation, emmettOnPostgres, type EmmettTarget } from './event-store-emmett.js';
import { oursOnPglite, oursOnPostgres, type PgliteStorage } from './event-store-ours.js';
import {
  appendFigure,
  markdownSummary,
  readFigure,
  stdoutLatencies,
  stdoutSummary,
  TARGETS,
  type Figure,
  type TargetName,
} from './event-store-report.js';
import {
  medianOfRounds,
  prefill,
  runAppends,
  runRepeated,
  type AppendResult,
  type BenchTarget,
  type Delivery,
  type ReadResult,
} from './event-store-workloads.js';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    pglite: { type: 'string', default: 'tempdir' },
    'db-prefix': { type: 'string' },
  },
});
if (args.pglite !== 'tempdir' && args.pglite !== 'memory') throw new Error('--pglite must be tempdir or memory');
const pgliteStorage: PgliteStorage = args.pglite;

const settings = args.quick
  ? {
      warmupSeconds: 0.2,
      appendSeconds: 0.5,
      rounds: 1,
      maxAppends: 500,
      streamsPerWriter: 20,
      prefillEvents: 2_000,
      readPageSize: 1_000,
      passes: 1,
    }
  : {
      warmupSeconds: 1,
      appendSeconds: 2,
      rounds: 3,
      maxAppends: 20_000,
      streamsPerWriter: 20,
      prefillEvents: 20_000,
      readPageSize: 1_000,
      passes: 3,
    };

const APPEND_FIGURES = [
  { id: 'append-single-1w', title: 'append 1 event, 1 writer', writers: 1, eventsPerAppend: 1 },
  { id: 'append-single-8w', title: 'append 1 event, 8 writers', writers: 8, eventsPerAppend: 1 },
  { id: 'append-batch10-1w', title: 'append 10 events, 1 writer', writers: 1, eventsPerAppend: 10 },
  { id: 'append-batch10-8w', title: 'append 10 events, 8 writers', writers: 8, eventsPerAppend: 10 },
] as const;

const prefix = databasePrefix(args['db-prefix'], 'bench');
const DATABASES = { ours: `${prefix}_ours`, emmett: `${prefix}_emmett` } as const;
const admin = adminConnectionString();
const log = (line: string) => process.stderr.write(`${line}\n`);
const packageVersion = (relative: string): string =>
  (JSON.parse(readFileSync(new URL(relative, import.meta.url), 'utf8')) as { version: string }).version;

/** Fresh databases and the three targets, in table order. */
const openTargets = async (): Promise<{ targets: Record<TargetName, BenchTarget>; emmett: EmmettTarget }> => {
  const [oursUrl, emmettUrl] = await Promise.all([
    recreateDatabase(admin, DATABASES.ours),
    recreateDatabase(admin, DATABASES.emmett),
  ]);
  const emmett = await emmettOnPostgres(emmettUrl);
  const targets = {
    'ours-postgres': await oursOnPostgres(oursUrl),
    'ours-pglite': await oursOnPglite(pgliteStorage),
    emmett,
  };
  return { targets, emmett };
};

const closeTargets = async (targets: Record<TargetName, BenchTarget>) => {
  for (const target of Object.values(targets)) await target.close();
};

const appendPhase = async (): Promise<Figure[]> => {
  const { targets } = await openTargets();
  const figures: Figure[] = [];
  for (const figure of APPEND_FIGURES) {
    const load = {
      writers: figure.writers,
      eventsPerAppend: figure.eventsPerAppend,
      streamsPerWriter: settings.streamsPerWriter,
      maxAppends: settings.maxAppends,
    };
    for (const name of TARGETS)
      await runAppends(targets[name], { ...load, maxSeconds: settings.warmupSeconds, label: `${figure.id}-warmup` });
    // Targets take turns, round after round, so a noisy moment on the machine does not land on one store only.
    const rounds = Object.fromEntries(TARGETS.map((name) => [name, [] as AppendResult[]])) as Record<
      TargetName,
      AppendResult[]
    >;
    for (let round = 0; round < settings.rounds; round++) {
      for (const name of TARGETS) {
        const result = await runAppends(targets[name], {
          ...load,
          maxSeconds: settings.appendSeconds,
          label: `${figure.id}-r${round}`,
        });
        rounds[name].push(result);
        log(
          `${figure.title.padEnd(28)} ${name.padEnd(14)} ${Math.round(result.appendsPerSecond)} appends/s (${result.appends} in ${result.seconds.toFixed(2)} s)`,
        );
      }
    }
    const medians = {
      'ours-postgres': medianOfRounds(rounds['ours-postgres']),
      'ours-pglite': medianOfRounds(rounds['ours-pglite']),
      emmett: medianOfRounds(rounds.emmett),
    };
    figures.push(appendFigure(figure.id, figure.title, medians));
  }
  await closeTargets(targets);
  return figures;
};

const describeRead = (r: ReadResult) =>
  `${Math.round(r.eventsPerSecond)} events/s (${r.unique} of ${r.events} events, ${r.delivered} deliveries)`;

const readPhase = async (): Promise<Figure[]> => {
  const { targets, emmett } = await openTargets();
  const total = settings.prefillEvents;
  for (const name of TARGETS) await prefill(targets[name], total, 'prefill');
  log(`prefilled ${total} events in each store`);

  const readAll = {} as Record<TargetName, ReadResult>;
  const catchUp = {} as Record<TargetName, ReadResult>;
  for (const name of TARGETS) {
    readAll[name] = await runRepeated(() => targets[name].readAll(settings.readPageSize), total, settings.passes);
    log(`read-all ${name.padEnd(14)} ${describeRead(readAll[name])}`);
  }
  for (const name of TARGETS) {
    catchUp[name] = await runRepeated(() => targets[name].catchUp(), total, settings.passes);
    log(`catch-up ${name.padEnd(14)} ${describeRead(catchUp[name])}`);
  }
  // Emmett's other catch-up paths, once each (the reactor one stores a checkpoint per message and is slow).
  const variants: Record<string, { eventsPerSecond: number; seconds: number } & Delivery> = {};
  for (const [variant, run] of Object.entries(emmett.catchUpVariants)) {
    const t0 = performance.now();
    const delivery = await run();
    const seconds = (performance.now() - t0) / 1000;
    variants[`emmett-${variant}`] = {
      eventsPerSecond: round3(delivery.delivered / seconds),
      seconds: round3(seconds),
      ...delivery,
    };
    log(
      `catch-up emmett ${variant} ${Math.round(delivery.delivered / seconds)} events/s (${delivery.unique} of ${total} events, ${delivery.delivered} deliveries)`,
    );
  }
  await closeTargets(targets);
  return [
    readFigure('read-all', `read all, pages of ${settings.readPageSize}`, readAll),
    readFigure('catch-up', 'subscription catch-up from 0', catchUp, { emmettVariants: variants }),
  ];
};

const main = async () => {
  const started = new Date();
  log(`Emmett loaded from ${emmettLocation()}`);
  const machine = {
    ...machineInfo(),
    postgres: await serverInfo(admin),
    pglite: { version: packageVersion('../node_modules/@electric-sql/pglite/package.json'), storage: pgliteStorage },
    emmettPostgresql: packageVersion('./node_modules/@event-driven-io/emmett-postgresql/package.json'),
  };
  log(
    `${machine.cpuModel}, ${machine.cores} cores, node ${machine.node}, fsync=${machine.postgres.fsync}, synchronous_commit=${machine.postgres.synchronous_commit}`,
  );
  const loadBefore = os.loadavg();
  const figures = [...(await appendPhase()), ...(await readPhase())];
  // Other work on the machine (tests, builds) shows here: a run under load is noisier, for every store alike.
  const loadAverage = { before: loadBefore.map(round3), after: os.loadavg().map(round3) };
  await Promise.all(Object.values(DATABASES).map((name) => dropDatabase(admin, name)));

  console.log(`\nEvent store benchmark (${started.toISOString()}), ratio > 1 means ours is faster\n`);
  console.log(stdoutSummary(figures));
  console.log(`\nAppend latency\n\n${stdoutLatencies(figures)}`);
  if (args.quick) return;

  const result = {
    benchmark: 'event-store',
    date: started.toISOString(),
    durationSeconds: round3((Date.now() - started.getTime()) / 1000),
    machine: { ...machine, loadAverage },
    settings,
    figures,
  };
  mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
  writeFileSync(new URL('./results/event-store.json', import.meta.url), `${JSON.stringify(result, null, 2)}\n`);
  const readmeUrl = new URL('./README.md', import.meta.url);
  const machineLine = `Run of ${started.toISOString().slice(0, 10)}: ${machine.cpuModel}, ${machine.cores} cores, Node ${machine.node}, ${machine.postgres.version.split(' on ')[0]} (fsync=${machine.postgres.fsync}, synchronous_commit=${machine.postgres.synchronous_commit}), PGlite ${machine.pglite.version} (${pgliteStorage}), Emmett ${machine.emmettPostgresql}.`;
  const readme = replaceBetweenMarkers(
    readFileSync(readmeUrl, 'utf8'),
    'event-store-results',
    markdownSummary(figures, machineLine),
  );
  if (readme) writeFileSync(readmeUrl, readme);
  else log('bench/README.md has no event-store-results markers: table not written');
  log('wrote bench/results/event-store.json');
};

await main();
