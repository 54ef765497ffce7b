import { expect } from 'chai';
import type { ChildProcess } from 'node:child_process';
import { scheduledMessageIdFor } from '#application/messaging/ids.js';
import { ADMIN_PASSWORD, loginAs, request, startTestApp, type TestApp } from '../../support/app.js';
import { waitFor } from '../../support/events.js';
import { killHard } from '../../support/messaging.js';
import { spawnScheduler } from '../../support/scheduling.js';

/** The real `scheduler` role in OS processes of its own, against the app's PostgreSQL (projections run in the app). */
describe('scheduler processes: killed across the due time, and two at once', function () {
  this.timeout(240_000);
  let t: TestApp;
  let token: string;
  const children: ChildProcess[] = [];
  before(async () => {
    t = await startTestApp({ env: { LOG_LEVEL: 'warn' } });
    token = (await loginAs(t.baseUrl, 'admin', ADMIN_PASSWORD)).access;
  });
  after(async () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) await killHard(child);
    await t.close();
  });

  /** n schedules, posted 10 at a time (a loaded machine must not push them past their own due time) */
  const scheduleMany = async (n: number, at: (i: number) => string, tag: string) => {
    const ids: string[] = [];
    for (let start = 0; start < n; start += 10) {
      const responses = await Promise.all(
        Array.from({ length: Math.min(10, n - start) }, (_, k) =>
          request(t.baseUrl, 'POST', '/api/scheduled-messages', {
            token,
            body: {
              to: `34600777${String(start + k).padStart(3, '0')}`,
              text: `${tag} ${start + k}`,
              at: at(start + k),
            },
          }),
        ),
      );
      for (const response of responses) {
        expect(response.status, JSON.stringify(response.body)).to.equal(201);
        ids.push(response.body.id as string);
      }
    }
    return ids;
  };
  const state = async (id: string) =>
    (await request(t.baseUrl, 'GET', `/api/scheduled-messages/${id}`, { token })).body.state as string;
  /** exactly one ScheduledMessageFired and one MessageQueued per schedule, read from the store itself */
  const expectFiredOnce = async (ids: string[]) => {
    for (const id of ids) {
      const schedule = await t.app.infra.store.readStream(`schedule-${id}`);
      expect(
        schedule.map((e) => e.type),
        id,
      ).to.deep.equal(['MessageScheduled', 'ScheduledMessageFired']);
      const message = await t.app.infra.store.readStream(`message-${scheduledMessageIdFor(id)}`);
      expect(
        message.filter((e) => e.type === 'MessageQueued'),
        id,
      ).to.have.length(1);
    }
  };

  it('a scheduler SIGKILLed before the due time and restarted after it fires each message once: none lost, none twice', async () => {
    const first = await spawnScheduler(t.databaseUrl);
    children.push(first.child);
    const dueAt = Date.now() + 8_000;
    const ids = await scheduleMany(5, (i) => new Date(dueAt + i * 100).toISOString(), 'reinicio');
    await killHard(first.child);
    expect(Date.now(), 'killed before the due time').to.be.below(dueAt);
    await waitFor(() => Date.now() > dueAt + 1_500, 10_000, 'the due time to pass with no scheduler');
    for (const id of ids) expect(await state(id), 'nothing fired while no scheduler ran').to.equal('pending');
    const second = await spawnScheduler(t.databaseUrl);
    children.push(second.child);
    await waitFor(
      async () => (await Promise.all(ids.map(state))).every((s) => s === 'fired'),
      60_000,
      'every message fired after the restart',
    );
    await expectFiredOnce(ids);
    await killHard(second.child);
  });

  it('two scheduler processes fire each of 40 messages exactly once', async () => {
    const a = await spawnScheduler(t.databaseUrl);
    const b = await spawnScheduler(t.databaseUrl);
    children.push(a.child, b.child);
    // most at the very same instant, the rest spread over two seconds
    const dueAt = Date.now() + 12_000;
    const ids = await scheduleMany(40, (i) => new Date(dueAt + (i < 20 ? 0 : (i - 20) * 100)).toISOString(), 'doble');
    await waitFor(
      async () => (await Promise.all(ids.map(state))).every((s) => s === 'fired'),
      60_000,
      'every message fired',
    );
    await expectFiredOnce(ids);
    // each process logs the firings it won (the line may trail the events by a moment: wait for it)
    const firedBy = (output: string) =>
      output.split('\n').filter((l) => l.includes('"scheduled message fired"')).length;
    await waitFor(() => firedBy(a.output()) + firedBy(b.output()) >= 40, 15_000, 'the log lines of 40 firings');
    const [byA, byB] = [firedBy(a.output()), firedBy(b.output())];
    console.log(`      two schedulers: ${byA} fired by one process, ${byB} by the other`);
    expect(byA + byB).to.equal(40);
    await killHard(a.child);
    await killHard(b.child);
  });
});
