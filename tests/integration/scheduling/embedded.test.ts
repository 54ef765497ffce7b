import { expect } from 'chai';
import { scheduledMessageIdFor } from '#application/messaging/ids.js';
import { ADMIN_PASSWORD, loginAs, request, startTestApp, type TestApp } from '../../support/app.js';
import { waitFor } from '../../support/events.js';
import { startTestScheduler } from '../../support/scheduling.js';

describe('scheduled messages on the embedded wiring (PGlite, as npm start runs the scheduler)', function () {
  this.timeout(120_000);
  let t: TestApp;
  let scheduler: ReturnType<typeof startTestScheduler>;
  before(async () => {
    t = await startTestApp({ embedded: true, env: { LOG_LEVEL: 'warn' } });
    scheduler = startTestScheduler(t);
  });
  after(async () => {
    await scheduler.stop();
    await t.close();
  });

  it('fires a message at its time and cancels another, on the same SQL as production', async () => {
    const token = (await loginAs(t.baseUrl, 'admin', ADMIN_PASSWORD)).access;
    const post = async (text: string, ms: number) => {
      const response = await request(t.baseUrl, 'POST', '/api/scheduled-messages', {
        token,
        body: { to: '34600888001', text, at: new Date(Date.now() + ms).toISOString() },
      });
      expect(response.status, JSON.stringify(response.body)).to.equal(201);
      return response.body as { id: string; at: string };
    };
    const cancelled = await post('no', 4_000);
    expect((await request(t.baseUrl, 'DELETE', `/api/scheduled-messages/${cancelled.id}`, { token })).status).to.equal(
      200,
    );
    // due after the cancelled one: once it fired, the cancelled one's time has passed too
    const fired = await post('sí', 5_000);
    const row = async (id: string) =>
      (await request(t.baseUrl, 'GET', `/api/scheduled-messages/${id}`, { token })).body;
    await waitFor(async () => (await row(fired.id)).queuedAt !== null, 30_000, 'the message queued');
    const message = await t.app.infra.store.readStream(`message-${scheduledMessageIdFor(fired.id)}`);
    expect(message.map((e) => e.type)[0]).to.equal('MessageQueued');
    console.log(
      `      embedded: queued ${Date.parse(message[0]!.recordedAt) - Date.parse(fired.at)} ms after its time`,
    );
    expect((await row(cancelled.id)).state).to.equal('cancelled');
    expect(await t.app.infra.store.readStream(`message-${scheduledMessageIdFor(cancelled.id)}`)).to.deep.equal([]);
  });
});
