/**
 * Pipeline benchmark: inbound messages from many contacts (the simulator's path: MessageReceived on
 * the chat's stream) -> rules responder -> MessageQueued -> worker-web -> a local channel server over
 * HTTP (the ChannelAdapter port, as the Cloud API adapter uses it). Latency = the send reaching the
 * local server minus the inbound event being appended. Compared in the same run with a baseline that
 * does the same work without our store: a direct HTTP relay (receive -> POST to the same server).
 *
 *   npx tsx bench/pipeline.ts            # full run: bench/results/pipeline.json and bench/README.md's pipeline section
 *   npx tsx bench/pipeline.ts --quick    # smoke run, writes nothing
 *   options: --rates=25,50,100,200 --seconds=8 --contacts=500, BENCH_PG_URL
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
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
    rates: { type: 'string', default: '25,50,100,200' },
    seconds: { type: 'string', default: '8' },
    contacts: { type: 'string', default: '500' },
  },
});
const quick = args.quick;
const rates = quick ? [20] : args.rates.split(',').map(Number);
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
  /** 1-minute load average when the step ended (2 = both cores busy) */
  loadAverage: number;
  offeredPerSecond: number;
  sent: number;
  delivered: number;
  deliveredPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  maxProjectionLagEvents: number | null;
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
  };
};

const main = async () => {
  const admin = adminConnectionString();
  const dbName = 'bench_pipeline';
  const url = await recreateDatabase(admin, dbName);
  const server = await startServer();
  const config = loadConfig({
    NODE_ENV: 'test',
    JWT_SECRET: 'bench-secret-that-is-long-enough-0123456789',
    ADMIN_PASSWORD: 'bench-password',
    DATABASE_URL: url,
    DATA_DIR: '/tmp/chatbot-bench-pipeline',
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
  const names = ['messaging.chats', 'messaging.chat-messages', 'messaging.outbound-queue'];
  const sampleLag = async () => {
    const head = await app.infra.store.headPosition();
    const rows = await app.infra.db.knex('projection_checkpoints').whereIn('name', names).select('position');
    return rows.length === 0 ? null : head - Math.min(...rows.map((r: { position: string }) => Number(r.position)));
  };
  const steps: Step[] = [];
  try {
    // wait for the worker to hold the simulator number
    while (worker.heldNumbers().length === 0) await new Promise((r) => setTimeout(r, 50));
    let n = 0;
    for (const rate of rates) {
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
          return { id: replyMessageIdFor(received.eventId!), at: performance.now() };
        },
        server.arrived,
        sampleLag,
      );
      steps.push({ pipeline: 'event-sourced', offeredPerSecond: rate, loadAverage: os.loadavg()[0]!, ...ours });
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
      steps.push({ pipeline: 'direct relay', offeredPerSecond: rate, loadAverage: os.loadavg()[0]!, ...relay });
      console.log(JSON.stringify(steps.slice(-2)));
    }
  } finally {
    await worker.stop();
    await app.close();
    await server.close();
    await dropDatabase(admin, dbName);
  }
  if (quick) return;
  const machine = machineInfo();
  const result = { measuredAt: new Date().toISOString(), machine, seconds, contacts, concurrency: 32, steps };
  const here = fileURLToPath(new URL('.', import.meta.url));
  writeFileSync(`${here}results/pipeline.json`, `${JSON.stringify(result, null, 2)}\n`);
  const readme = `${here}README.md`;
  const table = markdownTable(
    [
      'pipeline',
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
      `Measured ${result.measuredAt.slice(0, 10)}, PostgreSQL, one process (app + worker-web), ${seconds} s per step.\n\n${table}`,
    );
    if (replaced) writeFileSync(readme, replaced);
  }
  console.log(table);
};

await main();
