// One reply per inbound message with the responder in separate OS processes: across a SIGKILL in the
// middle of a stream of inbound messages, and with two app processes answering from one database.
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import type { EventStore, RecordedEvent } from '#application/shared/eventStore.js';
import type { LlmEvent } from '#domain/llm/events.js';
import type { MessageQueued, MessagingEvent } from '#domain/messaging/events.js';
import { loadConfig } from '#infrastructure/config/config.js';
import { openInfrastructure, type Infrastructure } from '#interfaces/process/infrastructure.js';
import { ADMIN_PASSWORD, TEST_JWT_SECRET, createTestSchema, loginAs, request } from '../../support/app.js';
import { waitFor } from '../../support/events.js';
import { killHard } from '../../support/messaging.js';
import { startOpenAiServer, type FakeOpenAi } from '../../support/openaiServer.js';

type AppChild = { child: ChildProcess; baseUrl: string; logs: () => string };

const spawnApp = async (databaseUrl: string, providerUrl: string): Promise<AppChild> => {
  const child = spawn(process.execPath, ['--import', 'tsx', 'tests/support/app-process.ts'], {
    cwd: process.cwd(),
    env: {
      ...process.env,
      NODE_ENV: 'test',
      JWT_SECRET: TEST_JWT_SECRET,
      ADMIN_PASSWORD,
      DATABASE_URL: databaseUrl,
      REDIS_URL: '',
      LOG_LEVEL: 'info',
      RATE_LIMIT_LOGIN_PER_MINUTE: '10000',
      RATE_LIMIT_API_PER_MINUTE: '100000',
      // a 2 s timeout: a turn left by a killed process is stale (taken over) after 2 + 5 s
      LLM_PROVIDERS: JSON.stringify([
        { name: 'primary', baseUrl: providerUrl, model: 'gpt-test', timeoutMs: 2_000, maxRetries: 0 },
      ]),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let logs = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (logs += chunk.toString('utf8')));
  await waitFor(() => /"port":\d+/.test(output) || child.exitCode !== null, 90_000, 'an app process to listen');
  if (child.exitCode !== null) throw new Error(`the app process exited with ${child.exitCode}: ${logs.slice(-2000)}`);
  const port = (JSON.parse(output.split('\n')[0]!) as { port: number }).port;
  return { child, baseUrl: `http://127.0.0.1:${port}`, logs: () => logs };
};

const stop = async (app: AppChild | undefined) => {
  if (!app || app.child.exitCode !== null || app.child.signalCode !== null) return;
  const exited = new Promise((resolve) => app.child.once('exit', resolve));
  app.child.kill('SIGTERM');
  await exited;
};

/** Bot replies queued so far, by the inbound message they answer. */
const repliesByInbound = async (store: EventStore): Promise<Map<string, number>> => {
  const queued = (await store.readAll<MessagingEvent>({ filter: { eventTypes: ['MessageQueued'] } })).filter(
    (e): e is RecordedEvent<MessageQueued> => e.type === 'MessageQueued' && e.data.source === 'bot',
  );
  const counts = new Map<string, number>();
  for (const e of queued) counts.set(e.data.inReplyTo!, (counts.get(e.data.inReplyTo!) ?? 0) + 1);
  return counts;
};

const total = (counts: Map<string, number>) => [...counts.values()].reduce((a, b) => a + b, 0);

/** N inbound messages from N contacts (no chat waits for another), through the given processes in turn. */
const sendInbound = async (apps: AppChild[], tokens: string[], n: number, tag: string): Promise<string[]> => {
  const ids: string[] = [];
  for (let batch = 0; batch < n; batch += 10) {
    const responses = await Promise.all(
      Array.from({ length: Math.min(10, n - batch) }, (_, i) => {
        const k = batch + i;
        return request(apps[k % apps.length]!.baseUrl, 'POST', '/api/simulator/messages', {
          token: tokens[k % apps.length]!,
          body: { from: `3461${tag}${String(k).padStart(5, '0')}`, text: `Consulta número ${k} sobre un pedido` },
        });
      }),
    );
    for (const response of responses) {
      expect(response.status).to.equal(202);
      ids.push(response.body.messageId as string);
    }
  }
  return ids;
};

describe('one LLM reply per inbound message with the responder in other OS processes', function () {
  this.timeout(240_000);
  let schema: Awaited<ReturnType<typeof createTestSchema>>;
  let provider: FakeOpenAi;
  let infra: Infrastructure | null = null;
  const apps: AppChild[] = [];

  beforeEach(async () => {
    schema = await createTestSchema();
    // a little provider latency, so a kill lands with calls in flight
    provider = await startOpenAiServer({ kind: 'ok', text: 'Gracias, lo revisamos ahora mismo.', delayMs: 150 });
  });
  afterEach(async () => {
    for (const app of apps.splice(0)) await stop(app);
    await infra?.close();
    infra = null;
    await provider.close();
    await schema.drop();
  });

  const openStore = async () => {
    infra = await openInfrastructure(
      loadConfig({
        NODE_ENV: 'test',
        JWT_SECRET: TEST_JWT_SECRET,
        ADMIN_PASSWORD,
        DATABASE_URL: schema.url,
      }),
    );
    return infra.store;
  };

  it('SIGKILL mid-stream of 40 inbound messages, then a restart: exactly 40 replies, one per message', async () => {
    const N = 40;
    const first = await spawnApp(schema.url, provider.baseUrl);
    apps.push(first);
    const store = await openStore();
    const token = (await loginAs(first.baseUrl, 'admin', ADMIN_PASSWORD)).access;
    // a slow provider (1 s, under the 2 s timeout) while the messages arrive: the kill lands with calls
    // in flight and messages not yet answered, however slow this machine is at sending them
    provider.setDefault({ kind: 'ok', text: 'Gracias, lo revisamos ahora mismo.', delayMs: 1_000 });
    const inbound = await sendInbound([first], [token], N, '1');
    await waitFor(() => provider.requests.length >= 12, 60_000, 'provider calls before the kill');
    await killHard(first.child);
    provider.setDefault({ kind: 'ok', text: 'Gracias, lo revisamos ahora mismo.', delayMs: 150 });
    const atKill = await repliesByInbound(store);
    expect(total(atKill), 'killed mid-stream').to.be.below(N);

    const second = await spawnApp(schema.url, provider.baseUrl);
    apps.push(second);
    await waitFor(async () => total(await repliesByInbound(store)) >= N, 120_000, `${N} replies`);
    const replies = await repliesByInbound(store);
    expect(total(replies)).to.equal(N);
    expect([...replies.keys()].sort()).to.deep.equal([...inbound].sort());
    expect([...replies.values()].every((count) => count === 1)).to.equal(true);
    // every turn ends answered; a turn the kill interrupted was taken over (a second run) once stale
    const turns = await store.readAll<LlmEvent>({ filter: { eventTypes: ['LlmCallStarted', 'LlmCallSucceeded'] } });
    const succeeded = new Set(turns.filter((e) => e.type === 'LlmCallSucceeded').map((e) => e.data.turnId));
    expect(succeeded.size).to.equal(N);
    const runs = turns.filter((e) => e.type === 'LlmCallStarted').length;
    console.log(
      `      replies at the kill: ${total(atKill)}/${N}; provider calls: ${provider.requests.length} (${runs - N} repeated after the kill)`,
    );
  });

  it('two app processes answering from one database: 40 inbound messages get exactly 40 replies and 40 provider calls', async () => {
    const N = 40;
    const one = await spawnApp(schema.url, provider.baseUrl);
    apps.push(one);
    const two = await spawnApp(schema.url, provider.baseUrl);
    apps.push(two);
    const store = await openStore();
    const tokens = [
      (await loginAs(one.baseUrl, 'admin', ADMIN_PASSWORD)).access,
      (await loginAs(two.baseUrl, 'admin', ADMIN_PASSWORD)).access,
    ];
    const inbound = await sendInbound([one, two], tokens, N, '2');
    await waitFor(async () => total(await repliesByInbound(store)) >= N, 120_000, `${N} replies`);
    const replies = await repliesByInbound(store);
    expect(total(replies)).to.equal(N);
    expect([...replies.keys()].sort()).to.deep.equal([...inbound].sort());
    // both responders looked at every message; the turn decider let one of them call the provider
    expect(provider.requests).to.have.length(N);
    const started = await store.readAll({ filter: { eventTypes: ['LlmCallStarted'] } });
    expect(started).to.have.length(N);
  });
});
