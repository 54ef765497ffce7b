/**
 * One measurement of bench/replay.ts in a process of its own, so its peak RSS is its own:
 *   npx tsx bench/replay-child.ts '<json>'   with { backend, url | dataDir, task, ... }
 * tasks: `generate` (append the workload), `rebuild-each` (every projection alone, one after the other),
 * `rebuild-all` (every projection in one pass), `rebuild-all-per-event` (the same without the batch
 * paths, for comparison), `export` (every event as NDJSON, the CLI's export path).
 * Prints one JSON line with the figures and the process's peak RSS.
 */
import { createWriteStream } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { eventView, exportEvents } from '../application/forensics/eventQuery.js';
import { createPostgresEventStore } from '../infrastructure/eventstore/postgres.js';
import { withShredding } from '../infrastructure/eventstore/shredding.js';
import { createContactKeys } from '../infrastructure/privacy/contactKeys.js';
import { optionalSecretCipher } from '../infrastructure/secrets/secretCipher.js';
import { openPgliteDatabase, openPostgresDatabase, type Database } from '../infrastructure/sql/database.js';
import { migrateLatest } from '../infrastructure/sql/migrate.js';
import { allProjections } from '../projections/registry.js';
import { processesCpuMs } from './bench-support.js';
import { rebuildProjections } from '../projections/shared/rebuild.js';
import { appendWorkload } from '../tests/support/replayWorkload.js';

type Task = {
  backend: 'postgres' | 'pglite';
  url?: string;
  dataDir?: string;
  task: 'generate' | 'rebuild-each' | 'rebuild-all' | 'rebuild-all-per-event' | 'export';
  events?: number;
  batchSize?: number;
};

/** utime + stime of this process's PostgreSQL backends (the server runs on this machine), in seconds. */
const backendsCpuSeconds = async (database: Database): Promise<number | null> => {
  try {
    const { rows } = await database.knex.raw<{ rows: Array<{ pid: number }> }>(
      `select pid from pg_stat_activity where application_name = 'bench-replay'`,
    );
    return processesCpuMs(rows.map((r) => r.pid)) / 1000;
  } catch {
    return null;
  }
};

const task = JSON.parse(process.argv[2] ?? '{}') as Task;
const db: Database =
  task.backend === 'postgres'
    ? openPostgresDatabase(task.url!, { applicationName: 'bench-replay' })
    : openPgliteDatabase(task.dataDir!);
// As the app and the CLI open it: the store behind the crypto-shredding decorator, so message texts,
// numbers and names are written encrypted per contact and decrypted when read (FERNET_KEYS: a fixed
// key of this benchmark's own).
const contactKeys = createContactKeys({
  knex: db.knex,
  cipher: optionalSecretCipher([Buffer.alloc(32, 7).toString('base64')]),
  // every key of the workload (5,000 chats x a content and an identity key) fits; the default (10,000)
  // would be cleared again and again (see bench/README.md)
  cacheSize: 100_000,
});
const store = withShredding(
  await createPostgresEventStore({ executor: db.executor, pollIntervalMs: 60_000 }),
  contactKeys,
);
const peakRssMiB = () => Math.round((process.resourceUsage().maxRSS / 1024) * 10) / 10;
const out: Record<string, unknown> = { task: task.task, backend: task.backend };

const cpuAtStart = process.cpuUsage();
try {
  switch (task.task) {
    case 'generate': {
      await migrateLatest(db);
      const started = performance.now();
      let last = 0;
      out.events = await appendWorkload(store, {
        events: task.events!,
        accounts: 500,
        chats: 5_000,
        // appends of different streams in flight at once, as many as the store commits in one round trip
        // (its batching): each stream's appends still go one after the other, in order
        concurrency: 256,
        onProgress: (n) => {
          if (n - last >= 50_000) {
            last = n;
            process.stderr.write(`  generated ${n}\n`);
          }
        },
      });
      out.seconds = (performance.now() - started) / 1000;
      out.head = await store.headPosition();
      break;
    }
    case 'rebuild-each': {
      const each: Array<Record<string, unknown>> = [];
      for (const projection of allProjections()) {
        const started = performance.now();
        const [result] = await rebuildProjections({ db, store, projections: [projection], batchSize: task.batchSize });
        const seconds = (performance.now() - started) / 1000;
        each.push({
          name: projection.name,
          batchPath: projection.applyBatch !== undefined,
          events: result!.eventsApplied,
          seconds: Math.round(seconds * 1000) / 1000,
          eventsPerSecond: Math.round(result!.eventsApplied / seconds),
        });
        process.stderr.write(`  ${projection.name}: ${result!.eventsApplied} events in ${seconds.toFixed(2)} s\n`);
      }
      out.projections = each;
      break;
    }
    case 'rebuild-all':
    case 'rebuild-all-per-event': {
      // per-event: the same rebuild with every projection's batch path removed (the runner's fallback,
      // what every projection did before batches), for an A/B under the same load
      const projections =
        task.task === 'rebuild-all' ? allProjections() : allProjections().map((p) => ({ ...p, applyBatch: undefined }));
      const head = await store.headPosition();
      const started = performance.now();
      const results = await rebuildProjections({ db, store, projections, batchSize: task.batchSize });
      const seconds = (performance.now() - started) / 1000;
      const applications = results.reduce((sum, r) => sum + r.eventsApplied, 0);
      out.storeEvents = head;
      out.seconds = Math.round(seconds * 1000) / 1000;
      // every event of the store is read once and handed to each projection that handles it
      out.storeEventsPerSecond = Math.round(head / seconds);
      out.applications = applications;
      out.applicationsPerSecond = Math.round(applications / seconds);
      break;
    }
    case 'export': {
      const sink = createWriteStream('/dev/null');
      const started = performance.now();
      let firstByteMs: number | null = null;
      let count = 0;
      let bytes = 0;
      for await (const event of exportEvents(store, {})) {
        const line = `${JSON.stringify(eventView(event))}\n`;
        bytes += Buffer.byteLength(line);
        if (!sink.write(line)) await new Promise<void>((resolve) => sink.once('drain', () => resolve()));
        firstByteMs ??= performance.now() - started;
        count++;
      }
      await new Promise<void>((resolve) => sink.end(() => resolve()));
      const seconds = (performance.now() - started) / 1000;
      out.events = count;
      out.bytes = bytes;
      out.firstByteMs = Math.round((firstByteMs ?? 0) * 10) / 10;
      out.seconds = Math.round(seconds * 1000) / 1000;
      out.eventsPerSecond = Math.round(count / seconds);
      out.mibPerSecond = Math.round((bytes / 1024 / 1024 / seconds) * 10) / 10;
      break;
    }
  }
  out.peakRssMiB = peakRssMiB();
  const cpu = process.cpuUsage(cpuAtStart);
  out.taskCpuSeconds = Math.round((cpu.user + cpu.system) / 10_000) / 100;
  // CPU this process and its PostgreSQL backends spent (the machine is shared: wall time alone says
  // little about where the work went)
  const usage = process.resourceUsage();
  out.cpuSeconds = Math.round((usage.userCPUTime + usage.systemCPUTime) / 10_000) / 100;
  if (task.backend === 'postgres') out.postgresCpuSeconds = await backendsCpuSeconds(db);
} finally {
  await store.close();
  await db.close();
}
process.stdout.write(`${JSON.stringify(out)}\n`);
