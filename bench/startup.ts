/**
 * The embedded footprint of a new user's first `npm start`: time from process start to the first
 * `/healthz` 200 and the resident memory (RSS) at idle, on a fresh data directory (cold; for `npm start`
 * also a fresh build of the sources, scripts/compile.js) and on the same one again (warm), for the run
 * path `npm start` uses (the command in package.json's scripts.start: scripts/start.js, precompiled) and
 * for the sources through tsx (`node --import tsx interfaces/process/main.ts embedded`, what `npm start`
 * ran before). Where the memory goes comes from the process itself (process.memoryUsage through a
 * probe loaded with --import), from its /proc/<pid>/smaps at idle (see `components`), and from two
 * reference processes: node with the tsx loader and nothing else, and PGlite alone on a fresh data
 * directory.
 *
 *   npx tsx bench/startup.ts [--runs 2] [--idle 10] [--no-write]
 *   writes bench/results/startup.json and the table in bench/README.md
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, openSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
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

/** `npm start`'s node arguments, from package.json ("exec node <flags> <script> <role>"). */
const npmStartArgv = (): { flags: string[]; script: string; rest: string[] } => {
  const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: { start: string } };
  const words = pkg.scripts.start.trim().split(/\s+/);
  if (words[0] !== 'exec' || words[1] !== 'node') throw new Error(`unexpected start script: ${pkg.scripts.start}`);
  const args = words.slice(2);
  const at = args.findIndex((word) => !word.startsWith('-'));
  return { flags: args.slice(0, at), script: path.join(ROOT, args[at]!), rest: args.slice(at + 1) };
};

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
/** CPU seconds of the process and of the children it waited for (the initdb child, the build child). */
const cpuSecondsOf = (pid: number): number => {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime, stime, cutime, cstime: fields 14-17 of stat, 11-14 after "pid (comm) "
  return [11, 12, 13, 14].reduce((sum, i) => sum + Number(fields[i]), 0) / 100;
};

type Components = {
  nodeBinary: number;
  wasmMemory: number;
  cHeap: number;
  code: number;
  otherAnonymous: number;
  otherFiles: number;
};
/**
 * The resident memory by kind of mapping (/proc/<pid>/smaps, MiB): the node executable's pages (file
 * backed, shared with every node process); WebAssembly memory (PGlite's: the one anonymous read-write
 * mapping of 100 MiB or more, the rest of its reservation being inaccessible guard pages); the C heap
 * (malloc's main heap and its per-thread arenas, 64 MiB-aligned mappings); code (executable anonymous
 * mappings: V8's JIT and WebAssembly code); other anonymous memory (V8's JavaScript heap pages, thread
 * stacks, ...); other files (shared libraries, the argon2 addon). Heuristics, stated here.
 */
const componentsOf = (pid: number): Components => {
  const c: Components = { nodeBinary: 0, wasmMemory: 0, cHeap: 0, code: 0, otherAnonymous: 0, otherFiles: 0 };
  const executable = realpathSync(process.execPath);
  let mapping: { start: bigint; size: bigint; perm: string; name: string } | null = null;
  const add = (rssKiB: number) => {
    if (mapping === null) return;
    const { start, size, perm, name } = mapping;
    const MiB64 = 64n * 1024n * 1024n;
    if (name === executable) c.nodeBinary += rssKiB;
    else if (name === '[heap]') c.cHeap += rssKiB;
    else if (name.startsWith('/')) c.otherFiles += rssKiB;
    else if (name !== '')
      c.otherAnonymous += rssKiB; // [stack], [vvar], ...
    else if (perm.includes('x')) c.code += rssKiB;
    else if (perm === 'rw-p' && size >= 100n * 1024n * 1024n) c.wasmMemory += rssKiB;
    else if (start % MiB64 === 0n && size <= MiB64) c.cHeap += rssKiB;
    else c.otherAnonymous += rssKiB;
  };
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const header = /^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (header) {
      const start = BigInt(`0x${header[1]}`);
      mapping = { start, size: BigInt(`0x${header[2]}`) - start, perm: header[3]!, name: header[4] ?? '' };
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss) add(Number(rss[1]));
  }
  return Object.fromEntries(Object.entries(c).map(([k, v]) => [k, round3(v / 1024)])) as Components;
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

type Mode = 'npm start' | 'tsx';
type Start = {
  mode: Mode;
  start: 'cold' | 'warm';
  healthzMs: number;
  cpuToHealthzS: number;
  rssAtHealthzMiB: number;
  rssIdleMiB: number;
  peakRssMiB: number;
  heapUsedMiB: number;
  heapTotalMiB: number;
  externalMiB: number;
  arrayBuffersMiB: number;
  components: Components;
};

/** One start of the embedded app: time to the first /healthz 200, then memory after IDLE_SECONDS. */
const startOnce = async (
  mode: Mode,
  start: 'cold' | 'warm',
  dataDir: string,
  tmp: string,
  buildDir: string,
): Promise<Start> => {
  const port = await freePort();
  const logFile = path.join(tmp, `app-${mode.replace(' ', '-')}-${start}.log`);
  const out = openSync(logFile, 'a');
  const npmStart = npmStartArgv();
  const argv =
    mode === 'tsx'
      ? ['--import', PROBE, '--import', TSX, path.join(ROOT, 'interfaces/process/main.ts'), 'embedded']
      : [...npmStart.flags, '--import', PROBE, npmStart.script, ...npmStart.rest];
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
      // npm start's build of the sources: a fresh one for a cold start
      CHATBOT_BUILD_DIR: buildDir,
      LOG_LEVEL: 'info',
      JWT_SECRET: 'startup-bench-secret-that-is-long-enough-0123456789',
      ADMIN_PASSWORD: 'startup-bench-password',
    },
    stdio: ['ignore', out, out, 'ipc'],
  });
  try {
    let healthzMs = 0;
    let cpuToHealthz = 0;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`${mode} ${start}: exited early, see ${logFile}`);
      const ok = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(2_000) })
        .then((r) => r.status === 200)
        .catch(() => false);
      if (ok) {
        healthzMs = performance.now() - started;
        cpuToHealthz = cpuSecondsOf(child.pid!);
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
      cpuToHealthzS: round3(cpuToHealthz),
      rssAtHealthzMiB: round3(rssAtHealthz / MiB),
      rssIdleMiB: round3(rssOf(child.pid!) / MiB),
      peakRssMiB: round3(peakOf(child.pid!) / MiB),
      heapUsedMiB: round3(mem.heapUsed / MiB),
      heapTotalMiB: round3(mem.heapTotal / MiB),
      externalMiB: round3(mem.external / MiB),
      arrayBuffersMiB: round3(mem.arrayBuffers / MiB),
      components: componentsOf(child.pid!),
    };
    log(
      `${mode.padEnd(9)} ${start}: /healthz after ${result.healthzMs} ms (${result.cpuToHealthzS} s CPU), RSS ${result.rssIdleMiB} MiB idle (peak ${result.peakRssMiB}), heap ${result.heapUsedMiB}, external ${result.externalMiB} (array buffers ${result.arrayBuffersMiB}); ${JSON.stringify(result.components)}`,
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
  const modes: Mode[] = ['npm start', 'tsx'];
  const starts: Start[] = [];
  const refs: Record<string, number> = {};
  const work = mkdtempSync(path.join(os.tmpdir(), 'chatbot-startup-'));
  // Builds resolve node_modules from where they are: inside the checkout.
  mkdirSync(path.join(ROOT, 'node_modules', '.cache'), { recursive: true });
  const builds = mkdtempSync(path.join(ROOT, 'node_modules', '.cache', 'chatbot-startup-bench-'));
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

    // Interleaved: npm start cold, tsx cold, npm start warm, tsx warm, per run.
    for (let run = 0; run < RUNS; run++) {
      const tag = (m: Mode) => m.replace(' ', '-');
      const dirs = Object.fromEntries(modes.map((m) => [m, mkdtempSync(path.join(work, `data-${tag(m)}-`))]));
      const tmps = Object.fromEntries(modes.map((m) => [m, mkdtempSync(path.join(work, `run-${tag(m)}-`))]));
      const buildDir = mkdtempSync(path.join(builds, 'run-'));
      for (const start of ['cold', 'warm'] as const)
        for (const mode of modes) starts.push(await startOnce(mode, start, dirs[mode]!, tmps[mode]!, buildDir));
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
    rmSync(builds, { recursive: true, force: true });
  }

  const summary = modes.flatMap((mode) =>
    (['cold', 'warm'] as const).map((start) => {
      const these = starts.filter((s) => s.mode === mode && s.start === start);
      return {
        mode,
        start,
        healthzMs: median(these.map((s) => s.healthzMs)),
        cpuToHealthzS: median(these.map((s) => s.cpuToHealthzS)),
        rssIdleMiB: median(these.map((s) => s.rssIdleMiB)),
        peakRssMiB: median(these.map((s) => s.peakRssMiB)),
        heapUsedMiB: median(these.map((s) => s.heapUsedMiB)),
        externalMiB: median(these.map((s) => s.externalMiB)),
        components: Object.fromEntries(
          Object.keys(these[0]!.components).map((k) => [
            k,
            median(these.map((s) => s.components[k as keyof Components])),
          ]),
        ) as Components,
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
  const label = (mode: Mode) =>
    mode === 'npm start' ? '`npm start` (precompiled, scripts/start.js)' : 'tsx (`npm start` before)';
  const rows = summary
    .map(
      (s) =>
        `| ${label(s.mode)} | ${s.start} | ${(s.healthzMs / 1000).toFixed(1)} s | ${s.cpuToHealthzS.toFixed(1)} s | ${Math.round(s.rssIdleMiB)} MiB | ${Math.round(s.peakRssMiB)} MiB | ${Math.round(s.heapUsedMiB)} MiB |`,
    )
    .join('\n');
  const componentRows = summary
    .map((s) => {
      const c = s.components;
      const cells = [c.nodeBinary, c.wasmMemory, c.cHeap, c.code, c.otherAnonymous, c.otherFiles];
      return `| ${label(s.mode)} | ${s.start} | ${cells.map((v) => Math.round(v)).join(' | ')} |`;
    })
    .join('\n');
  const refRows = Object.entries(refs)
    .map(([name, rss]) => `${name} ${Math.round(rss)} MiB`)
    .join(', ');
  const table =
    `Run of ${startedAt.toISOString().slice(0, 10)}: ${machineInfo().cpuModel}, ${machineInfo().cores} cores (shared with other work), Node ${process.version}; ` +
    `1-minute load average ${loadStart} at the start and ${loadEnd} at the end; medians of ${RUNS} runs, RSS after ${IDLE_SECONDS} s idle; ` +
    `CPU: seconds of CPU the process and the children it waited for (build, initdb) used until the first /healthz 200.\n\n` +
    `| run path | start | first /healthz 200 | CPU to /healthz | RSS idle | peak RSS | JS heap used |\n` +
    `| --- | --- | ---: | ---: | ---: | ---: | ---: |\n${rows}\n\n` +
    `Idle RSS by kind of mapping (MiB, /proc/<pid>/smaps; see \`componentsOf\` in startup.ts):\n\n` +
    `| run path | start | node executable | PGlite's WebAssembly memory | C heap (malloc) | JIT and WebAssembly code | other anonymous (JS heap, stacks) | other files |\n` +
    `| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |\n${componentRows}\n\n` +
    `Reference processes (RSS): ${refRows}.`;
  const readmeUrl = new URL('./README.md', import.meta.url);
  const readme = replaceBetweenMarkers(readFileSync(readmeUrl, 'utf8'), 'startup-results', table);
  if (readme === null) throw new Error('bench/README.md has no startup-results markers');
  writeFileSync(readmeUrl, readme);
  log('wrote bench/results/startup.json and the table in bench/README.md');
};

await main();
