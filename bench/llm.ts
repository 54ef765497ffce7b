/**
 * What the LLM responder adds per message: the same zero-latency local OpenAI-compatible server answered
 * (a) by the bare `openai` SDK and (b) through createLlmAutoReplier (settings and force read, turn stream
 * read, LlmCallStarted + LlmCallSucceeded appended, cockatiel breaker) on PostgreSQL. Sequential turns give
 * p50/p99 per message; 8 concurrent callers give messages/s. Loopback only; `--quick` writes nothing.
 *   npm run bench:llm
 */
import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import OpenAI from 'openai';
import { createProviderChain } from '../application/llm/chain.js';
import { createLlmAutoReplier } from '../application/llm/llmResponder.js';
import { cockatielCircuits } from '../infrastructure/llm/circuit.js';
import { createOpenAiProvider } from '../infrastructure/llm/openaiProvider.js';
import { createPostgresEventStore } from '../infrastructure/eventstore/postgres.js';
import { openPostgresDatabase } from '../infrastructure/sql/database.js';
import { systemRuntime } from '../infrastructure/shared/runtime.js';
import { startOpenAiServer } from '../tests/support/openaiServer.js';
import {
  adminConnectionString,
  dropDatabase,
  machineInfo,
  percentile,
  recreateDatabase,
  textTable,
} from './bench-support.js';

const quick = process.argv.includes('--quick');
const SEQUENTIAL = quick ? 100 : 1000;
const CONCURRENT = quick ? 200 : 2000;
const WORKERS = 8;
const silent = { info: () => undefined, warn: () => undefined };

const admin = adminConnectionString();
const url = await recreateDatabase(admin, 'bench_llm');
const db = openPostgresDatabase(url, { poolSize: 10, applicationName: 'bench-llm' });
const store = await createPostgresEventStore({ executor: db.executor });
const server = await startOpenAiServer({ kind: 'ok', text: 'Abrimos de 9 a 14.' });

const sdk = new OpenAI({ apiKey: 'bench', baseURL: server.baseUrl, maxRetries: 0 });
const bare = async () => {
  await sdk.chat.completions.create({ model: 'bench', messages: [{ role: 'user', content: '¿Horario?' }] });
};
const chain = createProviderChain({
  store,
  runtime: systemRuntime,
  log: silent,
  providers: [
    createOpenAiProvider({
      name: 'local',
      baseUrl: server.baseUrl,
      model: 'bench',
      timeoutMs: 5_000,
      maxRetries: 0,
      apiKey: () => Promise.resolve('bench'),
    }),
  ],
  circuits: cockatielCircuits(() => ({ threshold: 5, halfOpenAfterMs: 30_000 })),
  elapsed: () => performance.now(),
});
const replier = createLlmAutoReplier({ store, chain, log: silent });
const viaResponder = async () => {
  const id = randomUUID();
  const reply = await replier.reply({
    numberId: 'bench',
    chatId: 'chat-bench',
    contact: '34600000000',
    inboundMessageId: id,
    inboundEventId: id,
    correlationId: id,
    text: '¿Horario?',
    history: [{ role: 'contact', text: 'Hola', at: new Date().toISOString() }],
  });
  if (reply?.source !== 'llm:local') throw new Error(`unexpected reply source ${reply?.source}`);
};

const sequential = async (fn: () => Promise<void>, n: number) => {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const start = performance.now();
    await fn();
    times.push(performance.now() - start);
  }
  return { p50: percentile(times, 50), p99: percentile(times, 99) };
};
const concurrent = async (fn: () => Promise<void>, n: number) => {
  let left = n;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: WORKERS }, async () => {
      while (left-- > 0) await fn();
    }),
  );
  return n / ((performance.now() - start) / 1000);
};

try {
  // warm-up: connections, JIT, the SDK's first request
  await sequential(bare, 50);
  await sequential(viaResponder, 50);
  const results = {
    bare: { ...(await sequential(bare, SEQUENTIAL)), perSecond: await concurrent(bare, CONCURRENT) },
    responder: {
      ...(await sequential(viaResponder, SEQUENTIAL)),
      perSecond: await concurrent(viaResponder, CONCURRENT),
    },
  };
  const added = { p50: results.responder.p50 - results.bare.p50, p99: results.responder.p99 - results.bare.p99 };
  const f = (n: number) => n.toFixed(2);
  console.log(
    textTable(
      ['', 'p50 ms', 'p99 ms', `messages/s (${WORKERS} callers)`],
      [
        ['bare openai SDK', f(results.bare.p50), f(results.bare.p99), results.bare.perSecond.toFixed(0)],
        ['LLM responder', f(results.responder.p50), f(results.responder.p99), results.responder.perSecond.toFixed(0)],
        ['added by the responder', f(added.p50), f(added.p99), ''],
      ],
    ),
  );
  if (!quick)
    await writeFile(
      new URL('./results/llm.json', import.meta.url),
      `${JSON.stringify({ date: new Date().toISOString(), machine: machineInfo(), sequential: SEQUENTIAL, concurrent: CONCURRENT, workers: WORKERS, results, added }, null, 2)}\n`,
    );
} finally {
  await server.close();
  await store.close();
  await db.close();
  await dropDatabase(admin, 'bench_llm');
}
