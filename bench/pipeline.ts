/**
 * Pipeline benchmark: inbound messages from many contacts (the simulator's path: MessageReceived on
 * the chat's stream) -> rules responder -> MessageQueued -> worker-web -> a local channel server over
 * HTTP (the ChannelAdapter port, as the Cloud API adapter uses it). Latency = the send reaching the
 * local server minus the inbound event being appended. Compared in the same run with a baseline that
 * does the same work without our store: a direct HTTP relay (receive -> POST to the same server).
 *
 *   npx tsx bench/pipeline.ts            # full run: bench/results/pipeline.json and bench/README.md's pipeline section
 *   npx tsx bench/pipeline.ts --quick    # smoke run, writes nothing
 *   options: --rates=50,100,200,400,800,1000 --seconds=8 --contacts=500 --stores=postgres,pglite --concurrency=64, BENCH_PG_URL
 *   --count-queries: counts the SQL statements sent to PostgreSQL per delivered message (pg's Client.query)
 *   npx tsx bench/pipeline.ts --llm      # the LLM responder's row only (its own key in pipeline.json,
 *                                        # its own README section); see runLlm below
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
import { messageStreamId } from '../domain/messaging/events.js';
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
  backendsCpuMs,
} from './bench-support.js';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    rates: { type: 'string', default: '50,100,200,400,800,1000' },
    seconds: { type: 'string', default: '8' },
    contacts: { type: 'string', default: '500' },
    concurrency: { type: 'string', default: '64' },
    stores: { type: 'string', default: 'postgres,pglite' },
    'count-queries': { type: 'boolean', default: false },
    llm: { type: 'boolean', default: false },
    /** print the steps, write nothing (a run for one figure, e.g. CPU per message at a low rate) */
    'no-write': { type: 'boolean', default: false },
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
  type Query = (...rest: unknown[]) => unknown;
  const pg = createRequire(new URL('../package.json', import.meta.url))('pg') as {
    Client: { prototype: { query: Query } };
  };
  const original = pg.Client.prototype.query;
  pg.Client.prototype.query = function (this: unknown, ...rest: unknown[]) {
    queries += 1;
    const first = rest[0] as string | { text?: string } | undefined;
    const full = (typeof first === 'string' ? first : (first?.text ?? '?')).replace(/\s+/g, ' ');
    let text = full.slice(0, 70);
    // stream reads by the kind of stream they read (message-, chat-, number-...)
    const params = rest[1];
    if (full.startsWith('select position, id,') && full.includes('where stream_id = $1') && Array.isArray(params))
      text = `read stream ${String(params[0]).split('-')[0]}-*${params.length > 1 ? ' (tail)' : ''}`;
    queryKinds.set(text, (queryKinds.get(text) ?? 0) + 1);
    return original.apply(this, rest);
  };
}
const seconds = quick ? 3 : Number(args.seconds);
/** worker-web's sends in flight (WHATSAPP_SEND_CONCURRENCY) in the event-sourced pipeline */
const SEND_CONCURRENCY = Number(args.concurrency);
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
  await new Promise<void>((resolve) => server.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, resolve));
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
  /**
   * CPU spent per delivered message over the step, until the projections caught up: this process (app,
   * worker-web, the load generator and the local channel server) and the PostgreSQL backends of the
   * bench database (utime + stime from /proc; the server's WAL writer and checkpointer are not counted,
   * so the PostgreSQL figure is a lower bound). CPU time, unlike wall time, barely moves with the load.
   */
  cpuMsPerMessage?: { node: number; postgres: number | null };
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
    WHATSAPP_SEND_CONCURRENCY: String(SEND_CONCURRENCY),
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
  try {
    // wait for the worker to hold the simulator number
    while (worker.heldNumbers().length === 0) await new Promise((r) => setTimeout(r, 50));
    let n = 0;
    /** a step that delivered under 90 % of what it was offered: higher rates would only pile up a backlog */
    let saturated = false;
    for (const rate of rates) {
      if (saturated && !withRelay) break;
      const before = queries;
      const replies: string[] = [];
      const cpuBefore = process.cpuUsage();
      const pgCpuBefore = store === 'postgres' ? await backendsCpuMs(admin, dbName) : null;
      const ours = saturated
        ? null
        : await drive(
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
      if (ours) {
        // the projections finish the step's events: their work is part of a message's cost
        const caughtUp = performance.now() + 60_000;
        while (((await sampleLag()) ?? 0) > 0 && performance.now() < caughtUp)
          await new Promise((r) => setTimeout(r, 50));
        const cpu = process.cpuUsage(cpuBefore);
        const pgCpu = pgCpuBefore === null ? null : (await backendsCpuMs(admin, dbName)) - pgCpuBefore;
        const perMessage = (ms: number) => Math.round((ms / Math.max(1, ours.delivered)) * 100) / 100;
        const step: Step = {
          pipeline: 'event-sourced',
          store,
          offeredPerSecond: rate,
          loadAverage: os.loadavg()[0]!,
          ...ours,
          cpuMsPerMessage: {
            node: perMessage((cpu.user + cpu.system) / 1000),
            postgres: pgCpu === null ? null : perMessage(pgCpu),
          },
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
        console.log(JSON.stringify(step));
        if (ours.delivered < ours.sent * 0.9) saturated = true;
      }
      if (withRelay) {
        const relayCpuBefore = process.cpuUsage();
        const relay = await drive(
          rate,
          async () => {
            const id = `relay.${n++}`;
            const at = performance.now();
            // A reset connection (the local server's accept queue at high rates) is tried again, as a
            // relay would; the retry's time counts in the latency.
            for (let attempt = 1; ; attempt++) {
              try {
                await fetch(`${server.url}/messages`, { method: 'POST', body: JSON.stringify({ messageId: id }) });
                break;
              } catch (error) {
                if (attempt >= 5) throw error;
                await new Promise((r) => setTimeout(r, 10 * attempt));
              }
            }
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
          cpuMsPerMessage: (() => {
            const cpu = process.cpuUsage(relayCpuBefore);
            return {
              node: Math.round(((cpu.user + cpu.system) / 1000 / Math.max(1, relay.delivered)) * 100) / 100,
              postgres: null,
            };
          })(),
        });
      }
      if (withRelay) console.log(JSON.stringify(steps.at(-1)));
    }
  } finally {
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
  if (quick || args['no-write']) return;
  const machine = machineInfo();
  const result = {
    measuredAt: new Date().toISOString(),
    machine,
    seconds,
    contacts,
    concurrency: SEND_CONCURRENCY,
    steps,
  };
  const here = fileURLToPath(new URL('.', import.meta.url));
  // The `llm` key is the --llm run's: kept as it is.
  const resultsFile = `${here}results/pipeline.json`;
  const previous = existsSync(resultsFile) ? (JSON.parse(readFileSync(resultsFile, 'utf8')) as { llm?: unknown }) : {};
  writeFileSync(
    resultsFile,
    `${JSON.stringify(previous.llm === undefined ? result : { ...result, llm: previous.llm }, null, 2)}\n`,
  );
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
      'p50 stages ms: responder / queued→attempt / attempt→sent',
      'SQL per msg',
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
      s.stagesP50Ms
        ? `${s.stagesP50Ms.responder} / ${s.stagesP50Ms.queueToAttempt} / ${s.stagesP50Ms.attemptToSent}`
        : '—',
      s.queriesPerMessage === undefined ? '—' : String(s.queriesPerMessage),
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

// ---------- the LLM responder in the pipeline (--llm) ----------

type LlmStep = Omit<Step, 'pipeline' | 'store'> & {
  pipeline: 'rules responder' | 'LLM responder';
  /** requests the local OpenAI-compatible server answered during the step */
  providerCalls: number;
  /** inbound appended -> the reply's MessageQueued appended: the responder's own part of the latency */
  responderP50Ms: number;
  responderP99Ms: number;
};

/**
 * The same pipeline with an LLM provider configured (LLM_PROVIDERS: one zero-latency local
 * OpenAI-compatible server, tests/support/openaiServer.ts, through the real `openai` SDK). In the same
 * app and run, at each rate: a text a rule matches ("hola": the rules answer first, no provider call)
 * and a text no rule matches (the LLM turn: settings, force and turn reads, LlmCallStarted /
 * LlmCallSucceeded through the command handler, the SDK call). The difference at the same rate is what
 * the LLM responder adds per message.
 */
const runLlm = async () => {
  const llmRates = quick ? [10] : args.rates === '50,100,200,400,800,1000' ? [10, 25, 50] : rates;
  const llmSeconds = quick ? 3 : args.seconds === '8' ? 5 : seconds;
  const { startOpenAiServer } = await import('../tests/support/openaiServer.js');
  const provider = await startOpenAiServer({ kind: 'ok', text: 'Gracias por escribirnos; te respondemos enseguida.' });
  const admin = adminConnectionString();
  const dbName = process.env.BENCH_PIPELINE_LLM_DB ?? 'bench_pipeline_llm';
  const url = await recreateDatabase(admin, dbName);
  const server = await startServer();
  const config = loadConfig({
    NODE_ENV: 'test',
    JWT_SECRET: 'bench-secret-that-is-long-enough-0123456789',
    ADMIN_PASSWORD: 'bench-password',
    DATABASE_URL: url,
    DATA_DIR: '/tmp/chatbot-bench-pipeline',
    WHATSAPP_SEND_CONCURRENCY: '32',
    LLM_PROVIDERS: JSON.stringify([{ name: 'local', baseUrl: provider.baseUrl, model: 'bench-model', maxRetries: 0 }]),
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
  const steps: LlmStep[] = [];
  const loadBefore = os.loadavg()[0]!;
  try {
    while (worker.heldNumbers().length === 0) await new Promise((r) => setTimeout(r, 50));
    let n = 0;
    /** reply message id -> wall-clock ms when the inbound append returned */
    const inboundAt = new Map<string, number>();
    const inbound = (text: string) => async () => {
      const i = n++;
      const received = await receiveInbound(app.messaging.inbound, {
        numberId: 'simulator',
        providerMessageId: `bench-llm.${i}`,
        from: `3461${String(i % contacts).padStart(7, '0')}`,
        contactName: null,
        kind: 'text',
        text,
        sentAt: new Date().toISOString(),
      });
      const id = replyMessageIdFor(received.eventId!);
      inboundAt.set(id, Date.now());
      return { id, at: performance.now() };
    };
    const responderLatencies = async (ids: string[]) => {
      const latencies: number[] = [];
      for (const id of ids) {
        const [queued] = await app.infra.store.readStream(messageStreamId(id), { maxCount: 1 });
        if (queued) latencies.push(Math.max(0, Date.parse(queued.metadata.occurredAt) - inboundAt.get(id)!));
      }
      return {
        responderP50Ms: Math.round(percentile(latencies, 50)),
        responderP99Ms: Math.round(percentile(latencies, 99)),
      };
    };
    // Warm-up, not recorded: the first messages of a fresh process pay for compilation, pools and caches.
    for (const text of ['hola', 'quiero un presupuesto']) await driveFor(2, 5, inbound(text), server.arrived);
    for (const rate of llmRates) {
      for (const [pipeline, text] of [
        ['rules responder', 'hola'],
        ['LLM responder', 'quiero un presupuesto para el viernes'],
      ] as const) {
        const callsBefore = provider.requests.length;
        const idsBefore = new Set(inboundAt.keys());
        const step = await driveFor(llmSeconds, rate, inbound(text), server.arrived);
        steps.push({
          pipeline,
          offeredPerSecond: rate,
          loadAverage: os.loadavg()[0]!,
          providerCalls: provider.requests.length - callsBefore,
          ...step,
          ...(await responderLatencies([...inboundAt.keys()].filter((id) => !idsBefore.has(id)))),
        });
        console.log(JSON.stringify(steps.at(-1)));
      }
    }
  } finally {
    await worker.stop();
    await app.close();
    await server.close();
    await provider.close();
    await dropDatabase(admin, dbName);
  }
  const added = llmRates.map((rate) => {
    const rules = steps.find((s) => s.offeredPerSecond === rate && s.pipeline === 'rules responder')!;
    const llm = steps.find((s) => s.offeredPerSecond === rate && s.pipeline === 'LLM responder')!;
    return {
      offeredPerSecond: rate,
      p50Ms: llm.p50Ms - rules.p50Ms,
      p99Ms: llm.p99Ms - rules.p99Ms,
      responderP50Ms: llm.responderP50Ms - rules.responderP50Ms,
      responderP99Ms: llm.responderP99Ms - rules.responderP99Ms,
    };
  });
  if (quick) return;
  const here = fileURLToPath(new URL('.', import.meta.url));
  const resultsFile = `${here}results/pipeline.json`;
  // Only the `llm` key is written: the rest of pipeline.json is the main pipeline run's.
  const existing = existsSync(resultsFile)
    ? (JSON.parse(readFileSync(resultsFile, 'utf8')) as Record<string, unknown>)
    : {};
  const llmResult = {
    measuredAt: new Date().toISOString(),
    machine: machineInfo(),
    loadAverageAtStart: loadBefore,
    seconds: llmSeconds,
    contacts,
    provider: 'one zero-latency local OpenAI-compatible server (tests/support/openaiServer.ts), real openai SDK',
    steps,
    addedByLlm: added,
  };
  writeFileSync(resultsFile, `${JSON.stringify({ ...existing, llm: llmResult }, null, 2)}\n`);
  const table = markdownTable(
    [
      'responder',
      'offered msg/s',
      'delivered',
      'delivered msg/s',
      'p50 ms',
      'p99 ms',
      'responder p50 ms',
      'responder p99 ms',
      'provider calls',
      'load avg',
    ],
    steps.map((s) => [
      s.pipeline,
      String(s.offeredPerSecond),
      `${s.delivered}/${s.sent}`,
      String(s.deliveredPerSecond),
      String(s.p50Ms),
      String(s.p99Ms),
      String(s.responderP50Ms),
      String(s.responderP99Ms),
      String(s.providerCalls),
      s.loadAverage.toFixed(1),
    ]),
  );
  const addedLine = added
    .map(
      (a) =>
        `at ${a.offeredPerSecond} msg/s: responder p50 ${signed(a.responderP50Ms)} ms, p99 ${signed(a.responderP99Ms)} ms (end to end p50 ${signed(a.p50Ms)} ms, p99 ${signed(a.p99Ms)} ms)`,
    )
    .join('; ');
  const readme = `${here}README.md`;
  if (existsSync(readme)) {
    const text = readFileSync(readme, 'utf8');
    const replaced = replaceBetweenMarkers(
      text,
      'pipeline-llm',
      `Measured ${llmResult.measuredAt.slice(0, 10)}, PostgreSQL, one process (app + worker-web), ${llmSeconds} s per step, load average ${loadBefore.toFixed(1)} at the start (2 cores shared with other runs).\n\n${table}\n\nAdded by the LLM responder (LLM row minus rules row at the same rate): ${addedLine}.`,
    );
    if (replaced) writeFileSync(readme, replaced);
  }
  console.log(table);
  console.log(addedLine);
};

const signed = (ms: number) => `${ms >= 0 ? '+' : ''}${ms}`;

/** `drive` with its own step length (the LLM run is shorter than the main one). */
const driveFor = async (
  stepSeconds: number,
  rate: number,
  run: (i: number) => Promise<{ id: string; at: number }>,
  arrived: Map<string, number>,
) => {
  const started: Array<{ id: string; at: number }> = [];
  const total = Math.round(rate * stepSeconds);
  const t0 = performance.now();
  const inflight: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const due = t0 + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    inflight.push(run(i).then((s) => void started.push(s)));
  }
  await Promise.all(inflight);
  const deadline = performance.now() + 60_000;
  while (started.some((s) => !arrived.has(s.id)) && performance.now() < deadline)
    await new Promise((r) => setTimeout(r, 20));
  const done = started.filter((s) => arrived.has(s.id));
  const latencies = done.map((s) => arrived.get(s.id)! - s.at);
  const last = Math.max(...done.map((s) => arrived.get(s.id)!));
  return {
    sent: total,
    delivered: done.length,
    deliveredPerSecond: Math.round((done.length / (last - t0)) * 1000),
    p50Ms: Math.round(percentile(latencies, 50)),
    p99Ms: Math.round(percentile(latencies, 99)),
    maxProjectionLagEvents: null,
  };
};

if (args.llm) await runLlm();
else await main();
