import { expect } from 'chai';
import { loginAs, request, ADMIN_PASSWORD, startTestApp, type TestApp } from '../../support/app.js';
import { waitFor } from '../../support/events.js';

const inSeconds = (s: number) => new Date(Date.now() + s * 1000).toISOString();

describe('scheduled messages API', function () {
  this.timeout(60_000);
  let t: TestApp;
  let token: string;
  before(async () => {
    t = await startTestApp();
    token = (await loginAs(t.baseUrl, 'admin', ADMIN_PASSWORD)).access;
  });
  after(async () => {
    await t.close();
  });

  const schedule = (body: unknown, headers: Record<string, string> = {}) =>
    request(t.baseUrl, 'POST', '/api/scheduled-messages', { token, body, headers });
  const list = async (query = '') => {
    const response = await request(t.baseUrl, 'GET', `/api/scheduled-messages${query}`, { token });
    expect(response.status, JSON.stringify(response.body)).to.equal(200);
    return response.body as { scheduledMessages: any[]; nextCursor: string | null };
  };

  it('schedules a text for later: 201, a pending row in the list, and an audit entry naming who scheduled it', async () => {
    const at = inSeconds(3600);
    const created = await schedule({ to: '+34 600 11 22 33', text: 'recordatorio', at, number: 'simulator' });
    expect(created.status, JSON.stringify(created.body)).to.equal(201);
    expect(created.body).to.include({ number: 'simulator', at, state: 'pending', duplicate: false });
    const id = created.body.id as string;
    await waitFor(async () => (await list()).scheduledMessages.some((s) => s.scheduleId === id), 10_000, 'the row');
    const one = await request(t.baseUrl, 'GET', `/api/scheduled-messages/${id}`, { token });
    expect(one.status).to.equal(200);
    expect(one.body).to.include({
      scheduleId: id,
      numberId: 'simulator',
      to: '34600112233',
      text: 'recordatorio',
      at,
      state: 'pending',
      messageId: null,
      chatId: created.body.chatId,
    });
    const events = await t.app.infra.store.readStream(`schedule-${id}`);
    expect(events.map((e) => e.type)).to.deep.equal(['MessageScheduled']);
    await waitFor(
      async () => {
        const audit = await request(t.baseUrl, 'GET', '/api/audit?limit=200', { token });
        return (audit.body.entries as any[]).some((e) => e.action === 'message.scheduled' && e.target === id);
      },
      10_000,
      'the audit entry',
    );
  });

  it('schedules a template; the same Idempotency-Key answers the first schedule, another body under it is a 409', async () => {
    const at = inSeconds(7200);
    const body = { to: '34600112244', template: { name: 'cita_recordatorio', language: 'es' }, at };
    const first = await schedule(body, { 'Idempotency-Key': 'sched-key-1' });
    expect(first.status, JSON.stringify(first.body)).to.equal(201);
    const again = await schedule(body, { 'Idempotency-Key': 'sched-key-1' });
    expect(again.status).to.equal(200);
    expect(again.body).to.include({ id: first.body.id, duplicate: true });
    const other = await schedule({ ...body, at: inSeconds(9000) }, { 'Idempotency-Key': 'sched-key-1' });
    expect(other.status).to.equal(409);
    expect(other.body.error.code).to.equal('scheduled_message_exists');
    expect(await t.app.infra.store.readStream(`schedule-${first.body.id}`)).to.have.length(1);
  });

  it('cancels a pending message (audited); cancelling again changes nothing; an unknown id is a 404', async () => {
    const created = await schedule({ to: '34600112255', text: 'a cancelar', at: inSeconds(3600) });
    expect(created.status).to.equal(201);
    const id = created.body.id as string;
    const cancelled = await request(t.baseUrl, 'DELETE', `/api/scheduled-messages/${id}`, { token });
    expect(cancelled.status).to.equal(200);
    expect(cancelled.body).to.deep.equal({ id, state: 'cancelled', changed: true });
    const twice = await request(t.baseUrl, 'DELETE', `/api/scheduled-messages/${id}`, { token });
    expect(twice.body.changed).to.equal(false);
    expect((await t.app.infra.store.readStream(`schedule-${id}`)).map((e) => e.type)).to.deep.equal([
      'MessageScheduled',
      'ScheduledMessageCancelled',
    ]);
    await waitFor(
      async () => (await list('?state=cancelled')).scheduledMessages.some((s) => s.scheduleId === id),
      10_000,
      'the cancelled row',
    );
    expect((await list('?state=pending')).scheduledMessages.some((s) => s.scheduleId === id)).to.equal(false);
    const unknown = await request(t.baseUrl, 'DELETE', '/api/scheduled-messages/00000000-0000-4000-8000-000000000000', {
      token,
    });
    expect(unknown.status).to.equal(404);
    expect(unknown.body.error.code).to.equal('scheduled_message_not_found');
    await waitFor(
      async () => {
        const audit = await request(t.baseUrl, 'GET', '/api/audit?limit=200', { token });
        return (audit.body.entries as any[]).some((e) => e.action === 'message.schedule_cancelled' && e.target === id);
      },
      10_000,
      'the audit entry',
    );
  });

  it('pages newest first with a cursor', async () => {
    for (let i = 0; i < 3; i++)
      expect((await schedule({ to: `3460011230${i}`, text: `página ${i}`, at: inSeconds(5000 + i) })).status).to.equal(
        201,
      );
    await waitFor(async () => (await list()).scheduledMessages.length >= 6, 10_000, 'six rows');
    const first = await list('?limit=2');
    expect(first.scheduledMessages).to.have.length(2);
    expect(first.nextCursor).to.be.a('string');
    const second = await list(`?limit=2&cursor=${first.nextCursor}`);
    const ids = new Set(first.scheduledMessages.map((s) => s.scheduleId));
    for (const row of second.scheduledMessages) expect(ids.has(row.scheduleId)).to.equal(false);
    expect(first.scheduledMessages[0].text).to.equal('página 2');
  });

  it('refuses bad input with a 4xx naming the problem, and appends nothing', async () => {
    const head = await t.app.infra.store.headPosition();
    const cases: Array<[unknown, number, string]> = [
      [{ to: '34600112233', text: 'x', at: inSeconds(-60) }, 400, 'schedule_time_in_past'],
      [{ to: '34600112233', text: 'x', at: inSeconds(400 * 86400) }, 400, 'schedule_time_too_far'],
      [{ to: '34600112233', text: 'x', at: '2030-01-01T10:00:00' }, 400, 'validation_failed'],
      [{ to: '34600112233', text: 'x', at: 'mañana' }, 400, 'validation_failed'],
      [{ to: '34600112233', text: 'x' }, 400, 'validation_failed'],
      [{ to: 'not-a-number', text: 'x', at: inSeconds(60) }, 400, 'invalid_recipient'],
      [{ to: '34600112233', text: '', at: inSeconds(60) }, 400, 'validation_failed'],
      [
        { to: '34600112233', text: 'x', template: { name: 'a', language: 'es' }, at: inSeconds(60) },
        400,
        'validation_failed',
      ],
      [{ to: '34600112233', text: 'x', at: inSeconds(60), number: 'nope' }, 404, 'number_not_found'],
      [{ to: '34600112233', text: 'x', at: inSeconds(60), extra: 1 }, 400, 'validation_failed'],
      [[], 400, 'validation_failed'],
    ];
    for (const [body, status, code] of cases) {
      const response = await schedule(body);
      expect(response.status, JSON.stringify(body)).to.equal(status);
      expect(response.body.error.code, JSON.stringify(body)).to.equal(code);
      expect(response.body.error.correlationId).to.be.a('string');
    }
    const malformed = await request(t.baseUrl, 'POST', '/api/scheduled-messages', { token, rawBody: '{"to":' });
    expect(malformed.status).to.equal(400);
    const badKey = await schedule({ to: '34600112233', text: 'x', at: inSeconds(60) }, { 'Idempotency-Key': 'a b' });
    expect(badKey.status).to.equal(400);
    for (const query of ['?state=sent', '?limit=0', '?cursor=abc', '?other=1'])
      expect((await request(t.baseUrl, 'GET', `/api/scheduled-messages${query}`, { token })).status, query).to.equal(
        400,
      );
    expect((await request(t.baseUrl, 'DELETE', '/api/scheduled-messages/not-an-id', { token })).status).to.equal(400);
    expect((await request(t.baseUrl, 'GET', '/api/scheduled-messages/not-an-id', { token })).status).to.equal(400);
    expect(await t.app.infra.store.headPosition()).to.equal(head);
  });

  it('viewers can list but not schedule or cancel; nobody without a token can do anything', async () => {
    const created = await request(t.baseUrl, 'POST', '/api/users', {
      token,
      body: { username: 'viewer-s', password: 'viewer-password-s', role: 'viewer' },
    });
    expect(created.status).to.equal(201);
    const viewer = (await loginAs(t.baseUrl, 'viewer-s', 'viewer-password-s')).access;
    const body = { to: '34600112233', text: 'x', at: inSeconds(60) };
    expect((await request(t.baseUrl, 'POST', '/api/scheduled-messages', { token: viewer, body })).status).to.equal(403);
    const own = await schedule(body);
    expect(
      (await request(t.baseUrl, 'DELETE', `/api/scheduled-messages/${own.body.id}`, { token: viewer })).status,
    ).to.equal(403);
    expect((await request(t.baseUrl, 'GET', '/api/scheduled-messages', { token: viewer })).status).to.equal(200);
    expect((await request(t.baseUrl, 'GET', '/api/scheduled-messages')).status).to.equal(401);
    expect((await request(t.baseUrl, 'POST', '/api/scheduled-messages', { body })).status).to.equal(401);
  });
});
