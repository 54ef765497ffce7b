import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { changeLlmSettings, endForce, forceProvider, type LlmControlDeps } from '#application/llm/control.js';
import type { CommandContext } from '#application/shared/commandHandler.js';
import type { EventStore, RecordedEvent } from '#application/shared/eventStore.js';
import { llmProviderStreamId, llmTurnStreamId, LLM_FORCE_STREAM, type LlmEvent } from '#domain/llm/events.js';
import { DEFAULT_LLM_SETTINGS } from '#domain/llm/settings.js';
import { buildLlm, manualClockRuntime, replyRequest, type TestProvider } from '../../support/llm.js';
import { startOpenAiServer, type FakeOpenAi } from '../../support/openaiServer.js';
import { manualRuntime } from '../../support/runtime.js';
import { captureLogger, openSecretsTestDb, type SecretsTestDb } from '../../support/secrets.js';
import { waitFor } from '../../support/events.js';

const admin: CommandContext = { correlationId: randomUUID(), actor: 'admin-1', ip: '203.0.113.9' };

const turnEvents = async (store: EventStore, turnId: string) =>
  (await store.readStream<LlmEvent>(llmTurnStreamId(turnId))).map((e) => summary(e));

/** type + the fields a reader of the turn cares about */
const summary = (e: RecordedEvent<LlmEvent>): string => {
  switch (e.type) {
    case 'LlmCallStarted':
      return `Started ${e.data.provider}#${e.data.attempt}`;
    case 'LlmCallSucceeded':
      return `Succeeded ${e.data.provider}#${e.data.attempt}`;
    case 'LlmCallFailed':
      return `Failed ${e.data.provider}#${e.data.attempt} ${e.data.errorKind}${e.data.willRetry ? ' retry' : ''}`;
    case 'FallbackUsed':
      return `Fallback ${e.data.from}->${e.data.to ?? 'text'}`;
    default:
      return e.type;
  }
};

describe('LLM provider chain (real openai client against local servers, PostgreSQL event store)', function () {
  this.timeout(60_000);
  let testDb: SecretsTestDb;
  let store: EventStore;
  let servers: FakeOpenAi[] = [];
  const clock = manualRuntime('2026-03-01T10:00:00.000Z');
  const runtime = manualClockRuntime(clock);
  let capture: ReturnType<typeof captureLogger>;

  const server = async () => {
    const s = await startOpenAiServer();
    servers.push(s);
    return s;
  };
  const build = (providers: TestProvider[]) => buildLlm({ store, runtime, log: capture.logger, providers });

  before(async () => {
    testDb = await openSecretsTestDb();
    store = testDb.store;
  });
  beforeEach(() => {
    capture = captureLogger();
  });
  afterEach(async () => {
    await Promise.all(servers.map((s) => s.close()));
    servers = [];
  });
  after(async () => {
    await testDb.close();
  });

  it('answers from the primary with the system prompt and history, and records tokens and cost', async () => {
    const primary = await server();
    await changeLlmSettings(
      { store, runtime, log: capture.logger, chain: ['primary'] },
      {
        ...DEFAULT_LLM_SETTINGS,
        systemPrompt: 'Eres el asistente de la panadería.',
        prices: { 'primary-model': { inputPerMTokUsd: 1, outputPerMTokUsd: 2 } },
      },
      admin,
    );
    const { replier } = build([{ name: 'primary', server: primary }]);
    primary.enqueue({ kind: 'ok', text: 'Sí, de 9 a 14.', usage: { prompt_tokens: 1000, completion_tokens: 500 } });
    const request = replyRequest('¿Abrís el domingo?', [
      { role: 'contact', text: 'Hola', at: '2026-03-01T09:59:00.000Z' },
      { role: 'bot', text: '¡Hola!', at: '2026-03-01T09:59:01.000Z' },
    ]);
    expect(await replier.reply(request)).to.deep.equal({ text: 'Sí, de 9 a 14.', source: 'llm:primary' });
    expect(primary.requests[0]!.body.messages).to.deep.equal([
      { role: 'system', content: 'Eres el asistente de la panadería.' },
      { role: 'user', content: 'Hola' },
      { role: 'assistant', content: '¡Hola!' },
      { role: 'user', content: '¿Abrís el domingo?' },
    ]);
    expect(primary.requests[0]!.authorization).to.equal('Bearer sk-test-primary');
    const events = await store.readStream<LlmEvent>(llmTurnStreamId(request.inboundEventId));
    expect(events.map(summary)).to.deep.equal(['Started primary#1', 'Succeeded primary#1']);
    const succeeded = events[1]!;
    expect(succeeded.type === 'LlmCallSucceeded' && succeeded.data).to.include({
      tokensIn: 1000,
      tokensOut: 500,
      costUsd: 0.002,
      model: 'primary-model',
    });
    expect(succeeded.metadata).to.include({
      causationId: request.inboundEventId,
      correlationId: request.correlationId,
    });
    await changeLlmSettings({ store, runtime, log: capture.logger, chain: ['primary'] }, DEFAULT_LLM_SETTINGS, admin);
  });

  it('a provider that hangs times out and the next provider answers (events and log lines say so)', async () => {
    const [slow, local] = [await server(), await server()];
    slow.setDefault({ kind: 'hang' });
    const { replier } = build([
      { name: 'slow', server: slow, timeoutMs: 300 },
      { name: 'local', server: local },
    ]);
    const request = replyRequest();
    const reply = await replier.reply(request);
    expect(reply?.source).to.equal('llm:local');
    expect(await turnEvents(store, request.inboundEventId)).to.deep.equal([
      'Started slow#1',
      'Failed slow#1 timeout',
      'Fallback slow->local',
      'Started local#1',
      'Succeeded local#1',
    ]);
    const log = await capture.output();
    const lines = log.split('\n').filter((line) => /provider|fallback|timeout|circuit/i.test(line));
    expect(lines.some((l) => l.includes('timeout') && l.includes('"provider":"slow"'))).to.equal(true);
    expect(lines.some((l) => l.includes('fallback') && l.includes('"provider":"local"'))).to.equal(true);
  });

  it('retries a 500 and a 429 (waiting its Retry-After), never a 400', async () => {
    const flaky = await server();
    const { replier, sleeps } = build([{ name: 'flaky', server: flaky, maxRetries: 2 }]);
    flaky.enqueue(
      { kind: 'status', status: 500 },
      { kind: 'status', status: 429, headers: { 'retry-after': '3' } },
      { kind: 'ok', text: 'por fin' },
    );
    const request = replyRequest();
    expect(await replier.reply(request)).to.deep.equal({ text: 'por fin', source: 'llm:flaky' });
    expect(flaky.requests).to.have.length(3);
    expect(await turnEvents(store, request.inboundEventId)).to.deep.equal([
      'Started flaky#1',
      'Failed flaky#1 http_5xx retry',
      'Started flaky#2',
      'Failed flaky#2 rate_limited retry',
      'Started flaky#3',
      'Succeeded flaky#3',
    ]);
    // jittered backoff (250 ms * (0.5 + 0.5 * 0.5)), then the server's Retry-After
    expect(sleeps).to.deep.equal([187.5, 3000]);

    const [strict, other] = [await server(), await server()];
    strict.setDefault({
      kind: 'status',
      status: 400,
      body: { error: { message: 'bad request', type: 'invalid_request_error' } },
    });
    const second = build([
      { name: 'strict', server: strict, maxRetries: 3 },
      { name: 'other', server: other },
    ]);
    const refused = replyRequest();
    expect((await second.replier.reply(refused))?.source).to.equal('llm:other');
    expect(strict.requests).to.have.length(1);
    expect(second.sleeps).to.deep.equal([]);
    expect(await turnEvents(store, refused.inboundEventId)).to.deep.equal([
      'Started strict#1',
      'Failed strict#1 http_4xx',
      'Fallback strict->other',
      'Started other#1',
      'Succeeded other#1',
    ]);
  });

  it('a dropped connection is a network error, malformed JSON a bad response; all failing answers the fallback text', async () => {
    const [dropping, garbled] = [await server(), await server()];
    dropping.setDefault({ kind: 'drop' });
    garbled.setDefault({ kind: 'malformed' });
    const { replier } = build([
      { name: 'dropping', server: dropping },
      { name: 'garbled', server: garbled },
    ]);
    const request = replyRequest();
    expect(await replier.reply(request)).to.deep.equal({ text: DEFAULT_LLM_SETTINGS.fallbackText, source: 'fallback' });
    expect(await turnEvents(store, request.inboundEventId)).to.deep.equal([
      'Started dropping#1',
      'Failed dropping#1 network',
      'Fallback dropping->garbled',
      'Started garbled#1',
      'Failed garbled#1 bad_response',
      'Fallback garbled->text',
    ]);
    expect(await capture.output()).to.include('every provider failed');
  });

  it('the circuit opens after its threshold, calls stop reaching the broken provider, and a half-open probe closes it again', async () => {
    const [broken, backup] = [await server(), await server()];
    broken.setDefault({ kind: 'status', status: 503 });
    const { replier, chain } = build([
      { name: 'broken', server: broken, threshold: 3, halfOpenAfterMs: 2_000 },
      { name: 'backup', server: backup },
    ]);
    const requests = Array.from({ length: 6 }, () => replyRequest());
    for (const request of requests) expect((await replier.reply(request))?.source).to.equal('llm:backup');
    // three failures open the circuit: the other three turns never reach the broken server
    expect(broken.requests).to.have.length(3);
    expect(chain.circuitState('broken')).to.equal('open');
    const opened = Date.now();
    expect(await turnEvents(store, requests[5]!.inboundEventId)).to.deep.equal([
      'Started broken#1',
      'Failed broken#1 circuit_open',
      'Fallback broken->backup',
      'Started backup#1',
      'Succeeded backup#1',
    ]);
    const circuitEvents = async () =>
      (await store.readStream<LlmEvent>(llmProviderStreamId('broken'))).map((e) => e.type);
    expect(await circuitEvents()).to.deep.equal(['ProviderCircuitOpened']);
    expect(await capture.output()).to.match(/circuit opened.*"provider":"broken"/);

    // The provider recovers; once the break time has passed, the next call is the probe.
    broken.setDefault({ kind: 'ok', text: 'he vuelto' });
    await waitFor(() => Date.now() - opened > 2_050, 5_000, 'the half-open time');
    expect(await replier.reply(replyRequest())).to.deep.equal({ text: 'he vuelto', source: 'llm:broken' });
    expect(broken.requests).to.have.length(4);
    expect(chain.circuitState('broken')).to.equal('closed');
    expect(await circuitEvents()).to.deep.equal([
      'ProviderCircuitOpened',
      'ProviderCircuitHalfOpened',
      'ProviderCircuitClosed',
    ]);
  });

  it('a forced provider goes first until its time is up, with no timer (manual clock); DELETE ends it early', async () => {
    const [primary, secondary] = [await server(), await server()];
    const { replier } = build([
      { name: 'primary', server: primary },
      { name: 'secondary', server: secondary },
    ]);
    const control: LlmControlDeps = { store, runtime, log: capture.logger, chain: ['primary', 'secondary'] };
    const forced = await forceProvider(control, { provider: 'secondary', minutes: 5 }, admin);
    expect(forced).to.deep.equal({
      provider: 'secondary',
      until: new Date(clock.clock().getTime() + 300_000).toISOString(),
    });
    expect((await replier.reply(replyRequest()))?.source).to.equal('llm:secondary');
    clock.advance(299_999);
    expect((await replier.reply(replyRequest()))?.source).to.equal('llm:secondary');
    clock.advance(1);
    expect((await replier.reply(replyRequest()))?.source).to.equal('llm:primary');
    expect([primary.requests.length, secondary.requests.length]).to.deep.equal([1, 2]);

    await forceProvider(control, { provider: 'secondary', minutes: 60 }, admin);
    expect(await endForce(control, admin)).to.deep.equal({ ended: 'secondary' });
    expect((await replier.reply(replyRequest()))?.source).to.equal('llm:primary');
    // nothing forced: ending again appends nothing
    expect(await endForce(control, admin)).to.deep.equal({ ended: null });
    const force = await store.readStream<LlmEvent>(LLM_FORCE_STREAM);
    expect(force.map((e) => e.type)).to.deep.equal(['ProviderForced', 'ProviderForced', 'ProviderForceEnded']);
    expect(force[0]!.metadata).to.include({ actor: 'admin-1', ip: '203.0.113.9' });
    expect(await capture.output()).to.match(/provider forced.*"provider":"secondary"/);
  });

  it('an inbound message answered once is not sent to a provider again (same process, or after a restart)', async () => {
    const primary = await server();
    const first = build([{ name: 'primary', server: primary }]);
    const request = replyRequest();
    const [a, b] = await Promise.all([first.replier.reply(request), first.replier.reply(request)]);
    expect(a).to.deep.equal(b);
    expect(await first.replier.reply(request)).to.deep.equal(a);
    expect(primary.requests).to.have.length(1);
    const restarted = build([{ name: 'primary', server: primary }]);
    expect(await restarted.replier.reply(request)).to.equal(null);
    expect(primary.requests).to.have.length(1);
    expect(await turnEvents(store, request.inboundEventId)).to.deep.equal(['Started primary#1', 'Succeeded primary#1']);
  });

  it('two processes answering the same inbound message at once make one provider call between them', async () => {
    const primary = await server();
    primary.setDefault({ kind: 'ok', delayMs: 100 });
    const [one, two] = [build([{ name: 'primary', server: primary }]), build([{ name: 'primary', server: primary }])];
    const request = replyRequest();
    const answers = await Promise.all([one.replier.reply(request), two.replier.reply(request)]);
    expect(answers.filter((a) => a !== null)).to.have.length(1);
    expect(primary.requests).to.have.length(1);
    expect(await turnEvents(store, request.inboundEventId)).to.deep.equal(['Started primary#1', 'Succeeded primary#1']);
  });

  it('a turn left mid-call by a dead process is answered by another only once it is stale (slowest timeout + 5 s)', async () => {
    const primary = await server();
    const request = replyRequest();
    // what a process killed between LlmCallStarted and the provider's answer leaves behind
    await store.append(llmTurnStreamId(request.inboundEventId), [
      {
        id: randomUUID(),
        type: 'LlmCallStarted',
        data: { turnId: request.inboundEventId, callId: randomUUID(), provider: 'primary', model: 'm', attempt: 1 },
        metadata: {
          correlationId: request.correlationId,
          causationId: request.inboundEventId,
          actor: 'llm',
          ip: null,
          userAgent: null,
          occurredAt: clock.clock().toISOString(),
          schemaVersion: 1,
        },
      },
    ]);
    const { replier } = build([{ name: 'primary', server: primary }]);
    expect(await replier.reply(request)).to.equal(null);
    expect(primary.requests).to.have.length(0);
    clock.advance(6_000);
    expect(await replier.reply(request)).to.equal(null);
    clock.advance(2_000 + 5_000 - 6_000 + 1);
    expect((await replier.reply(request))?.source).to.equal('llm:primary');
    expect(primary.requests).to.have.length(1);
  });

  it('prompt and completion text never reach a log line or an LLM event', async () => {
    const primary = await server();
    const [secretQuestion, secretAnswer, secretHistory] = [randomUUID(), randomUUID(), randomUUID()];
    primary.enqueue({ kind: 'status', status: 500 }, { kind: 'ok', text: `respuesta ${secretAnswer}` });
    const { replier } = build([{ name: 'primary', server: primary, maxRetries: 1 }]);
    const request = replyRequest(`pregunta ${secretQuestion}`, [
      { role: 'contact', text: `antes ${secretHistory}`, at: '2026-03-01T09:00:00.000Z' },
    ]);
    expect((await replier.reply(request))?.text).to.equal(`respuesta ${secretAnswer}`);
    const log = await capture.output();
    expect(log).to.include('llm provider call succeeded');
    const events = JSON.stringify(await store.readStream(llmTurnStreamId(request.inboundEventId)));
    for (const secret of [secretQuestion, secretAnswer, secretHistory]) {
      expect(log).not.to.include(secret);
      expect(events).not.to.include(secret);
    }
    expect(log).not.to.include('sk-test-primary');
  });
});
