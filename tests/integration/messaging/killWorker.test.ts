import { expect } from 'chai';
import type { ChildProcess } from 'node:child_process';
import { ADMIN_PASSWORD, loginAs, request, startTestApp, type TestApp } from '../../support/app.js';
import { waitFor } from '../../support/events.js';
import { startChannelServer } from '../../support/httpChannel.js';
import { killHard, spawnWorker } from '../../support/messaging.js';

const CONCURRENCY = 8;
const MESSAGES = 500;
/** requests in flight while queueing: the queue fills in seconds on an idle machine, not one batch of 10 at a time */
const QUEUEING_CONCURRENCY = 25;
// Each phase waits on its own condition with its own deadline; the test's budget is their sum, so a loaded
// machine (CI's 2 cores running everything) fails on the phase that is stuck, never on an overall clock that
// the slow-but-progressing phases before it used up.
const DEADLINES = {
  queue: 240_000,
  /** spawnTsx's own deadline for a worker to say it is ready */
  workerStart: 60_000,
  beforeKill: 60_000,
  drain: 120_000,
  emptyQueue: 30_000,
  checks: 60_000,
};

describe('worker-web killed with SIGKILL mid-drain', function () {
  this.timeout(Object.values(DEADLINES).reduce((sum, ms) => sum + ms, 0) + DEADLINES.workerStart);
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

  it(`loses nothing: every one of ${MESSAGES} queued messages reaches the channel; duplicates are only sends in flight at the kill`, async () => {
    const { access } = await loginAs(t.baseUrl, 'admin', ADMIN_PASSWORD);
    const accepted = new Set<string>();
    let next = 0;
    const queueing = Date.now();
    const queueSome = async () => {
      for (let n = next++; n < MESSAGES; n = next++) {
        if (Date.now() - queueing > DEADLINES.queue) throw new Error(`queueing ${MESSAGES} messages timed out`);
        const response = await request(t.baseUrl, 'POST', '/api/whatsapp/send', {
          token: access,
          headers: { 'Idempotency-Key': `kill-${n}` },
          body: { to: `3460000${String(n).padStart(4, '0')}`, text: `mensaje ${n}`, number: 'simulator' },
        });
        expect(response.status).to.equal(202);
        accepted.add(response.body.messageId as string);
      }
    };
    await Promise.all(Array.from({ length: QUEUEING_CONCURRENCY }, queueSome));
    expect(accepted.size).to.equal(MESSAGES);

    const first = await spawnWorker(t.databaseUrl, channel.url, { WHATSAPP_SEND_CONCURRENCY: String(CONCURRENCY) });
    children.push(first.child);
    await waitFor(() => channel.received.length >= 150, DEADLINES.beforeKill, '150 sends before the kill');
    await killHard(first.child);
    const atKill = channel.received.length;
    expect(atKill, 'killed mid-drain').to.be.below(MESSAGES);

    const second = await spawnWorker(t.databaseUrl, channel.url, { WHATSAPP_SEND_CONCURRENCY: String(CONCURRENCY) });
    children.push(second.child);
    // one set a poll (not one per accepted id): the channel double the worker sends to runs in this process
    await waitFor(
      () => {
        const distinct = new Set(channel.received.map((r) => r.messageId));
        return [...accepted].every((id) => distinct.has(id));
      },
      DEADLINES.drain,
      'every accepted message at the channel',
    );
    // every message's own stream says sent
    await waitFor(
      async () => {
        const status = await request(t.baseUrl, 'GET', '/api/whatsapp/status', { token: access });
        return status.body.numbers.find((n: any) => n.numberId === 'simulator')?.queueDepth === 0;
      },
      DEADLINES.emptyQueue,
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
