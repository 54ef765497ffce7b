import { expect } from 'chai';
import { answerInbound } from '#application/messaging/responder.js';
import type { RecordedEvent } from '#application/shared/eventStore.js';
import type { MessageReceived } from '#domain/messaging/events.js';
import { Fernet } from '#infrastructure/secrets/fernet.js';
import { allProjections } from '#projections/registry.js';
import { rebuildProjection } from '#projections/runner.js';
import { ADMIN_PASSWORD, loginAs, request, startTestApp, type TestApp } from '../../support/app.js';
import { waitFor } from '../../support/events.js';
import { httpChannelFactory, startChannelServer } from '../../support/httpChannel.js';
import { startTestWorker, waitForMessages } from '../../support/messaging.js';

describe('outbound queue: numbers, retries, dead letters, the 24-hour window, one reply per inbound message', function () {
  this.timeout(90_000);
  let t: TestApp;
  let token: string;
  let channel: Awaited<ReturnType<typeof startChannelServer>>;
  let worker: ReturnType<typeof startTestWorker>;
  /** the local provider's answer per recipient: how often it fails before accepting */
  const failures = new Map<string, { left: number; status: number; code: string; retryable: boolean }>();
  before(async () => {
    t = await startTestApp({ env: { FERNET_KEYS: Fernet.generateKey() } });
    token = (await loginAs(t.baseUrl, 'admin', ADMIN_PASSWORD)).access;
    channel = await startChannelServer((send) => {
      const plan = failures.get(send.to);
      if (!plan || plan.left === 0) return Promise.resolve(null);
      plan.left -= 1;
      return Promise.resolve({ status: plan.status, body: { code: plan.code, retryable: plan.retryable } });
    });
    worker = startTestWorker(t, {
      env: { WHATSAPP_RETRY_BASE_MS: '50', WHATSAPP_SEND_MAX_ATTEMPTS: '3' },
      channels: httpChannelFactory(channel.url),
    });
  });
  after(async () => {
    await worker.stop();
    await channel.close();
    await t.close();
  });

  const send = (body: Record<string, unknown>) => request(t.baseUrl, 'POST', '/api/whatsapp/send', { token, body });
  const typesOf = async (messageId: string) =>
    (await t.app.infra.store.readStream(`message-${messageId}`)).map((e) => e.type);

  it('retries a retryable failure with backoff and then sends', async () => {
    failures.set('34620000001', { left: 2, status: 429, code: '130429', retryable: true });
    const queued = await send({ to: '34620000001', text: 'hola', number: 'simulator' });
    await waitFor(async () => (await typesOf(queued.body.messageId)).includes('MessageSent'), 20_000, 'the send');
    expect(await typesOf(queued.body.messageId)).to.deep.equal([
      'MessageQueued',
      'MessageSendAttempted',
      'MessageSendFailed',
      'MessageSendAttempted',
      'MessageSendFailed',
      'MessageSendAttempted',
      'MessageSent',
    ]);
    const attempts = channel.received.filter((r) => r.messageId === queued.body.messageId);
    expect(attempts.map((a) => a.attempt)).to.deep.equal([1, 2, 3]);
    // exponential: the second wait is longer than the first's minimum
    expect(attempts[2]!.at - attempts[1]!.at).to.be.at.least(50);
  });

  it('dead-letters a permanent error at once; an admin requeues it (audited) and it is sent', async () => {
    failures.set('34620000002', { left: 1, status: 400, code: '131026', retryable: false });
    const queued = await send({ to: '34620000002', text: 'hola', number: 'simulator' });
    const id = queued.body.messageId as string;
    let dead: any;
    await waitFor(
      async () => {
        const list = await request(t.baseUrl, 'GET', '/api/whatsapp/dead-letters', { token });
        dead = list.body.deadLetters.find((d: any) => d.messageId === id);
        return dead !== undefined;
      },
      20_000,
      'the dead letter',
    );
    expect(dead).to.include({ reason: 'permanent_error', lastErrorCode: '131026', attempts: 1 });
    const status = await request(t.baseUrl, 'GET', '/api/whatsapp/status', { token });
    expect(status.body.numbers.find((n: any) => n.numberId === 'simulator').deadLetters).to.be.at.least(1);
    const retried = await request(t.baseUrl, 'POST', `/api/whatsapp/dead-letters/${id}/retry`, { token });
    expect(retried.status).to.equal(202);
    await waitFor(async () => (await typesOf(id)).includes('MessageSent'), 20_000, 'the send after the requeue');
    const again = await request(t.baseUrl, 'POST', `/api/whatsapp/dead-letters/${id}/retry`, { token });
    expect(again.status).to.equal(409);
    expect(again.body.error.code).to.equal('message_not_dead_lettered');
  });

  it('a dead letter can be dropped; unknown ids are 404', async () => {
    failures.set('34620000003', { left: 5, status: 500, code: '131000', retryable: true });
    const queued = await send({ to: '34620000003', text: 'hola', number: 'simulator' });
    const id = queued.body.messageId as string;
    await waitFor(async () => (await typesOf(id)).includes('MessageDeadLettered'), 20_000, 'max attempts');
    expect((await typesOf(id)).filter((type) => type === 'MessageSendAttempted')).to.have.length(3);
    const dropped = await request(t.baseUrl, 'POST', `/api/whatsapp/dead-letters/${id}/drop`, { token });
    expect(dropped.status).to.equal(202);
    const unknown = await request(
      t.baseUrl,
      'POST',
      '/api/whatsapp/dead-letters/00000000-0000-4000-8000-000000000009/drop',
      {
        token,
      },
    );
    expect(unknown.status).to.equal(404);
  });

  it('Cloud API numbers: free text outside the 24-hour window is a 422 naming the template alternative', async () => {
    const added = await request(t.baseUrl, 'POST', '/api/numbers', {
      token,
      body: {
        id: 'shop',
        name: 'Shop',
        kind: 'cloud',
        phoneNumberId: '1234567890',
        accessToken: 'EAAG-secret-token-value',
      },
    });
    expect(added.status).to.equal(201);
    expect(added.body.hasCredentials).to.equal(true);
    // the token is a Fernet secret: in no event in the clear
    const all = await t.app.infra.store.readAll();
    expect(JSON.stringify(all)).not.to.include('EAAG-secret-token-value');
    expect(t.rawLogs()).not.to.include('EAAG-secret-token-value');

    const refused = await send({ to: '34620000004', text: 'hola', number: 'shop' });
    expect(refused.status).to.equal(422);
    expect(refused.body.error.code).to.equal('outside_customer_service_window');
    expect(refused.body.error.message).to.include('24-hour').and.include('template');
    const template = await send({
      to: '34620000004',
      template: { name: 'order_update', language: 'es' },
      number: 'shop',
    });
    expect(template.status).to.equal(202);
    // an inbound message (as the Cloud API webhook hands it over) opens the window
    await t.app.messaging.sink.inbound({
      numberId: 'shop',
      providerMessageId: 'wamid.window-1',
      from: '34620000004',
      contactName: 'Ana',
      kind: 'text',
      text: 'hola',
      sentAt: new Date().toISOString(),
    });
    const allowed = await send({ to: '34620000004', text: 'hola Ana', number: 'shop' });
    expect(allowed.status).to.equal(202);
    // the same webhook delivery twice appends once
    const before = await t.app.infra.store.headPosition();
    await t.app.messaging.sink.inbound({
      numberId: 'shop',
      providerMessageId: 'wamid.window-1',
      from: '34620000004',
      contactName: 'Ana',
      kind: 'text',
      text: 'hola',
      sentAt: new Date().toISOString(),
    });
    const appended = await t.app.infra.store.readAll({ after: before });
    expect(appended.filter((e) => e.type === 'MessageReceived')).to.deep.equal([]);
  });

  it('numbers: a duplicate id is 409, a disabled number refuses sends (409), removal is 204 (admin only)', async () => {
    const dup = await request(t.baseUrl, 'POST', '/api/numbers', {
      token,
      body: { id: 'simulator', name: 'x', kind: 'simulator' },
    });
    expect(dup.status).to.equal(409);
    const bad = await request(t.baseUrl, 'POST', '/api/numbers', {
      token,
      body: { id: 'Bad Id', name: 'x', kind: 'simulator' },
    });
    expect(bad.status).to.equal(400);
    await request(t.baseUrl, 'POST', '/api/numbers', { token, body: { id: 'temp', name: 'Temp', kind: 'simulator' } });
    const disabled = await request(t.baseUrl, 'POST', '/api/numbers/temp/disable', { token });
    expect(disabled.body).to.deep.equal({ id: 'temp', changed: true });
    const refused = await send({ to: '34620000005', text: 'hola', number: 'temp' });
    expect(refused.status).to.equal(409);
    expect(refused.body.error.code).to.equal('number_disabled');
    const removed = await request(t.baseUrl, 'DELETE', '/api/numbers/temp', { token });
    expect(removed.status).to.equal(204);
    const gone = await request(t.baseUrl, 'DELETE', '/api/numbers/temp', { token });
    expect(gone.status).to.equal(404);
  });

  it('the responder answers each inbound message once, even when run again (restart, second process)', async () => {
    const received = await request(t.baseUrl, 'POST', '/api/simulator/messages', {
      token,
      body: { from: '34620000006', text: 'ayuda' },
    });
    const messages = await waitForMessages(t.baseUrl, token, received.body.chatId, (m) => m.length === 2);
    expect(messages[1].text).to.include('horario');
    const events = await t.app.infra.store.readStream(`chat-${received.body.chatId}`);
    const inbound = events.find((e) => e.type === 'MessageReceived') as RecordedEvent<MessageReceived>;
    const outcome = await answerInbound(
      {
        store: t.app.infra.store,
        send: t.app.messaging.send,
        replier: { reply: () => Promise.resolve({ text: 'otra respuesta', source: 'test' }) },
        queries: { recentTurns: () => Promise.resolve([]) },
        log: { info: () => undefined, warn: () => undefined, error: () => undefined },
      },
      inbound,
    );
    expect(outcome).to.equal('already_answered');
    const replies = (await t.app.infra.store.readAll({ filter: { eventTypes: ['MessageQueued'] } })).filter(
      (e) => e.metadata.causationId === inbound.id,
    );
    expect(replies).to.have.length(1);
  });

  it('every messaging read model comes back identical when rebuilt by replay', async () => {
    // a dead letter stays in the queue read model
    failures.set('34620000009', { left: 1, status: 400, code: '131026', retryable: false });
    const dead = await send({ to: '34620000009', text: 'hola', number: 'simulator' });
    await waitFor(
      async () => (await typesOf(dead.body.messageId)).includes('MessageDeadLettered'),
      20_000,
      'a dead letter',
    );
    // let the queue settle, so nothing changes between the two snapshots
    await waitFor(
      async () => {
        const status = await request(t.baseUrl, 'GET', '/api/whatsapp/status', { token });
        return status.body.numbers.every((n: any) => n.queueDepth === 0);
      },
      20_000,
      'an empty queue',
    );
    await worker.stop();
    const knex = t.app.infra.db.knex;
    const tables: Record<string, string> = {
      'messaging.numbers': 'numbers',
      'messaging.chats': 'chats',
      'messaging.chat-messages': 'chat_messages',
      'messaging.outbound-queue': 'outbound_queue',
    };
    const dump = async (table: string) =>
      JSON.stringify(
        await knex(table)
          .orderBy(table === 'numbers' ? 'number_id' : table === 'chats' ? 'chat_id' : 'message_id')
          .select('*'),
      );
    for (const [name, table] of Object.entries(tables)) {
      const before = await dump(table);
      expect(JSON.parse(before), table).to.have.length.above(0);
      const projection = allProjections().find((p) => p.name === name)!;
      await rebuildProjection({ db: t.app.infra.db, store: t.app.infra.store, projection });
      await waitFor(async () => (await dump(table)) === before, 20_000, `${table} rebuilt identical`);
    }
  });
});
