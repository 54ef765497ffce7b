/**
 * WebSocket live metrics benchmark: how many concurrent authenticated /ws/metrics clients one app
 * process serves at 1 Hz snapshots with a p99 delivery lag under 100 ms (target: 1,000 on 2 cores).
 *
 * This process is the app: startApp (identity, projections, HTTP API on a throwaway Postgres
 * database) plus attachMetricsSocket fed by a synthetic LiveFeed that stamps each snapshot's `at`
 * when it emits it. The clients run in bench/ws-client.ts, forked into a separate process on
 * loopback; each gets its ws token over HTTP and authenticates like the dashboard. Lag = the time
 * the client process sees the message minus `at` (so it includes the server's whole send loop and
 * the client process's own queue). The ramp stops at the first step over budget.
 *
 *   npx tsx bench/ws.ts                # full run: bench/results/ws.json and the WebSocket section of bench/README.md
 *   npx tsx bench/ws.ts --quick        # smoke run with a few clients, writes nothing
 *   options: --steps=250,500,1000 --seconds=10 --passes=3 --events-per-second=10, BENCH_PG_URL
 */
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Subject } from 'rxjs';
import type { LiveEvent, MetricsSnapshot } from '../application/metrics/live.js';
import { loadConfig } from '../infrastructure/config/config.js';
import { createLogger } from '../infrastructure/logging/logger.js';
import { startApp } from '../interfaces/process/app.js';
import { attachMetricsSocket } from '../interfaces/ws/metricsSocket.js';
import {
  adminConnectionString,
  dropDatabase,
  machineInfo,
  markdownTable,
  percentile,
  recreateDatabase,
  replaceBetweenMarkers,
  textTable,
} from './bench-support.js';
import { systemRuntime } from '#infrastructure/shared/runtime.js';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    steps: { type: 'string' },
    seconds: { type: 'string' },
    'events-per-second': { type: 'string' },
    passes: { type: 'string' },
  },
});
const steps = args.steps
  ? args.steps.split(',').map(Number)
  : args.quick
    ? [50, 100]
    : [250, 500, 1000, 1500, 2000, 3000, 4000, 5000];
const seconds = Number(args.seconds ?? (args.quick ? 3 : 10));
const passes = Number(args.passes ?? (args.quick ? 1 : 3));
const eventsPerSecond = Number(args['events-per-second'] ?? 10);
const P99_BUDGET_MS = 100;
const TARGET_CLIENTS = 1_000;
const DATABASE = 'bench_ws';
const log = (line: string) => process.stderr.write(`${line}\n`);
const round2 = (value: number) => Math.round(value * 100) / 100;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A snapshot the size of a busy installation's: three providers, the projections, the processes. */
const snapshot = (position: number): MetricsSnapshot => {
  const at = new Date().toISOString();
  return {
    at,
    position,
    messages: { inPerSecond: 3.2, outPerSecond: 3.1, queueDepth: 4, oldestQueuedAgeSeconds: 2.5 },
    llm: ['openai', 'openrouter', 'faq'].map((provider, i) => ({
      provider,
      calls: 40 - i * 10,
      errorRate: 0.05 * i,
      latencyMs: { p50: 400 + i, p95: 900 + i, p99: 1500 + i },
      circuit: 'closed' as const,
    })),
    security: { loginFailuresLastMinute: 1, lockoutsLastMinute: 0, lockedAccounts: 0, rateLimitedLastMinute: 0 },
    projections: ['accounts', 'audit', 'conversations', 'llm-calls', 'lockouts', 'secrets'].map((name) => ({
      name,
      position,
      lagEvents: 0,
      lagMs: 3,
      lastError: null,
    })),
    processes: ['app', 'worker-web', 'scheduler'].map((name) => ({
      name,
      state: 'running' as const,
      since: at,
      instance: `${name}-1`,
    })),
    whatsapp: { connectedSessions: 1 },
  };
};

type ClientReport = {
  clients: number;
  snapshots: { samples: number; p50: number; p95: number; p99: number; max: number };
  events: { samples: number; p50: number; p95: number; p99: number; max: number };
  closedUnexpectedly: number;
  cpuPercent: number;
  loopDelayP99Ms: number;
  seconds: number;
};

const admin = adminConnectionString();
const databaseUrl = await recreateDatabase(admin, DATABASE);
const adminPassword = randomBytes(18).toString('base64url');
const config = loadConfig({
  NODE_ENV: 'development',
  HOST: '127.0.0.1',
  JWT_SECRET: randomBytes(48).toString('base64'),
  ADMIN_PASSWORD: adminPassword,
  DATABASE_URL: databaseUrl,
  LOG_LEVEL: 'warn',
  RATE_LIMIT_LOGIN_PER_MINUTE: '1000',
  RATE_LIMIT_API_PER_MINUTE: '1000000',
});
const logger = createLogger({ level: 'warn', service: 'app', stream: process.stderr });
const app = await startApp({ config, logger, runtime: systemRuntime, port: 0 });

const snapshots = new Subject<MetricsSnapshot>();
const events = new Subject<LiveEvent>();
let position = 0;
// Snapshots are numbered by their `position`, so the client can tell which ones the window emitted.
let emittedSnapshots = 0;
let broadcastMs: number[] = [];
const snapshotTimer = setInterval(() => {
  emittedSnapshots += 1;
  const started = performance.now();
  snapshots.next(snapshot(emittedSnapshots)); // serialised once, handed to every client, synchronously
  broadcastMs.push(performance.now() - started);
}, 1_000);
const eventTimer =
  eventsPerSecond > 0
    ? setInterval(() => {
        position += 1;
        events.next({
          position,
          type: 'MessageReceived',
          streamId: `chat-web-34600000${position % 500}@s.whatsapp.net`,
          occurredAt: new Date().toISOString(),
          correlationId: `bench-${position}`,
          actor: 'system',
        });
      }, 1_000 / eventsPerSecond)
    : null;

const limits = { maxConnections: 100_000, maxConnectionsPerIp: 100_000, maxConnectionsPerUser: 100_000 };
const wsServer = http.createServer((_req, res) => res.writeHead(404).end());
const socket = attachMetricsSocket(wsServer, {
  feed: { snapshots$: snapshots, events$: events },
  identity: app.identity,
  allowedOrigins: [],
  logger,
  limits,
});
await new Promise<void>((resolve) => wsServer.listen(0, '127.0.0.1', resolve));
const wsUrl = `ws://127.0.0.1:${(wsServer.address() as AddressInfo).port}/ws/metrics`;
const baseUrl = `http://127.0.0.1:${app.port}`;

const login = await fetch(`${baseUrl}/api/auth/login`, {
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ username: 'admin', password: adminPassword }),
});
const access = ((await login.json()) as { access_token: string }).access_token;

// The token goes through the environment, not argv, which `ps` shows to every user.
const child = fork(fileURLToPath(new URL('./ws-client.ts', import.meta.url)), [baseUrl, wsUrl], {
  execArgv: ['--import', import.meta.resolve('tsx')],
  env: { ...process.env, BENCH_ACCESS_TOKEN: access },
  stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
});
const next = <T>(type: string, timeoutMs: number) =>
  new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`ws-client: no ${type} within ${timeoutMs} ms`)), timeoutMs);
    const onExit = (code: number | null) => reject(new Error(`ws-client exited (${code}) before ${type}`));
    child.once('exit', onExit);
    const onMessage = (message: { type: string }) => {
      if (message.type !== type) return;
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      resolve(message as T);
    };
    child.on('message', onMessage);
  });
await next('ready', 30_000);

const results: Array<Record<string, unknown>> = [];
// Other work on the machine shows up as lag; the load average is recorded with every step so a noisy run is visible.
const loadAverage = () => os.loadavg().map((l) => Math.round(l * 100) / 100);
if (os.loadavg()[0]! > os.cpus().length)
  log(`warning: load average ${loadAverage().join(' ')} on ${os.cpus().length} cores: other work will inflate the lag`);
/** One measurement window over the clients already connected. */
const measure = async (connected: number): Promise<Record<string, unknown>> => {
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const cpu = process.cpuUsage();
  const started = performance.now();
  const before = socket.stats();
  child.send({ type: 'measure' });
  await sleep(100);
  const from = emittedSnapshots + 1;
  broadcastMs = [];
  await sleep(seconds * 1_000);
  const to = emittedSnapshots;
  const emitted = to - from + 1;
  const broadcast = [...broadcastMs];
  await sleep(500); // let the last snapshot of the window arrive
  child.send({ type: 'report', from, to });
  const { report } = await next<{ report: ClientReport }>('report', 30_000);
  loop.disable();
  const used = process.cpuUsage(cpu);
  const elapsed = (performance.now() - started) / 1000;
  const memory = process.memoryUsage();
  const stats = socket.stats();
  return {
    snapshotLagMs: report.snapshots,
    eventLagMs: report.events,
    snapshotsDelivered: emitted > 0 ? Math.round((report.snapshots.samples / (emitted * connected)) * 1000) / 1000 : 0,
    closedUnexpectedly: report.closedUnexpectedly,
    serverCpuPercent: Math.round(((used.user + used.system) / 1e6 / elapsed) * 1000) / 10,
    clientCpuPercent: report.cpuPercent,
    serverRssMiB: Math.round(memory.rss / 2 ** 20),
    serverHeapMiB: Math.round(memory.heapUsed / 2 ** 20),
    serverLoopDelayP99Ms: Math.round(loop.percentile(99) / 1e4) / 100,
    serverBroadcastMs: { p50: round2(percentile(broadcast, 50)), max: round2(Math.max(0, ...broadcast)) },
    clientLoopDelayP99Ms: report.loopDelayP99Ms,
    droppedSnapshots: stats.droppedSnapshots - before.droppedSnapshots,
    slowConsumerDisconnects: stats.slowConsumerDisconnects - before.slowConsumerDisconnects,
    loadAverage1m: loadAverage()[0],
  };
};

log(`ws bench: steps ${steps.join(', ')}, ${passes} x ${seconds} s each, 1 Hz snapshots, ${eventsPerSecond} events/s`);
try {
  for (const target of steps) {
    child.send({ type: 'grow', target });
    const grown = await next<{ connected: number; failed: number; seconds: number }>('grown', 600_000);
    await sleep(1_500);
    const runs: Array<Record<string, unknown> & { p99: number }> = [];
    for (let pass = 1; pass <= passes; pass++) runs.push({ ...(await measure(grown.connected)), p99: 0 });
    for (const run of runs) run.p99 = (run.snapshotLagMs as ClientReport['snapshots']).p99;
    // The median pass by p99: one pass spoilt by a neighbour's burst on this shared machine does not decide the step.
    const median = [...runs].sort((x, y) => x.p99 - y.p99)[Math.floor(runs.length / 2)]!;
    const ok =
      grown.failed === 0 &&
      grown.connected === target &&
      median.p99 < P99_BUDGET_MS &&
      runs.every((r) => (r.snapshotsDelivered as number) >= 0.99 && r.closedUnexpectedly === 0);
    const row = {
      clients: target,
      connected: grown.connected,
      failedToConnect: grown.failed,
      connectSeconds: Math.round(grown.seconds * 10) / 10,
      ...median,
      passes: runs.map((r) => r.p99),
      ok,
    };
    delete (row as Record<string, unknown>).p99;
    results.push(row);
    const lag = median.snapshotLagMs as ClientReport['snapshots'];
    const broadcast = median.serverBroadcastMs as { p50: number; max: number };
    log(
      `  ${target} clients: p99 by pass ${row.passes.join('/')} ms; median pass: p50 ${lag.p50} ms, p99 ${lag.p99} ms, max ${lag.max} ms, broadcast ${broadcast.p50}/${broadcast.max} ms, server cpu ${String(median.serverCpuPercent)}%, client cpu ${String(median.clientCpuPercent)}%, rss ${String(median.serverRssMiB)} MiB${ok ? '' : '  <- over budget'}`,
    );
    if (!ok) break;
  }
} finally {
  if (child.connected) child.send({ type: 'stop' }, () => undefined);
  clearInterval(snapshotTimer);
  if (eventTimer) clearInterval(eventTimer);
  await socket.close();
  await new Promise<void>((resolve) => wsServer.close(() => resolve()));
  await app.close();
  await dropDatabase(admin, DATABASE);
}

const passing = results.filter((r) => r.ok === true).map((r) => r.clients as number);
const maxClients = passing.length ? Math.max(...passing) : 0;
const header = [
  'clients',
  'p50 ms',
  'p95 ms',
  'p99 ms',
  'p99 per pass',
  'max ms',
  'delivered',
  'server CPU',
  'client CPU',
  'server RSS',
  'load avg',
  'within budget',
];
const rows = results.map((r) => {
  const lag = r.snapshotLagMs as ClientReport['snapshots'];
  const pct = (value: unknown) => `${Math.round(Number(value) * 10) / 10}%`;
  return [
    String(r.clients),
    String(lag.p50),
    String(lag.p95),
    String(lag.p99),
    (r.passes as number[]).join(' / '),
    String(lag.max),
    pct(Number(r.snapshotsDelivered) * 100),
    pct(r.serverCpuPercent),
    pct(r.clientCpuPercent),
    `${Number(r.serverRssMiB)} MiB`,
    String(r.loadAverage1m),
    r.ok ? 'yes' : 'no',
  ];
});
log(
  `\n${textTable(header, rows)}\n\nmax clients with p99 < ${P99_BUDGET_MS} ms: ${maxClients} (target ${TARGET_CLIENTS})`,
);

if (!args.quick) {
  const machine = machineInfo();
  const output = {
    generatedAt: new Date().toISOString(),
    machine,
    settings: {
      secondsPerPass: seconds,
      passesPerStep: passes,
      snapshotIntervalMs: 1_000,
      eventsPerSecond,
      p99BudgetMs: P99_BUDGET_MS,
      steps,
    },
    maxClientsWithinBudget: maxClients,
    target: TARGET_CLIENTS,
    targetMet: maxClients >= TARGET_CLIENTS,
    steps: results,
  };
  mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
  writeFileSync(new URL('./results/ws.json', import.meta.url), `${JSON.stringify(output, null, 2)}\n`);
  const section = [
    `Measured ${output.generatedAt.slice(0, 10)} on ${machine.cores} cores (${machine.cpuModel}), Node ${machine.node}: one app process, clients in a separate`,
    `process on loopback, 1 Hz snapshots plus ${eventsPerSecond} live events/s, ${passes} passes of ${seconds} s per step, the median pass by p99 shown. Lag is the time the client process sees a`,
    `snapshot minus the time the server emitted it (one synchronous loop sends every copy). **${maxClients} concurrent authenticated clients with p99 < ${P99_BUDGET_MS} ms** (target ${TARGET_CLIENTS}; the ramp stops at the`,
    `first step over budget or at its last step). Raw figures: \`bench/results/ws.json\`. Run: \`npx tsx bench/ws.ts\`.`,
    '',
    `Reading it: the server's cost is one \`write\` per client per message (serialisation happens once), so the lag of the`,
    'last client grows with the number of clients; "server CPU" stays low because the loop is short and once a second. The',
    'build machine is shared: "load avg" is the 1-minute load average during the step (2 means both cores busy), and other',
    'work running at the same time shows up directly as lag, which is why each step is measured three times. The client',
    'process plays every browser at once, so of each snapshot copy it reads only the number and the time (a browser parses',
    'its own one); its CPU column is what that costs.',
    '',
    markdownTable(header, rows),
  ].join('\n');
  const readme = new URL('./README.md', import.meta.url);
  const current = existsSync(readme) ? readFileSync(readme, 'utf8') : '';
  const replaced = replaceBetweenMarkers(current, 'ws', section);
  // Append only: the rest of the README belongs to the other benchmarks.
  writeFileSync(
    readme,
    replaced ??
      `${current}${current === '' || current.endsWith('\n') ? '' : '\n'}\n## WebSocket\n\n<!-- ws:begin -->\n${section}\n<!-- ws:end -->\n`,
  );
  log('wrote bench/results/ws.json and the WebSocket section of bench/README.md');
}
process.exit(0);
