import { expect } from 'chai';
import type { ChildProcess } from 'node:child_process';
import { ADMIN_PASSWORD, loginAs, request, startTestApp, type TestApp } from '../../support/app.js';
import { waitFor } from '../../support/events.js';
import { startChannelServer } from '../../support/httpChannel.js';
import { killHard, spawnWorker } from '../../support/messaging.js';

const CONCURRENCY = 8;

describe('worker-web killed with SIGKILL mid-drain', function () {
  this.timeout(180_000);
  let t: TestApp;
  let channel: Awaited<ReturnType<typeof startChannelServer>>;
  const children: ChildProcess[] = [];
  before(async () => {
    t = await startTestApp({ env: { LOG_LEVEL: 'warn' } });
    // a little provider latency, so the kill lands mid-drain with sends in flight
    channel = await startChannelServer(() => new Promise((resolve) => setTimeout(() => resolve(null), 3)));
  });
  after(async () => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    await channel.close();
    await t.close();
  });

  it('loses nothing: every one of 500 queued messages reaches the channel; duplicates are only sends in flight at the kill', async () => {
    const { access } = await loginAs(t.baseUrl, 'admin', ADMIN_PASSWORD);
    const accepted = new Set<string>();
    for (let batch = 0; batch < 50; batch++) {
      const responses = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          request(t.baseUrl, 'POST', '/api/whatsapp/send', {
            token: access,
            headers: { 'Idempotency-Key': `kill-${batch}-${i}` },
            body: {
              to: `3460000${String(batch * 10 + i).padStart(4, '0')}`,
              text: `mensaje ${batch * 10 + i}`,
              number: 'simulator',
            },
          }),
        ),
      );
      for (const response of responses) {
        expect(response.status).to.equal(202);
        accepted.add(response.body.messageId as string);
      }
    }
    expect(accepted.size).to.equal(500);

    const first = await spawnWorker(t.databaseUrl, channel.url, { WHATSAPP_SEND_CONCURRENCY: String(CONCURRENCY) });
    children.push(first.child);
    await waitFor(() => channel.received.length >= 150, 60_000, '150 sends before the kill');
    await killHard(first.child);
    const atKill = channel.received.length;
    expect(atKill, 'killed mid-drain').to.be.below(500);

    const second = await spawnWorker(t.databaseUrl, channel.url, { WHATSAPP_SEND_CONCURRENCY: String(CONCURRENCY) });
    children.push(second.child);
    const distinct = () => new Set(channel.received.map((r) => r.messageId));
    await waitFor(
      () => [...accepted].every((id) => distinct().has(id)),
      90_000,
      'every accepted message at the channel',
    );
    // every message's own stream says sent
    await waitFor(
      async () => {
        const status = await request(t.baseUrl, 'GET', '/api/whatsapp/status', { token: access });
        return status.body.numbers.find((n: any) => n.numberId === 'simulator')?.queueDepth === 0;
      },
      30_000,
      'an empty queue',
    );
    for (const id of accepted) {
      const events = await t.app.infra.store.readStream(`message-${id}`);
      expect(
        events.filter((e) => e.type === 'MessageSent'),
        id,
      ).to.have.length(1);
    }
    const counts = new Map<string, number>();
    for (const r of channel.received) counts.set(r.messageId, (counts.get(r.messageId) ?? 0) + 1);
    const duplicated = [...counts].filter(([, n]) => n > 1).map(([id]) => id);
    // A duplicate can only be a message whose attempt was recorded and in flight when the worker died.
    for (const id of duplicated) {
      const events = await t.app.infra.store.readStream(`message-${id}`);
      expect(
        events.some((e) => e.type === 'MessageSendAttempted' && e.data.afterInDoubt === true),
        id,
      ).to.equal(true);
    }
    expect(duplicated.length).to.be.at.most(CONCURRENCY);
    console.log(
      `      kill test: ${atKill} sends before SIGKILL, ${channel.received.length} in all, ${duplicated.length} duplicate(s) (in flight at the kill; concurrency ${CONCURRENCY})`,
    );
    await killHard(second.child);
  });
});
