/**
 * Pipeline benchmark: inbound messages from many contacts (the simulator's path: MessageReceived on
 * the chat's stream) -> rules responder -> MessageQueued -> worker-web -> a local channel server over
 * HTTP (the ChannelAdapter port, as the Cloud API adapter uses it). Latency = the send reaching the
 * local server minus the inbound event being appended. Compared in the same run with a baseline that
 * does the same work without our store: a direct HTTP relay (receive -> POST to the same server).
 *
 *   npx tsx bench/pipeline.ts            # full run: bench/results/pipeline.json and bench/README.md's pipeline section
 *   npx tsx bench/pipeline.ts --quick    # smoke run, writes nothing
 *   options: --rates=50,100,200,400,800,1000 --seconds=8 --contacts=500 --stores=postgres,pglite, BENCH_PG_URL
 *   --count-queries: counts the SQL statements sent to PostgreSQL per delivered message (pg's Client.query)
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createRequire } from 'node:module';
import type { ChannelAdapter } from '../application/messaging/channel.js';
import type { ChannelFactory } from '../application/messaging/ports.js';
import { receiveInbound } from '../application/messaging/inbound.js';
import { replyMessageIdFor } from '../application/messaging/ids.js';
import { loadConfig } from '../infrastructure/config/config.js';
import { createLogger } from '../infrastructure/logging/logger.js';
import { systemRuntime } from '../infrastructure/shared/runtime.js';
import { startApp } from '../interfaces/process/app.js';
import { startMessagingWorker } from '../interfaces/process/messaging.js';
import {
  adminConnectionString,
  dropDatabase,
  machineInfo,
  markdownTable,
  percentile,
  recreateDatabase,
  replaceBetweenMarkers,
} from './bench-support.js';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    rates: { type: 'string', default: '50,100,200,400,800,1000' },
    seconds: { type: 'string', default: '8' },
    contacts: { type: 'string', default: '500' },
    stores: { type: 'string', default: 'postgres,pglite' },
    'count-queries': { type: 'boolean', default: false },
  },
});
const quick = args.quick;
const rates = quick ? [20] : args.rates.split(',').map(Number);
const stores = args.stores.split(',') as Array<'postgres' | 'pglite'>;

/** SQL statements sent to PostgreSQL (every pool and client query goes through Client.prototype.query). */
let queries = 0;
const queryKinds = new Map<string, number>();
if (args['count-queries']) {
  // the application's pg (bench/ has its own node_modules)
  const pg = createRequire(new URL('../package.json', import.meta.url))('pg') as typeof import('pg');
  const original = pg.Client.prototype.query;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  (pg.Client.prototype as any).query = function (this: unknown, ...rest: unknown[]) {
    queries += 1;
    const first = rest[0] as string | { text?: string } | undefined;
    const text = (typeof first === 'string' ? first : (first?.text ?? '?')).replace(/\s+/g, ' ').slice(0, 70);
    queryKinds.set(text, (queryKinds.get(text) ?? 0) + 1);
    // eslint-disable-next-line @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-return
    return (original as any).apply(this, rest);
  };
}
const seconds = quick ? 3 : Number(args.seconds);
const contacts = Number(args.contacts);

/** The local "provider": records when each message id arrives. */
const startServer = async () => {
  const arrived = new Map<string, number>();
  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString('utf8')));
    req.on('end', () => {
      const { messageId } = JSON.parse(raw) as { messageId: string };
      if (!arrived.has(messageId)) arrived.set(messageId, performance.now());
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ id: `local.${messageId}` }));
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, arrived, close: () => new Promise<void>((r) => server.close(() => r())) };
};

const channelFactory =
  (url: string): ChannelFactory =>
  (number) =>
    Promise.resolve<ChannelAdapter>({
      kind: number.kind,
      limits: { messagesPerSecond: 100_000, minGapPerRecipientMs: 0, maxTextLength: 4096 },
      async send(request) {
        const response = await fetch(`${url}/messages`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ messageId: request.messageId }),
        });
        const body = (await response.json()) as { id: string };
        return { status: 'sent', providerMessageId: body.id };
      },
    });

type Step = {
  pipeline: 'event-sourced' | 'direct relay';
  /** the event store the event-sourced pipeline ran on (null for the relay) */
  store: 'postgres' | 'pglite' | null;
  /** 1-minute load average when the step ended (2 = both cores busy) */
  loadAverage: number;
  offeredPerSecond: number;
  sent: number;
  delivered: number;
  deliveredPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  maxProjectionLagEvents: number | null;
  /** SQL statements per delivered message (with --count-queries, PostgreSQL only) */
  queriesPerMessage?: number;
  /** median time per stage, from the events' occurredAt (event-sourced only) */
  stagesP50Ms?: { responder: number; queueToAttempt: number; attemptToSent: number };
};

const drive = async (
  rate: number,
  run: (i: number) => Promise<{ id: string; at: number }>,
  arrived: Map<string, number>,
  sampleLag: () => Promise<number | null>,
) => {
  const started: Array<{ id: string; at: number }> = [];
  const total = Math.round(rate * seconds);
  const t0 = performance.now();
  const inflight: Promise<void>[] = [];
  let maxLag: number | null = null;
  const lagTimer = setInterval(() => {
    void sampleLag().then((lag) => {
      if (lag !== null) maxLag = Math.max(maxLag ?? 0, lag);
    });
  }, 250);
  for (let i = 0; i < total; i++) {
    const due = t0 + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    inflight.push(run(i).then((s) => void started.push(s)));
  }
  await Promise.all(inflight);
  const deadline = performance.now() + 30_000;
  while (started.some((s) => !arrived.has(s.id)) && performance.now() < deadline)
    await new Promise((r) => setTimeout(r, 20));
  clearInterval(lagTimer);
  const done = started.filter((s) => arrived.has(s.id));
  const latencies = done.map((s) => arrived.get(s.id)! - s.at);
  const last = Math.max(...done.map((s) => arrived.get(s.id)!));
  return {
    sent: total,
    delivered: done.length,
    deliveredPerSecond: Math.round((done.length / (last - t0)) * 1000),
    p50Ms: Math.round(percentile(latencies, 50)),
    p99Ms: Math.round(percentile(latencies, 99)),
    maxProjectionLagEvents: maxLag,
    stagesP50Ms: undefined as Step['stagesP50Ms'],
  };
};

const runStore = async (store: 'postgres' | 'pglite', withRelay: boolean, steps: Step[]) => {
  const admin = adminConnectionString();
  const dbName = 'bench_pipeline';
  const url = store === 'postgres' ? await recreateDatabase(admin, dbName) : null;
  const dataDir = mkdtempSync(`${os.tmpdir()}/chatbot-bench-pipeline-`);
  const server = await startServer();
  const config = loadConfig({
    NODE_ENV: 'test',
    JWT_SECRET: 'bench-secret-that-is-long-enough-0123456789',
    ADMIN_PASSWORD: 'bench-password',
    ...(url === null ? {} : { DATABASE_URL: url }),
    DATA_DIR: dataDir,
    WHATSAPP_SEND_CONCURRENCY: '32',
  });
  const logger = createLogger({ level: 'error', service: 'bench', stream: new PassThrough() });
  const app = await startApp({ config, logger, port: 0, runtime: systemRuntime });
  const worker = startMessagingWorker({
    config,
    logger,
    store: app.infra.store,
    db: app.infra.db,
    runtime: systemRuntime,
    channels: channelFactory(server.url),
  });
  const timing = new Map<string, { n: number; ms: number }>();
  const st = app.infra.store as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
  for (const m of ['readStream', 'append', 'readAll', 'headPosition']) {
    const orig = st[m]!.bind(st);
    st[m] = async (...a: unknown[]) => {
      const t = performance.now();
      try {
        return await orig(...a);
      } finally {
        const k = m + (m === 'readStream' || m === 'append' ? ':' + String(a[0]).split('-')[0] : '');
        const e = timing.get(k) ?? { n: 0, ms: 0 };
        e.n++;
        e.ms += performance.now() - t;
        timing.set(k, e);
      }
    };
  }
  let lagMax = 0;
  let last = performance.now();
  let waitMax = 0;
  let waitSum = 0;
  let waitN = 0;
  const pool = (app.infra.db.executor as unknown as { pool?: { waitingCount: number } }).pool;
  const lagTimer = setInterval(() => {
    if (pool) {
      waitMax = Math.max(waitMax, pool.waitingCount);
      waitSum += pool.waitingCount;
      waitN++;
    }
    const now = performance.now();
    lagMax = Math.max(lagMax, now - last - 10);
    last = now;
  }, 10);
  process.on('beforeExit', () => undefined);
  const names = ['messaging.chats', 'messaging.chat-messages', 'messaging.outbound-queue'];
  const sampleLag = async () => {
    const head = await app.infra.store.headPosition();
    const rows = await app.infra.db.knex('projection_checkpoints').whereIn('name', names).select('position');
    return rows.length === 0 ? null : head - Math.min(...rows.map((r: { position: string }) => Number(r.position)));
  };
  try {
    // wait for the worker to hold the simulator number
    while (worker.heldNumbers().length === 0) await new Promise((r) => setTimeout(r, 50));
    let n = 0;
    for (const rate of rates) {
      const before = queries;
      const replies: string[] = [];
      const ours = await drive(
        rate,
        async () => {
          const i = n++;
          const received = await receiveInbound(app.messaging.inbound, {
            numberId: 'simulator',
            providerMessageId: `bench.${i}`,
            from: `3460${String(i % contacts).padStart(7, '0')}`,
            contactName: null,
            kind: 'text',
            text: 'hola',
            sentAt: new Date().toISOString(),
          });
          const id = replyMessageIdFor(received.eventId!);
          replies.push(id);
          return { id, at: performance.now() };
        },
        server.arrived,
        sampleLag,
      );
      const step: Step = {
        pipeline: 'event-sourced',
        store,
        offeredPerSecond: rate,
        loadAverage: os.loadavg()[0]!,
        ...ours,
      };
      // where the time went, on a sample of the step's replies
      const stages = { responder: [] as number[], queueToAttempt: [] as number[], attemptToSent: [] as number[] };
      for (const id of replies.filter((_, i) => i % Math.max(1, Math.floor(replies.length / 200)) === 0)) {
        const events = await app.infra.store.readStream(`message-${id}`);
        const at = (type: string) => {
          const e = events.find((x) => x.type === type);
          return e ? Date.parse(e.metadata.occurredAt) : NaN;
        };
        const inbound = events[0]?.metadata.causationId;
        const received = inbound
          ? (await app.infra.store.readAll({ after: events[0]!.position - 2000, maxCount: 2000 })).find(
              (e) => e.id === inbound,
            )
          : undefined;
        if (received) stages.responder.push(at('MessageQueued') - Date.parse(received.metadata.occurredAt));
        stages.queueToAttempt.push(at('MessageSendAttempted') - at('MessageQueued'));
        stages.attemptToSent.push(at('MessageSent') - at('MessageSendAttempted'));
      }
      const p50 = (xs: number[]) => Math.round(percentile(xs.filter(Number.isFinite), 50));
      step.stagesP50Ms = {
        responder: p50(stages.responder),
        queueToAttempt: p50(stages.queueToAttempt),
        attemptToSent: p50(stages.attemptToSent),
      };
      if (args['count-queries'] && store === 'postgres' && ours.delivered > 0)
        step.queriesPerMessage = Math.round(((queries - before) / ours.delivered) * 10) / 10;
      steps.push(step);
      if (withRelay) {
        const relay = await drive(
          rate,
          async () => {
            const id = `relay.${n++}`;
            const at = performance.now();
            await fetch(`${server.url}/messages`, { method: 'POST', body: JSON.stringify({ messageId: id }) });
            return { id, at };
          },
          server.arrived,
          () => Promise.resolve(null),
        );
        steps.push({
          pipeline: 'direct relay',
          store: null,
          offeredPerSecond: rate,
          loadAverage: os.loadavg()[0]!,
          ...relay,
        });
      }
      console.log(JSON.stringify(steps.slice(withRelay ? -2 : -1)));
    }
  } finally {
    clearInterval(lagTimer);
    console.log('event loop max lag', Math.round(lagMax), 'pool waiting max', waitMax, 'avg', (waitSum / waitN).toFixed(2));
    for (const [k, v] of timing) console.log(k.padEnd(24), v.n, 'avg ms', (v.ms / v.n).toFixed(1));
    await worker.stop();
    await app.close();
    await server.close();
    if (url !== null) await dropDatabase(admin, dbName);
    rmSync(dataDir, { recursive: true, force: true });
  }
};

const main = async () => {
  const steps: Step[] = [];
  for (const [i, store] of stores.entries()) await runStore(store, i === 0, steps);
  if (args['count-queries'])
    for (const [text, count] of [...queryKinds].sort((a, b) => b[1] - a[1]).slice(0, 40))
      console.log(String(count).padStart(7), text);
  if (quick) return;
  const machine = machineInfo();
  const result = { measuredAt: new Date().toISOString(), machine, seconds, contacts, concurrency: 32, steps };
  const here = fileURLToPath(new URL('.', import.meta.url));
  writeFileSync(`${here}results/pipeline.json`, `${JSON.stringify(result, null, 2)}\n`);
  const readme = `${here}README.md`;
  const table = markdownTable(
    [
      'pipeline',
      'store',
      'offered msg/s',
      'delivered',
      'delivered msg/s',
      'p50 ms',
      'p99 ms',
      'max projection lag (events)',
      'load avg',
    ],
    steps.map((s) => [
      s.pipeline,
      s.store ?? '—',
      String(s.offeredPerSecond),
      `${s.delivered}/${s.sent}`,
      String(s.deliveredPerSecond),
      String(s.p50Ms),
      String(s.p99Ms),
      s.maxProjectionLagEvents === null ? '—' : String(s.maxProjectionLagEvents),
      s.loadAverage.toFixed(1),
    ]),
  );
  if (existsSync(readme)) {
    const text = readFileSync(readme, 'utf8');
    const replaced = replaceBetweenMarkers(
      text,
      'pipeline',
      `Measured ${result.measuredAt.slice(0, 10)}, ${stores.join(' and ')}, one process (app + worker-web), ${seconds} s per step.\n\n${table}`,
    );
    if (replaced) writeFileSync(readme, replaced);
  }
  console.log(table);
};

await main();
