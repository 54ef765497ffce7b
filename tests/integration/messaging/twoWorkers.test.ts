import { expect } from 'chai';
import type { ChildProcess } from 'node:child_process';
import { ADMIN_PASSWORD, loginAs, request, startTestApp, type TestApp } from '../../support/app.js';
import { waitFor } from '../../support/events.js';
import { startChannelServer } from '../../support/httpChannel.js';
import { killHard, spawnWorker } from '../../support/messaging.js';

describe('several worker-web processes divide the numbers by lease', function () {
  this.timeout(180_000);
  let t: TestApp;
  let channel: Awaited<ReturnType<typeof startChannelServer>>;
  const children: ChildProcess[] = [];
  before(async () => {
    t = await startTestApp({ env: { LOG_LEVEL: 'warn' } });
    channel = await startChannelServer();
  });
  after(async () => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    await channel.close();
    await t.close();
  });

  it('each number is served by exactly one worker; a SIGKILLed worker’s numbers move to the live one within seconds', async () => {
    const { access } = await loginAs(t.baseUrl, 'admin', ADMIN_PASSWORD);
    for (const id of ['sales', 'support', 'billing']) {
      const added = await request(t.baseUrl, 'POST', '/api/numbers', {
        token: access,
        body: { id, name: id, kind: 'simulator' },
      });
      expect(added.status).to.equal(201);
    }
    const all = ['billing', 'sales', 'simulator', 'support'];
    await waitFor(
      async () => (await request(t.baseUrl, 'GET', '/api/numbers', { token: access })).body.numbers.length === 4,
      10_000,
      'four numbers in the read model',
    );
    const a = await spawnWorker(t.databaseUrl, channel.url);
    const b = await spawnWorker(t.databaseUrl, channel.url);
    children.push(a.child, b.child);
    // fair shares: two numbers each, never one number in both
    await waitFor(() => a.held().length === 2 && b.held().length === 2, 30_000, 'two numbers per worker');
    expect([...a.held(), ...b.held()].sort()).to.deep.equal(all);

    // messages to every number are sent once, each by the worker holding its number
    const sends = await Promise.all(
      all.map((number, i) =>
        request(t.baseUrl, 'POST', '/api/whatsapp/send', {
          token: access,
          body: { to: `3461000000${i}`, text: 'hola', number },
        }),
      ),
    );
    expect(sends.map((s) => s.status)).to.deep.equal([202, 202, 202, 202]);
    await waitFor(() => channel.received.length >= 4, 20_000, 'four sends');

    const killedAt = Date.now();
    await killHard(a.child);
    await waitFor(() => b.held().length === 4, 20_000, 'the live worker to hold every number');
    const movedInMs = Date.now() - killedAt;
    expect(movedInMs).to.be.below(10_000);
    console.log(`      numbers moved to the live worker ${movedInMs} ms after the SIGKILL (lease 2 s)`);

    const status = await request(t.baseUrl, 'GET', '/api/whatsapp/status', { token: access });
    const workers = new Set(status.body.numbers.map((n: any) => n.worker));
    expect(workers.size).to.equal(1);
    const late = await request(t.baseUrl, 'POST', '/api/whatsapp/send', {
      token: access,
      body: { to: '34610000009', text: 'hola', number: 'sales' },
    });
    await waitFor(
      () => channel.received.some((r) => r.messageId === late.body.messageId),
      20_000,
      'a send after the move',
    );
    // a message sent twice can only be one whose outcome the killed worker had not recorded yet
    const seen = new Map<string, number>();
    for (const r of channel.received) seen.set(r.messageId, (seen.get(r.messageId) ?? 0) + 1);
    for (const [id, count] of seen) {
      if (count === 1) continue;
      const events = await t.app.infra.store.readStream(`message-${id}`);
      expect(
        events.some((e) => e.type === 'MessageSendAttempted' && e.data.afterInDoubt === true),
        id,
      ).to.equal(true);
    }
    await killHard(b.child);
  });
});
