import { expect } from 'chai';
import type { EventStore, RecordedEvent } from '#application/shared/eventStore.js';
import { llmTurnStreamId, type LlmEvent } from '#domain/llm/events.js';
import type { MessagingEvent, MessageQueued, MessageReceived } from '#domain/messaging/events.js';
import { ADMIN_PASSWORD, loginAs, request, startTestApp, type TestApp } from '../../support/app.js';
import { waitFor } from '../../support/events.js';
import { startTestWorker, waitForMessages } from '../../support/messaging.js';
import { startOpenAiServer, type FakeOpenAi } from '../../support/openaiServer.js';

/** The inbound MessageReceived event of a simulator message (the LLM turn's id, the reply's causation). */
const inboundEvent = async (store: EventStore, messageId: string): Promise<RecordedEvent<MessageReceived>> => {
  let found: RecordedEvent<MessageReceived> | undefined;
  await waitFor(
    async () => {
      const events = await store.readAll<MessagingEvent>({ filter: { eventTypes: ['MessageReceived'] } });
      found = events.find(
        (e): e is RecordedEvent<MessageReceived> => e.type === 'MessageReceived' && e.data.messageId === messageId,
      );
      return found !== undefined;
    },
    10_000,
    'the inbound event',
  );
  return found!;
};

const botReplies = async (store: EventStore, inReplyTo: string) =>
  (await store.readAll<MessagingEvent>({ filter: { eventTypes: ['MessageQueued'] } })).filter(
    (e): e is RecordedEvent<MessageQueued> =>
      e.type === 'MessageQueued' && e.data.source === 'bot' && e.data.inReplyTo === inReplyTo,
  );

const turnSummary = async (store: EventStore, turnId: string) =>
  (await store.readStream<LlmEvent>(llmTurnStreamId(turnId))).map((e) =>
    e.type === 'LlmCallFailed'
      ? `Failed ${e.data.provider} ${e.data.errorKind}`
      : e.type === 'FallbackUsed'
        ? `Fallback ${e.data.from}->${e.data.to ?? 'text'}`
        : `${e.type.replace('LlmCall', '')} ${'provider' in e.data ? e.data.provider : ''}`,
  );

describe('the LLM answers inbound messages through the app (simulator, worker, real openai client)', function () {
  this.timeout(120_000);
  let primary: FakeOpenAi;
  let secondary: FakeOpenAi;
  let t: TestApp;
  let worker: ReturnType<typeof startTestWorker>;
  let token: string;
  const simulate = async (from: string, text: string) => {
    const response = await request(t.baseUrl, 'POST', '/api/simulator/messages', { token, body: { from, text } });
    expect(response.status).to.equal(202);
    return response.body as { messageId: string; chatId: string };
  };

  before(async () => {
    primary = await startOpenAiServer({ kind: 'ok', text: 'Respuesta del modelo principal.' });
    secondary = await startOpenAiServer({ kind: 'ok', text: 'Respuesta del modelo local.' });
    t = await startTestApp({
      env: {
        LLM_PROVIDERS: JSON.stringify([
          {
            name: 'primary',
            baseUrl: primary.baseUrl,
            model: 'gpt-test',
            apiKey: 'sk-test-primary-key',
            timeoutMs: 1_000,
            maxRetries: 0,
          },
          { name: 'local', baseUrl: secondary.baseUrl, model: 'llama-test', timeoutMs: 5_000, maxRetries: 0 },
        ]),
      },
    });
    worker = startTestWorker(t);
    token = (await loginAs(t.baseUrl, 'admin', ADMIN_PASSWORD)).access;
  });
  after(async () => {
    await worker.stop();
    await t.close();
    await primary.close();
    await secondary.close();
  });

  it('an inbound message gets the LLM reply, queued with the inbound event as causation and sent', async () => {
    const { messageId, chatId } = await simulate('+34 600 100 001', 'Quiero un presupuesto para una boda');
    const messages = await waitForMessages(
      t.baseUrl,
      token,
      chatId,
      (m) => m.length === 2 && m[1].status === 'delivered',
      30_000,
    );
    expect(messages.map((m) => [m.direction, m.source, m.text])).to.deep.equal([
      ['in', null, 'Quiero un presupuesto para una boda'],
      ['out', 'bot', 'Respuesta del modelo principal.'],
    ]);
    const store = t.app.infra.store;
    const inbound = await inboundEvent(store, messageId);
    const [reply] = await botReplies(store, messageId);
    expect(reply!.metadata.causationId).to.equal(inbound.id);
    expect(reply!.metadata.correlationId).to.equal(inbound.metadata.correlationId);
    expect(await turnSummary(store, inbound.id)).to.deep.equal(['Started primary', 'Succeeded primary']);
    // the prompt: the settings' system prompt, then the contact's text
    const sent = primary.requests.at(-1)!.body as { model: string; messages: Array<{ role: string; content: string }> };
    expect(sent.model).to.equal('gpt-test');
    expect(sent.messages[0]!.role).to.equal('system');
    expect(sent.messages.at(-1)).to.deep.equal({ role: 'user', content: 'Quiero un presupuesto para una boda' });
    expect(primary.requests.at(-1)!.authorization).to.equal('Bearer sk-test-primary-key');
  });

  it('the next message carries the chat history; a matching rule answers first (no provider call)', async () => {
    const { chatId } = await simulate('34600100002', 'Tengo una duda con un pedido grande');
    await waitForMessages(t.baseUrl, token, chatId, (m) => m.length === 2);
    const before = primary.requests.length;
    await simulate('34600100002', '¿Y cuánto tardaría el envío a Canarias?');
    await waitForMessages(t.baseUrl, token, chatId, (m) => m.length === 4, 30_000);
    const sent = primary.requests.at(-1)!.body as { messages: Array<{ role: string; content: string }> };
    expect(sent.messages.map((m) => m.role)).to.deep.equal(['system', 'user', 'assistant', 'user']);
    expect(sent.messages[1]!.content).to.equal('Tengo una duda con un pedido grande');
    expect(sent.messages[2]!.content).to.equal('Respuesta del modelo principal.');
    // "horario" matches the shipped hours rule: the rules answer, the LLM is not asked
    const countBefore = primary.requests.length;
    expect(countBefore).to.equal(before + 1);
    const hours = await simulate('34600100003', '¿Qué horario tenéis?');
    const messages = await waitForMessages(t.baseUrl, token, hours.chatId, (m) => m.length === 2, 30_000);
    expect(messages[1].text).to.include('horario');
    expect(primary.requests.length).to.equal(countBefore);
  });

  it('a reply longer than WhatsApp allows goes out as parts, in order, cut at sentence ends', async () => {
    const sentence = 'Esta es una frase de ejemplo bastante larga para el presupuesto. ';
    const long = sentence.repeat(140).trim(); // ~9,100 characters
    primary.enqueue({ kind: 'ok', text: long });
    const { chatId } = await simulate('34600100004', 'Descríbeme el catálogo completo');
    const messages = await waitForMessages(
      t.baseUrl,
      token,
      chatId,
      (m) => m.filter((x) => x.source === 'bot' && x.status === 'delivered').length === 3,
      30_000,
    );
    const parts = messages.filter((m) => m.source === 'bot').map((m) => m.text as string);
    expect(parts).to.have.length(3);
    for (const part of parts) {
      expect(part.length).to.be.at.most(4096);
      expect(part.endsWith('presupuesto.')).to.equal(true);
    }
    expect(parts.join(' ')).to.equal(long);
  });

  it('a hanging primary times out and the next provider answers within the timeout; the logs tell it', async () => {
    primary.enqueue({ kind: 'hang' });
    const started = Date.now();
    const { messageId, chatId } = await simulate('34600100005', 'Necesito hablar de una reserva');
    const messages = await waitForMessages(t.baseUrl, token, chatId, (m) => m.length === 2, 30_000);
    expect(messages[1].text).to.equal('Respuesta del modelo local.');
    const inbound = await inboundEvent(t.app.infra.store, messageId);
    expect(await turnSummary(t.app.infra.store, inbound.id)).to.deep.equal([
      'Started primary',
      'Failed primary timeout',
      'Fallback primary->local',
      'Started local',
      'Succeeded local',
    ]);
    const failed = (await t.app.infra.store.readStream<LlmEvent>(llmTurnStreamId(inbound.id))).find(
      (e) => e.type === 'LlmCallFailed',
    );
    // the 1 s timeout cut the call (a hang would otherwise last until the server closes)
    expect(failed?.type === 'LlmCallFailed' && failed.data.latencyMs).to.be.within(900, 10_000);
    expect(Date.now() - started).to.be.below(30_000);
    // runbook section 7: the grep finds the timeout and the fallback, with the provider names
    const lines = t
      .rawLogs()
      .split('\n')
      .filter((line) => /provider|fallback|timeout|circuit/i.test(line));
    expect(lines.some((l) => /call failed: timeout/.test(l) && /"provider":"primary"/.test(l))).to.equal(true);
    expect(lines.some((l) => /fallback to next provider/.test(l) && /"provider":"local"/.test(l))).to.equal(true);
    expect(t.rawLogs()).not.to.include('Necesito hablar de una reserva');
    expect(t.rawLogs()).not.to.include('sk-test-primary-key');
  });

  it('a paused chat gets no LLM call and no reply', async () => {
    const { chatId } = await simulate('34600100006', 'Primera consulta sobre facturas');
    await waitForMessages(t.baseUrl, token, chatId, (m) => m.length === 2, 30_000);
    expect((await request(t.baseUrl, 'POST', `/api/chats/${chatId}/pause`, { token })).status).to.equal(200);
    const calls = primary.requests.length + secondary.requests.length;
    const second = await simulate('34600100006', 'Segunda consulta sobre facturas');
    const store = t.app.infra.store;
    const inbound = await inboundEvent(store, second.messageId);
    // the responder has passed the paused message once its log says so
    await waitFor(
      () => /chat paused, not answering/.test(t.rawLogs()),
      10_000,
      'the responder to skip the paused chat',
    );
    expect(await botReplies(store, second.messageId)).to.have.length(0);
    expect(await store.readStream(llmTurnStreamId(inbound.id))).to.have.length(0);
    expect(primary.requests.length + secondary.requests.length).to.equal(calls);
  });
});

describe('with no LLM provider configured the rules responder is the bot', function () {
  this.timeout(60_000);
  let t: TestApp;
  let worker: ReturnType<typeof startTestWorker>;
  before(async () => {
    t = await startTestApp();
    worker = startTestWorker(t);
  });
  after(async () => {
    await worker.stop();
    await t.close();
  });

  it('answers from the rules (a match, and the rules fallback otherwise) and records no LLM call', async () => {
    const token = (await loginAs(t.baseUrl, 'admin', ADMIN_PASSWORD)).access;
    expect(t.rawLogs()).to.include('the rules answer (no LLM provider configured)');
    const ask = async (from: string, text: string) => {
      const sent = await request(t.baseUrl, 'POST', '/api/simulator/messages', { token, body: { from, text } });
      return (await waitForMessages(t.baseUrl, token, sent.body.chatId, (m) => m[1]?.status === 'delivered'))[1];
    };
    expect((await ask('34600200001', '¿Qué horario tenéis?')).text).to.include('lunes a viernes');
    expect((await ask('34600200002', 'Quiero un presupuesto')).text).to.include('No he entendido la consulta');
    const llmEvents = await t.app.infra.store.readAll({
      filter: { eventTypes: ['LlmCallStarted', 'LlmCallSucceeded', 'LlmCallFailed', 'FallbackUsed'] },
    });
    expect(llmEvents).to.have.length(0);
  });
});
