/**
 * The embedded footprint of a new user's first `npm start`: time from process start to the first
 * `/healthz` 200 and the resident memory (RSS) at idle, on a fresh data directory (cold) and on the same
 * one again (warm), for the run path `npm start` uses (tsx compiling TypeScript at start) and for the
 * precompiled one (`npm run build:embedded`, then `node dist/interfaces/process/main.js embedded`).
 * Where the memory goes comes from the process itself (process.memoryUsage through a probe loaded
 * with --import) and from two reference processes: node with the tsx loader and nothing else, and
 * PGlite alone on a fresh data directory.
 *
 *   npx tsx bench/startup.ts [--runs 2] [--idle 10] [--pglite-option ...]
 *   writes bench/results/startup.json and the table in bench/README.md
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { machineInfo, median, replaceBetweenMarkers, round3 } from './bench-support.js';

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '2' },
    idle: { type: 'string', default: '10' },
    'no-write': { type: 'boolean', default: false },
  },
});
const RUNS = Number(args.runs);
const IDLE_SECONDS = Number(args.idle);
const ROOT = fileURLToPath(new URL('../', import.meta.url));
const TSX = import.meta.resolve('tsx');
const COMPILED = path.join(ROOT, 'dist/interfaces/process/main.js');

// Loaded with --import into the measured process: answers 'mem' with process.memoryUsage().
const PROBE = `data:text/javascript,${encodeURIComponent(
  "process.on('message', (m) => { if (m === 'mem') process.send({ type: 'mem', mem: process.memoryUsage() }); });",
)}`;

const MiB = 1024 * 1024;
const log = (line: string) => process.stderr.write(`${line}\n`);

const freePort = () =>
  new Promise<number>((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });

const rssOf = (pid: number): number => {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
};
const peakOf = (pid: number): number => {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
};

const memoryOf = (child: ChildProcess) =>
  new Promise<NodeJS.MemoryUsage>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no memory answer')), 5_000);
    const onMessage = (message: { type?: string; mem?: NodeJS.MemoryUsage }) => {
      if (message.type !== 'mem') return;
      clearTimeout(timer);
      child.off('message', onMessage);
      resolve(message.mem!);
    };
    child.on('message', onMessage);
    child.send('mem');
  });

const stopChild = async (child: ChildProcess) => {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
};

type Mode = 'tsx' | 'compiled';
type Start = {
  mode: Mode;
  start: 'cold' | 'warm';
  healthzMs: number;
  rssAtHealthzMiB: number;
  rssIdleMiB: number;
  peakRssMiB: number;
  heapUsedMiB: number;
  heapTotalMiB: number;
  externalMiB: number;
  arrayBuffersMiB: number;
};

/** One start of the embedded app: time to the first /healthz 200, then memory after IDLE_SECONDS. */
const startOnce = async (mode: Mode, start: 'cold' | 'warm', dataDir: string, tmp: string): Promise<Start> => {
  const port = await freePort();
  const logFile = path.join(tmp, `app-${mode}-${start}.log`);
  const out = openSync(logFile, 'a');
  const argv =
    mode === 'tsx'
      ? ['--import', PROBE, '--import', TSX, path.join(ROOT, 'interfaces/process/main.ts'), 'embedded']
      : ['--import', PROBE, COMPILED, 'embedded'];
  const started = performance.now();
  const child = spawn(process.execPath, argv, {
    cwd: tmp,
    env: {
      PATH: process.env['PATH'],
      // tsx keeps its compile cache under TMPDIR: a fresh one makes a cold start cold for tsx too.
      TMPDIR: path.join(tmp, 'tmp'),
      HOST: '127.0.0.1',
      PORT: String(port),
      DATA_DIR: dataDir,
      LOG_LEVEL: 'info',
      JWT_SECRET: 'startup-bench-secret-that-is-long-enough-0123456789',
      ADMIN_PASSWORD: 'startup-bench-password',
    },
    stdio: ['ignore', out, out, 'ipc'],
  });
  try {
    let healthzMs = 0;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`${mode} ${start}: exited early, see ${logFile}`);
      const ok = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(2_000) })
        .then((r) => r.status === 200)
        .catch(() => false);
      if (ok) {
        healthzMs = performance.now() - started;
        break;
      }
      if (performance.now() - started > 120_000) throw new Error(`${mode} ${start}: no /healthz 200 in 120 s`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    const rssAtHealthz = rssOf(child.pid!);
    await new Promise((resolve) => setTimeout(resolve, IDLE_SECONDS * 1000));
    const mem = await memoryOf(child);
    const result: Start = {
      mode,
      start,
      healthzMs: Math.round(healthzMs),
      rssAtHealthzMiB: round3(rssAtHealthz / MiB),
      rssIdleMiB: round3(rssOf(child.pid!) / MiB),
      peakRssMiB: round3(peakOf(child.pid!) / MiB),
      heapUsedMiB: round3(mem.heapUsed / MiB),
      heapTotalMiB: round3(mem.heapTotal / MiB),
      externalMiB: round3(mem.external / MiB),
      arrayBuffersMiB: round3(mem.arrayBuffers / MiB),
    };
    log(
      `${mode.padEnd(8)} ${start}: /healthz after ${result.healthzMs} ms, RSS ${result.rssIdleMiB} MiB idle (peak ${result.peakRssMiB}), heap ${result.heapUsedMiB}, external ${result.externalMiB} (array buffers ${result.arrayBuffersMiB})`,
    );
    return result;
  } finally {
    await stopChild(child);
  }
};

/** A reference process: RSS once `code` has run and settled. */
const reference = async (label: string, argv: string[], tmp: string): Promise<number> => {
  const child = spawn(process.execPath, argv, {
    cwd: tmp,
    env: { PATH: process.env['PATH'], TMPDIR: path.join(tmp, 'tmp') },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  try {
    await new Promise<void>((resolve, reject) => {
      child.once('message', () => resolve());
      child.once('exit', (code) => reject(new Error(`${label} exited (${code})`)));
    });
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const rss = round3(rssOf(child.pid!) / MiB);
    log(`${label}: RSS ${rss} MiB`);
    return rss;
  } finally {
    await stopChild(child);
  }
};

const main = async () => {
  const startedAt = new Date();
  const loadStart = round3(os.loadavg()[0] ?? 0);
  log(`load average ${loadStart}`);
  const modes: Mode[] = existsSync(COMPILED) ? ['tsx', 'compiled'] : ['tsx'];
  if (modes.length === 1) log('no dist/: run `npm run build:embedded` first to measure the precompiled path too');
  const starts: Start[] = [];
  const refs: Record<string, number> = {};
  const work = mkdtempSync(path.join(os.tmpdir(), 'chatbot-startup-'));
  try {
    const keepAlive = 'process.send({ready:true}); setInterval(() => {}, 1000);';
    refs['node'] = await reference('node alone', ['-e', keepAlive], work);
    const empty = path.join(work, 'empty.ts');
    writeFileSync(empty, `const x: number = 1; process.send?.({ ready: x }); setInterval(() => {}, 1000);\n`);
    refs['node + tsx loader'] = await reference('node + tsx loader', ['--import', TSX, empty], work);
    const pglite = path.join(work, 'pglite.mjs');
    writeFileSync(
      pglite,
      `import { PGlite } from ${JSON.stringify(import.meta.resolve('@electric-sql/pglite'))};\n` +
        `const db = new PGlite(${JSON.stringify(path.join(work, 'pglite-only'))});\n` +
        `await db.query('select 1');\nprocess.send({ ready: true });\nsetInterval(() => {}, 1000);\n`,
    );
    refs['node + PGlite (fresh data dir)'] = await reference('node + PGlite', [pglite], work);

    // Interleaved: tsx cold, compiled cold, tsx warm, compiled warm, per run.
    for (let run = 0; run < RUNS; run++) {
      const dirs = Object.fromEntries(modes.map((m) => [m, mkdtempSync(path.join(work, `data-${m}-`))]));
      const tmps = Object.fromEntries(modes.map((m) => [m, mkdtempSync(path.join(work, `run-${m}-`))]));
      for (const start of ['cold', 'warm'] as const)
        for (const mode of modes) starts.push(await startOnce(mode, start, dirs[mode]!, tmps[mode]!));
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }

  const summary = modes.flatMap((mode) =>
    (['cold', 'warm'] as const).map((start) => {
      const these = starts.filter((s) => s.mode === mode && s.start === start);
      return {
        mode,
        start,
        healthzMs: median(these.map((s) => s.healthzMs)),
        rssIdleMiB: median(these.map((s) => s.rssIdleMiB)),
        peakRssMiB: median(these.map((s) => s.peakRssMiB)),
        heapUsedMiB: median(these.map((s) => s.heapUsedMiB)),
        externalMiB: median(these.map((s) => s.externalMiB)),
      };
    }),
  );
  const loadEnd = round3(os.loadavg()[0] ?? 0);
  console.log(JSON.stringify({ summary, references: refs }, null, 2));
  if (args['no-write']) return;
  const result = {
    benchmark: 'startup',
    date: startedAt.toISOString(),
    machine: { ...machineInfo(), loadAverage1mAtStart: loadStart, loadAverage1mAtEnd: loadEnd },
    settings: { runs: RUNS, idleSeconds: IDLE_SECONDS },
    summary,
    references: refs,
    starts,
  };
  writeFileSync(new URL('./results/startup.json', import.meta.url), `${JSON.stringify(result, null, 2)}\n`);
  const rows = summary
    .map(
      (s) =>
        `| ${s.mode === 'tsx' ? '`npm start` (tsx)' : 'precompiled (`npm run start:embedded`)'} | ${s.start} | ${(s.healthzMs / 1000).toFixed(1)} s | ${Math.round(s.rssIdleMiB)} MiB | ${Math.round(s.peakRssMiB)} MiB | ${Math.round(s.heapUsedMiB)} MiB | ${Math.round(s.externalMiB)} MiB |`,
    )
    .join('\n');
  const refRows = Object.entries(refs)
    .map(([label, rss]) => `${label} ${Math.round(rss)} MiB`)
    .join(', ');
  const table =
    `Run of ${startedAt.toISOString().slice(0, 10)}: ${machineInfo().cpuModel}, ${machineInfo().cores} cores, Node ${process.version}; ` +
    `1-minute load average ${loadStart} at the start and ${loadEnd} at the end; medians of ${RUNS} runs, RSS after ${IDLE_SECONDS} s idle.\n\n` +
    `| run path | start | first /healthz 200 | RSS idle | peak RSS | JS heap used | external (PGlite's WASM memory) |\n` +
    `| --- | --- | ---: | ---: | ---: | ---: | ---: |\n${rows}\n\nReference processes (RSS): ${refRows}.`;
  const readmeUrl = new URL('./README.md', import.meta.url);
  const readme = replaceBetweenMarkers(readFileSync(readmeUrl, 'utf8'), 'startup-results', table);
  if (readme === null) throw new Error('bench/README.md has no startup-results markers');
  writeFileSync(readmeUrl, readme);
  log('wrote bench/results/startup.json and the table in bench/README.md');
};

await main();
