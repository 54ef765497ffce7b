import { expect } from 'chai';
import { handleCommand } from '#application/shared/commandHandler.js';
import { scheduledMessageIdFor } from '#application/messaging/ids.js';
import { scheduleDecider } from '#domain/scheduling/schedule.js';
import { systemRuntime } from '#infrastructure/shared/runtime.js';
import { ADMIN_PASSWORD, loginAs, request, startTestApp, type TestApp } from '../../support/app.js';
import { waitFor } from '../../support/events.js';
import { startTestWorker, waitForMessages } from '../../support/messaging.js';
import { startTestScheduler } from '../../support/scheduling.js';

const inMs = (ms: number) => new Date(Date.now() + ms).toISOString();

describe('scheduled messages fire (the scheduler and worker-web as embedded mode wires them)', function () {
  this.timeout(90_000);
  let t: TestApp;
  let token: string;
  let worker: ReturnType<typeof startTestWorker>;
  let scheduler: ReturnType<typeof startTestScheduler> | null = null;
  before(async () => {
    t = await startTestApp({ env: { LOG_LEVEL: 'warn' } });
    worker = startTestWorker(t);
    token = (await loginAs(t.baseUrl, 'admin', ADMIN_PASSWORD)).access;
  });
  after(async () => {
    await scheduler?.stop();
    await worker.stop();
    await t.close();
  });

  const schedule = async (body: Record<string, unknown>) => {
    const response = await request(t.baseUrl, 'POST', '/api/scheduled-messages', { token, body });
    expect(response.status, JSON.stringify(response.body)).to.equal(201);
    return response.body as { id: string; chatId: string; at: string };
  };
  const row = async (id: string) => (await request(t.baseUrl, 'GET', `/api/scheduled-messages/${id}`, { token })).body;
  const streamTypes = async (stream: string) => (await t.app.infra.store.readStream(stream)).map((e) => e.type);

  it('each message is queued within a second of its time, once, and the simulator sends it into its chat', async () => {
    scheduler = startTestScheduler(t);
    const created = [];
    for (let i = 0; i < 5; i++)
      created.push(await schedule({ to: `3460055500${i}`, text: `programado ${i}`, at: inMs(2_000 + i * 400) }));
    for (const s of created) await waitFor(async () => (await row(s.id)).state === 'fired', 20_000, 'fired');
    const delays: number[] = [];
    for (const [i, s] of created.entries()) {
      const [scheduled, fired] = await t.app.infra.store.readStream(`schedule-${s.id}`);
      expect(fired?.type).to.equal('ScheduledMessageFired');
      const messageId = scheduledMessageIdFor(s.id);
      expect(fired!.data).to.include({ messageId });
      const message = await t.app.infra.store.readStream(`message-${messageId}`);
      const queued = message.find((e) => e.type === 'MessageQueued')!;
      expect(queued.data).to.include({ source: 'scheduled', text: `programado ${i}`, to: `3460055500${i}` });
      // causation: the firing, caused by the schedule; the whole chain keeps the request's correlation id
      expect(queued.metadata.causationId).to.equal(fired!.id);
      expect(fired!.metadata.causationId).to.equal(scheduled!.id);
      expect(queued.metadata.correlationId).to.equal(scheduled!.metadata.correlationId);
      expect(message.filter((e) => e.type === 'MessageQueued')).to.have.length(1);
      // measured from the store's own commit time, not from what the scheduler says of itself
      const delay = Date.parse(queued.recordedAt) - Date.parse(s.at);
      expect(delay, 'not early').to.be.at.least(0);
      delays.push(delay);
      const messages = await waitForMessages(t.baseUrl, token, s.chatId, (m) => m[0]?.status === 'delivered');
      expect(messages[0]).to.include({ direction: 'out', source: 'scheduled', text: `programado ${i}` });
      expect((await row(s.id)).queuedAt).to.be.a('string');
    }
    console.log(`      scheduled → queued delays (ms): ${delays.join(', ')}`);
    for (const delay of delays) expect(delay, 'fired within a second of its time').to.be.below(1_000);
    // too late to cancel now
    const cancel = await request(t.baseUrl, 'DELETE', `/api/scheduled-messages/${created[0]!.id}`, { token });
    expect(cancel.status).to.equal(409);
    expect(cancel.body.error.code).to.equal('scheduled_message_already_fired');
  });

  it('a message cancelled before its time never fires (a later one fires meanwhile)', async () => {
    const cancelled = await schedule({ to: '34600555100', text: 'nunca', at: inMs(1_500) });
    const later = await schedule({ to: '34600555101', text: 'después', at: inMs(2_500) });
    const response = await request(t.baseUrl, 'DELETE', `/api/scheduled-messages/${cancelled.id}`, { token });
    expect(response.status).to.equal(200);
    await waitFor(async () => (await row(later.id)).state === 'fired', 20_000, 'the later message fired');
    expect(await streamTypes(`schedule-${cancelled.id}`)).to.deep.equal([
      'MessageScheduled',
      'ScheduledMessageCancelled',
    ]);
    expect(await t.app.infra.store.readStream(`message-${scheduledMessageIdFor(cancelled.id)}`)).to.deep.equal([]);
    expect((await row(cancelled.id)).state).to.equal('cancelled');
  });

  it('a scheduler that died between ScheduledMessageFired and MessageQueued is made good: queued once', async () => {
    await scheduler?.stop();
    scheduler = null;
    const s = await schedule({ to: '34600555200', text: 'a medias', at: inMs(800) });
    await waitFor(() => Date.now() > Date.parse(s.at), 5_000, 'the due time');
    // what the dead scheduler got done: the firing, and nothing after it
    await handleCommand(
      t.app.infra.store,
      `schedule-${s.id}`,
      scheduleDecider,
      () => ({
        type: 'FireScheduledMessage' as const,
        data: { messageId: scheduledMessageIdFor(s.id), now: new Date().toISOString() },
      }),
      { correlationId: 'half-fired', actor: 'scheduler' },
      { runtime: systemRuntime },
    );
    await waitFor(async () => (await row(s.id)).state === 'fired', 10_000, 'the read model to show it fired');
    scheduler = startTestScheduler(t);
    await waitFor(async () => (await row(s.id)).queuedAt !== null, 30_000, 'the message queued by the next scheduler');
    expect(await streamTypes(`schedule-${s.id}`)).to.deep.equal(['MessageScheduled', 'ScheduledMessageFired']);
    const message = await streamTypes(`message-${scheduledMessageIdFor(s.id)}`);
    expect(message.filter((type) => type === 'MessageQueued')).to.have.length(1);
    expect(scheduler.logs()).to.include('scheduled message queued after an interrupted firing');
  });

  it('a message whose number was disabled meanwhile fails, with the reason, instead of retrying forever', async () => {
    scheduler ??= startTestScheduler(t);
    const added = await request(t.baseUrl, 'POST', '/api/numbers', {
      token,
      body: { id: 'sched-temp', name: 'Temp', kind: 'simulator' },
    });
    expect(added.status).to.equal(201);
    const s = await schedule({ to: '34600555300', text: 'sin número', at: inMs(1_500), number: 'sched-temp' });
    expect((await request(t.baseUrl, 'POST', '/api/numbers/sched-temp/disable', { token })).status).to.equal(200);
    await waitFor(async () => (await row(s.id)).state === 'failed', 20_000, 'the failure recorded');
    expect(await row(s.id)).to.include({ errorCode: 'number_disabled', queuedAt: null });
    expect(await streamTypes(`schedule-${s.id}`)).to.deep.equal([
      'MessageScheduled',
      'ScheduledMessageFired',
      'ScheduledMessageFailed',
    ]);
    expect(await t.app.infra.store.readStream(`message-${scheduledMessageIdFor(s.id)}`)).to.deep.equal([]);
    // no message text or phone number in the scheduler's log lines
    expect(scheduler.logs()).not.to.include('sin número');
    expect(scheduler.logs()).not.to.include('34600555300');
  });
});
