import { expect } from 'chai';
import { ADMIN_PASSWORD, loginAs, request, startTestApp, type TestApp } from '../../support/app.js';
import { waitFor } from '../../support/events.js';

type Step = {
  streamId: string;
  kind: string | null;
  revision: number;
  lastRevision: number;
  previous: number | null;
  next: number | null;
  event: {
    id: string;
    type: string;
    revision: number;
    metadata: { correlationId: string; causationId: string | null };
  };
  folded: boolean;
  state: Record<string, unknown> | null;
  summary: Record<string, unknown> | null;
  changed: string[];
  who: { actor: string; username: string | null };
  origin: { ip: string | null; userAgent: string | null };
  why: {
    correlationId: string;
    causationId: string | null;
    cause: { id: string; type: string; streamId: string } | null;
  };
};

describe('replay stepper: GET /api/streams/{streamId}/steps (real Postgres, real app)', function () {
  this.timeout(120_000);
  let t: TestApp;
  let admin: string;
  let adminId: string;
  before(async () => {
    t = await startTestApp();
    const session = await loginAs(t.baseUrl, 'admin', ADMIN_PASSWORD);
    admin = session.access;
    const me = await request(t.baseUrl, 'GET', '/api/auth/me', { token: admin });
    adminId = String(me.body.id ?? me.body.user?.id);
  });
  after(async () => {
    await t.close();
  });

  const step = async (streamId: string, revision?: number | 'last', token = admin) => {
    const query = revision === undefined ? '' : `?revision=${revision}`;
    const response = await request(t.baseUrl, 'GET', `/api/streams/${encodeURIComponent(streamId)}/steps${query}`, {
      token,
    });
    return response as { status: number; body: Step & { error?: { code: string } } };
  };

  it('steps through an account: each event, the state after it, what changed, who, from where and why', async () => {
    const created = await request(t.baseUrl, 'POST', '/api/users', {
      token: admin,
      body: { username: 'stepped', password: 'stepped-password-1', role: 'operator' },
      headers: { 'User-Agent': 'replay-test/1.0' },
    });
    expect(created.status).to.equal(201);
    const accountId = String(created.body.id);
    const stream = `account-${accountId}`;
    expect((await request(t.baseUrl, 'POST', `/api/users/${accountId}/disable`, { token: admin })).status).to.equal(
      200,
    );
    expect((await request(t.baseUrl, 'POST', `/api/users/${accountId}/enable`, { token: admin })).status).to.equal(200);

    const first = await step(stream);
    expect(first.status, JSON.stringify(first.body)).to.equal(200);
    expect(first.body).to.include({
      streamId: stream,
      kind: 'account',
      revision: 0,
      previous: null,
      next: 1,
      folded: true,
    });
    expect(first.body.lastRevision).to.equal(2);
    expect(first.body.event.type).to.equal('AccountCreated');
    expect(first.body.state).to.include({ status: 'active', username: 'stepped', passwordHash: '[redacted]' });
    expect(first.body.summary).to.include({ exists: true, status: 'active' });
    expect(first.body.changed).to.include('status');
    expect(first.body.who).to.deep.equal({ actor: adminId, username: 'admin' });
    expect(first.body.origin.userAgent).to.equal('replay-test/1.0');
    expect(first.body.origin.ip).to.be.a('string');
    expect(first.body.why.correlationId).to.equal(created.headers.get('x-correlation-id'));
    expect(JSON.stringify(first.body)).not.to.include('$argon2');

    const disabled = await step(stream, 1);
    expect(disabled.body).to.include({ revision: 1, previous: 0, next: 2 });
    expect(disabled.body.event.type).to.equal('AccountDisabled');
    expect(disabled.body.state).to.include({ status: 'disabled' });
    expect(disabled.body.changed).to.deep.equal(['status']);

    const last = await step(stream, 'last');
    expect(last.body).to.include({ revision: 2, previous: 1, next: null });
    expect(last.body.event.type).to.equal('AccountEnabled');
    expect(last.body.state).to.include({ status: 'active' });
    expect(last.body.summary).to.include({ status: 'active' });
  });

  it('steps through a number and a chat, and names the cause in another stream', async () => {
    const added = await request(t.baseUrl, 'POST', '/api/numbers', {
      token: admin,
      body: { id: 'replay-num', name: 'Replay number', kind: 'simulator' },
    });
    expect(added.status, JSON.stringify(added.body)).to.equal(201);
    const beforeDisable = new Date().toISOString();
    await request(t.baseUrl, 'POST', '/api/numbers/replay-num/disable', { token: admin });
    // time travel folds numbers too: active before the disable, disabled after
    const stateAt = (at: string) =>
      request(t.baseUrl, 'GET', `/api/streams/number-replay-num/state?at=${encodeURIComponent(at)}`, { token: admin });
    const then = await stateAt(beforeDisable);
    expect(then.status, JSON.stringify(then.body)).to.equal(200);
    expect(then.body).to.include({ kind: 'number', laterEvents: 1 });
    expect(then.body.summary).to.deep.equal({ exists: true, status: 'active' });
    const now = await stateAt(new Date(Date.now() + 1000).toISOString());
    expect(now.body.summary).to.deep.equal({ exists: true, status: 'disabled' });
    const numberStep = await step('number-replay-num', 1);
    expect(numberStep.body).to.include({ kind: 'number', revision: 1, next: null });
    expect(numberStep.body.state).to.include({ status: 'disabled', name: 'Replay number' });
    expect(numberStep.body.summary).to.deep.equal({ exists: true, status: 'disabled' });
    expect((await step('number-replay-num', 0)).body.state).to.include({ status: 'active' });

    const sent = await request(t.baseUrl, 'POST', '/api/simulator/messages', {
      token: admin,
      body: { from: '34600000077', text: 'hola, paso a paso' },
    });
    expect(sent.status, JSON.stringify(sent.body)).to.equal(202);
    const chatStream = `chat-${String(sent.body.chatId)}`;
    const received = await step(chatStream, 0);
    expect(received.body).to.include({ kind: 'chat', folded: true });
    expect(received.body.event.type).to.equal('MessageReceived');
    expect(received.body.state).to.include({ status: 'open', paused: false });
    expect(received.body.state!.receivedCount).to.equal(1);
    expect(received.body.summary).to.include({ exists: true, paused: false, messagesReceived: 1 });
    const chatNow = await request(
      t.baseUrl,
      'GET',
      `/api/streams/${chatStream}/state?at=${encodeURIComponent(new Date(Date.now() + 1000).toISOString())}`,
      { token: admin },
    );
    expect(chatNow.body).to.include({ kind: 'chat' });
    expect(chatNow.body.summary).to.include({ exists: true, messagesReceived: 1 });

    // the bot's answer: an outbound message whose causation is the MessageReceived of the chat
    let reply: { streamId: string } | undefined;
    await waitFor(
      async () => {
        const page = await request(
          t.baseUrl,
          'GET',
          `/api/events?type=MessageQueued&correlation_id=${encodeURIComponent(received.body.why.correlationId)}`,
          { token: admin },
        );
        reply = (page.body.events as Array<{ streamId: string }> | undefined)?.[0];
        return reply !== undefined;
      },
      20_000,
      'the bot reply to be queued',
    );
    const queued = await step(reply!.streamId, 0);
    expect(queued.body.kind).to.equal('message');
    expect(queued.body.state).to.include({ status: 'queued' });
    expect(queued.body.why.cause).to.include({
      id: received.body.event.id,
      type: 'MessageReceived',
      streamId: chatStream,
    });
  });

  it('shows a stream no decider folds without a state, and refuses bad input and non-admins', async () => {
    const sessions = await request(t.baseUrl, 'GET', '/api/events?stream=session-&limit=1', { token: admin });
    const sessionStream = String(sessions.body.events[0].streamId);
    const sessionStep = await step(sessionStream, 0);
    expect(sessionStep.status).to.equal(200);
    expect(sessionStep.body).to.include({ kind: null, state: null, summary: null, folded: false });
    expect(sessionStep.body.changed).to.deep.equal([]);

    const cases: Array<[string, number, string]> = [
      ['/api/streams/account-x/steps?revision=-1', 400, 'validation_failed'],
      ['/api/streams/account-x/steps?revision=first', 400, 'validation_failed'],
      ['/api/streams/account-x/steps?revision=1&extra=1', 400, 'validation_failed'],
      ['/api/streams/account-x/steps?revision=1%00', 400, 'invalid_text'],
      ['/api/streams/account-nobody/steps', 404, 'stream_not_found'],
      ['/api/streams/number-replay-num/steps?revision=99', 404, 'revision_not_found'],
    ];
    for (const [path, status, code] of cases) {
      const response = await request(t.baseUrl, 'GET', path, { token: admin });
      expect(response.status, path).to.equal(status);
      expect(response.body.error.code, path).to.equal(code);
      expect(response.body.error.correlationId, path).to.be.a('string');
    }
    await request(t.baseUrl, 'POST', '/api/users', {
      token: admin,
      body: { username: 'viewer-steps', password: 'viewer-password-1', role: 'viewer' },
    });
    const viewer = await loginAs(t.baseUrl, 'viewer-steps', 'viewer-password-1');
    expect((await step('number-replay-num', 0, viewer.access)).status).to.equal(403);
    expect((await request(t.baseUrl, 'GET', '/api/streams/number-replay-num/steps')).status).to.equal(401);
  });
});
