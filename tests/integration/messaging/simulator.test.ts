import { expect } from 'chai';
import { ADMIN_PASSWORD, loginAs, request, startTestApp, type TestApp } from '../../support/app.js';
import { waitFor } from '../../support/events.js';
import { STATUS_NUMBER_FIELDS, STATUS_WORKER_FIELDS } from '#interfaces/http/messaging/status.js';
import { startTestWorker, waitForMessages } from '../../support/messaging.js';

describe('messaging through the simulator (startApp + worker-web as embedded mode wires them)', function () {
  this.timeout(60_000);
  let t: TestApp;
  let worker: ReturnType<typeof startTestWorker>;
  let token: string;
  before(async () => {
    t = await startTestApp();
    worker = startTestWorker(t);
    token = (await loginAs(t.baseUrl, 'admin', ADMIN_PASSWORD)).access;
  });
  after(async () => {
    await worker.stop();
    await t.close();
  });

  it('a simulator message gets the rules answer in the same chat, sent and then delivered', async () => {
    const response = await request(t.baseUrl, 'POST', '/api/simulator/messages', {
      token,
      body: { from: '+34 600 000 001', text: '¿Qué horario tenéis?' },
    });
    expect(response.status).to.equal(202);
    const { chatId, messageId } = response.body;
    expect(chatId).to.match(/^[0-9a-f-]{36}$/);
    const messages = await waitForMessages(t.baseUrl, token, chatId, (m) => m[1]?.status === 'delivered');
    expect(messages.map((m) => [m.direction, m.source])).to.deep.equal([
      ['in', null],
      ['out', 'bot'],
    ]);
    expect(messages[0].messageId).to.equal(messageId);
    expect(messages[1].text).to.include('horario');
    const chats = await request(t.baseUrl, 'GET', '/api/chats?number=simulator', { token });
    const chat = chats.body.chats.find((c: any) => c.chatId === chatId);
    expect(chat).to.include({ contact: '34600000001', numberId: 'simulator', paused: false, windowOpen: true });
    // the status the runbook reads: exactly the documented fields, the simulator served by the worker
    const status = await request(t.baseUrl, 'GET', '/api/whatsapp/status', { token });
    expect(Object.keys(status.body.worker)).to.have.members([...STATUS_WORKER_FIELDS]);
    const simulator = status.body.numbers.find((n: any) => n.numberId === 'simulator');
    expect(Object.keys(simulator)).to.have.members([...STATUS_NUMBER_FIELDS]);
    expect(simulator).to.include({ kind: 'simulator', connection: 'connected', queueDepth: 0 });
    expect(simulator.sentLastMinute).to.be.at.least(1);
    expect(status.body.worker.heartbeatAgeSeconds).to.be.at.most(5);
    // No message text and no phone number in any log line.
    expect(t.rawLogs() + worker.logs()).not.to.include('horario');
    expect(t.rawLogs() + worker.logs()).not.to.include('34600000001');
  });

  it('a paused chat stores inbound messages and does not answer them; a manual send does not resume it', async () => {
    const first = await request(t.baseUrl, 'POST', '/api/simulator/messages', {
      token,
      body: { from: '34600000002', text: 'hola' },
    });
    const chatId = first.body.chatId;
    await waitForMessages(t.baseUrl, token, chatId, (m) => m.length === 2);
    const paused = await request(t.baseUrl, 'POST', `/api/chats/${chatId}/pause`, { token });
    expect(paused.status).to.equal(200);
    expect(paused.body).to.include({ paused: true, changed: true });
    const manual = await request(t.baseUrl, 'POST', '/api/whatsapp/send', {
      token,
      body: { to: '34600000002', text: 'Te atiende una persona', number: 'simulator' },
    });
    expect(manual.status).to.equal(202);
    expect(manual.body.chatId).to.equal(chatId);
    const second = await request(t.baseUrl, 'POST', '/api/simulator/messages', {
      token,
      body: { from: '34600000002', text: 'hola otra vez' },
    });
    expect(second.status).to.equal(202);
    // the manual message is sent; the second inbound message is stored; no bot reply follows it
    const messages = await waitForMessages(
      t.baseUrl,
      token,
      chatId,
      (m) => m.length === 4 && m.some((x) => x.source === 'manual' && x.status !== 'queued'),
    );
    expect(messages.map((m) => m.source ?? 'in')).to.deep.equal(['in', 'bot', 'manual', 'in']);
    await waitFor(
      async () => {
        const status = await request(t.baseUrl, 'GET', '/api/whatsapp/status', { token });
        return status.body.numbers.find((n: any) => n.numberId === 'simulator')?.queueDepth === 0;
      },
      10_000,
      'an empty queue',
    );
    const after = await request(t.baseUrl, 'GET', `/api/chats/${chatId}/messages`, { token });
    expect(after.body.messages.filter((m: any) => m.source === 'bot')).to.have.length(1);
    expect(after.body.chat.paused).to.equal(true);
    const resumed = await request(t.baseUrl, 'POST', `/api/chats/${chatId}/resume`, { token });
    expect(resumed.body).to.include({ paused: false, changed: true });
    // pause, resume and the manual send are in the audit trail; the bot's own replies are not
    const actions = async () => {
      const audit = await request(t.baseUrl, 'GET', '/api/audit?limit=200', { token });
      return (audit.body.entries as any[]).map((e) => `${e.action}:${e.target}`);
    };
    await waitFor(async () => (await actions()).includes(`conversation.resumed:${chatId}`), 10_000, 'the audit rows');
    expect(await actions()).to.include.members([
      `conversation.paused:${chatId}`,
      `conversation.resumed:${chatId}`,
      // the chat, not the phone number: the hash-chained trail must hold nothing a contact can ask to forget
      `message.queued:${chatId}`,
    ]);
    expect((await actions()).filter((a) => a.startsWith('message.queued'))).to.have.length(1);
  });

  it('the same Idempotency-Key twice answers the first message id and queues nothing new', async () => {
    const send = () =>
      request(t.baseUrl, 'POST', '/api/whatsapp/send', {
        token,
        headers: { 'Idempotency-Key': 'order-42-confirmation' },
        body: { to: '34600000003', text: 'Pedido confirmado' },
      });
    const first = await send();
    const second = await send();
    expect(first.status).to.equal(202);
    expect(second.status).to.equal(202);
    expect(second.body.messageId).to.equal(first.body.messageId);
    expect(second.body.duplicate).to.equal(true);
    const events = await t.app.infra.store.readStream(`message-${first.body.messageId}`);
    expect(events.filter((e) => e.type === 'MessageQueued')).to.have.length(1);
  });

  it('bad recipients, bodies and numbers get 4xx and append nothing', async () => {
    const before = await t.app.infra.store.headPosition();
    const cases: Array<[unknown, number, string]> = [
      [{ to: 'not-a-number', text: 'x' }, 400, 'invalid_recipient'],
      [{ to: '+0123', text: 'x' }, 400, 'invalid_recipient'],
      [{ to: '34600000001' }, 400, 'validation_failed'],
      [{ to: '34600000001', text: '' }, 400, 'validation_failed'],
      [{ to: '34600000001', text: 'x', extra: 1 }, 400, 'validation_failed'],
      [{ to: '34600000001', text: 'x', number: 'nope' }, 404, 'number_not_found'],
      [{ to: '34600000001', template: { name: 'Bad Name', language: 'es' } }, 400, 'validation_failed'],
    ];
    for (const [body, status, code] of cases) {
      const response = await request(t.baseUrl, 'POST', '/api/whatsapp/send', { token, body });
      expect(response.status, JSON.stringify(body)).to.equal(status);
      expect(response.body.error.code).to.equal(code);
      expect(response.body.error.correlationId).to.be.a('string');
    }
    const simulator = await request(t.baseUrl, 'POST', '/api/simulator/messages', {
      token,
      body: { from: 'x', text: 'hola' },
    });
    expect(simulator.status).to.equal(400);
    const badChat = await request(t.baseUrl, 'POST', '/api/chats/not-a-uuid/pause', { token });
    expect(badChat.status).to.equal(400);
    const unknownChat = await request(t.baseUrl, 'POST', '/api/chats/00000000-0000-4000-8000-000000000000/pause', {
      token,
    });
    expect(unknownChat.status).to.equal(404);
    // (earlier tests' messages may still be sent and delivered meanwhile)
    const appended = await t.app.infra.store.readAll({ after: before });
    const late = new Set(['MessageSendAttempted', 'MessageSent', 'MessageStatusUpdated']);
    expect(appended.map((e) => e.type).filter((type) => !late.has(type))).to.deep.equal([]);
  });

  it('viewers cannot send; nobody without a token can', async () => {
    const anonymous = await request(t.baseUrl, 'POST', '/api/whatsapp/send', {
      body: { to: '34600000001', text: 'x' },
    });
    expect(anonymous.status).to.equal(401);
    const created = await request(t.baseUrl, 'POST', '/api/users', {
      token,
      body: { username: 'viewer1', password: 'viewer-password-1', role: 'viewer' },
    });
    expect(created.status).to.equal(201);
    const viewer = (await loginAs(t.baseUrl, 'viewer1', 'viewer-password-1')).access;
    const refused = await request(t.baseUrl, 'POST', '/api/whatsapp/send', {
      token: viewer,
      body: { to: '34600000001', text: 'x' },
    });
    expect(refused.status).to.equal(403);
  });
});
