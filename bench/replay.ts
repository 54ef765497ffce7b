/**
 * Replay benchmark (issue 12): rebuild throughput of each projection and of all of them together
 * (blue/green, into shadow tables), time to first byte and throughput of a full NDJSON export, and the
 * peak RSS of each, at growing event counts, on PostgreSQL and on PGlite. The events are of the real
 * types, made by the real deciders (tests/support/replayWorkload.ts: logins and sessions, inbound and
 * outbound messages with delivery statuses, LLM calls). Each measurement runs in a process of its own
 * (bench/replay-child.ts) so its peak RSS is its own.
 *
 *   npm run bench:replay -- [--sizes=100000,300000,1000000] [--backends=postgres,pglite] [--batch-size=5000]
 *     [--tasks=rebuild-all,rebuild-all-per-event,rebuild-each,export] [--label=ab] [--out=FILE]
 *
 * Writes bench/results/replay.json (with the load average around each measurement: the machine is shared).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { adminConnectionString, recreateDatabase, dropDatabase, serverInfo } from './bench-support.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const flag = (name: string): string | undefined =>
  process.argv.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3);
const sizes = (flag('sizes') ?? '100000,300000').split(',').map(Number);
const backends = (flag('backends') ?? 'postgres,pglite').split(',') as Array<'postgres' | 'pglite'>;
const batchSize = flag('batch-size') === undefined ? undefined : Number(flag('batch-size'));
const only = flag('tasks')?.split(',');
/** keeps this run's results apart from the main ones (e.g. --label=ab for an A/B of some tasks) */
const label = flag('label') ?? null;

type Figures = Record<string, unknown>;

const child = (task: Record<string, unknown>): Promise<Figures> =>
  new Promise((resolve, reject) => {
    const proc = spawn(
      process.execPath,
      ['--import', 'tsx', path.join(here, 'replay-child.ts'), JSON.stringify(task)],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let out = '';
    proc.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    proc.on('exit', (code) => {
      const line = out.trim().split('\n').pop() ?? '';
      if (code !== 0) reject(new Error(`${String(task.task)} exited with ${code}: ${out}`));
      else resolve(JSON.parse(line) as Figures);
    });
  });

const load = () => os.loadavg().map((n) => Math.round(n * 100) / 100);

const measure = async (task: Record<string, unknown>): Promise<Figures> => {
  const before = load();
  const figures = await child(task);
  return { ...figures, loadAverageBefore: before, loadAverageAfter: load() };
};

const admin = adminConnectionString();
const results: Record<string, unknown> = {
  benchmark: 'replay',
  date: new Date().toISOString(),
  machine: {
    cpus: os.cpus().length,
    model: os.cpus()[0]?.model,
    node: process.version,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
  },
  postgres: await serverInfo(admin).catch(() => null),
  batchSize: batchSize ?? 5000,
  sizes,
  runs: [] as unknown[],
};
// --out=FILE: another results file (two backends measured at once, merged afterwards)
const file = flag('out') ?? path.join(here, 'results', 'replay.json');
// A run of some backends keeps the recorded runs of the others (their own date and load are in them).

const previous = existsSync(file)
  ? (JSON.parse(readFileSync(file, 'utf8')) as { runs?: Array<{ backend: string }> })
  : {};
const runs = (previous.runs ?? []).filter(
  (run) => !backends.includes(run.backend as 'postgres') || ((run as { label?: string }).label ?? null) !== label,
) as unknown[];
results.runs = runs;

const save = () => writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);

for (const backend of backends) {
  const name = label === null ? 'bench_replay' : `bench_replay_${label.replace(/[^a-z0-9_]/g, '_')}`;
  const target: Record<string, unknown> =
    backend === 'postgres'
      ? { backend, url: await recreateDatabase(admin, name) }
      : { backend, dataDir: mkdtempSync(path.join(os.tmpdir(), 'bench-replay-')) };
  try {
    let generated = 0;
    for (const size of sizes) {
      process.stderr.write(`${backend}: generating up to ${size} events\n`);
      const generation = await measure({ ...target, task: 'generate', events: size - generated });
      generated += Number(generation.events);
      const run: Record<string, unknown> = {
        backend,
        ...(label === null ? {} : { label }),
        date: new Date().toISOString(),
        events: generated,
        generation,
      };
      runs.push(run);
      for (const task of ['rebuild-all', 'rebuild-all-per-event', 'rebuild-each', 'export']) {
        if (task === 'rebuild-all-per-event' && !only?.includes(task)) continue;
        if (only && !only.includes(task)) continue;
        process.stderr.write(`${backend} @ ${generated}: ${task}\n`);
        run[task] = await measure({ ...target, task, batchSize });
        process.stderr.write(`  ${JSON.stringify(run[task])}\n`);
        save();
      }
    }
  } finally {
    if (backend === 'postgres') await dropDatabase(admin, name);
    else rmSync(String(target.dataDir), { recursive: true, force: true });
  }
}
save();
process.stderr.write(`written ${file}\n`);
