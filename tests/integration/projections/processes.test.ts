import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { NewEvent } from '#application/shared/eventStore.js';
import { newEvent, uniqueName, waitFor } from '../../support/events.js';
import {
  checkpointOf,
  dropSchema,
  openTestSchema,
  sampleCounters,
  type TestSchema,
} from '../../support/projections.js';

const CHILD = fileURLToPath(new URL('../../support/projection-child.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

type Child = {
  process: ChildProcess;
  lines: Array<{ message: string; [key: string]: unknown }>;
  exited: Promise<number | null>;
};

/**
 * Exactly-once across processes: the read model and the checkpoint commit together, so a process
 * killed at any instant leaves either both or neither, and whoever continues starts from the checkpoint.
 */
describe('projection runner across processes (PostgreSQL)', function () {
  this.timeout(120_000);
  let t: TestSchema;
  const children: Child[] = [];
  const EVENTS = 3000;
  const STREAMS = 10;
  let appended: NewEvent[];

  beforeEach(async () => {
    t = await openTestSchema(uniqueName('proj_proc'), { create: true });
    appended = [];
    for (let i = 0; i < EVENTS; i += 100) {
      const events = Array.from({ length: 100 }, (_, j) => newEvent('Counted', { n: i + j }));
      await t.store.append(`s-${(i / 100) % STREAMS}`, events);
      appended.push(...events);
    }
  });
  afterEach(async () => {
    for (const child of children.splice(0)) {
      if (child.process.exitCode === null && child.process.signalCode === null) child.process.kill('SIGKILL');
      await child.exited;
    }
    await t.close();
    await dropSchema(t.schema);
  });

  const spawnChild = (appliedBy: string, delayMs = 0): Child => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD], {
      cwd: ROOT,
      env: {
        ...process.env,
        CHILD_SCHEMA: t.schema,
        CHILD_APPLIED_BY: appliedBy,
        CHILD_DELAY_MS: String(delayMs),
        CHILD_BATCH_SIZE: '50',
        CHILD_LOCK_RETRY_MS: '200',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const lines: Child['lines'] = [];
    createInterface({ input: child.stdout }).on('line', (text) => {
      try {
        lines.push(JSON.parse(text) as Child['lines'][number]);
      } catch {
        lines.push({ message: text });
      }
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const handle = { process: child, lines, exited };
    children.push(handle);
    return handle;
  };
  const said = (child: Child, message: string) => child.lines.some((l) => l.message.startsWith(message));
  const rowCount = async (appliedBy?: string) => {
    const query = t.db.knex('sample_rows').count<{ count: string }[]>('* as count');
    if (appliedBy) void query.where({ applied_by: appliedBy });
    return Number((await query)[0]!.count);
  };
  const lastPosition = async () => t.store.headPosition();
  const expectExactlyOnce = async () => {
    const rows = await t.db.knex('sample_rows').select('event_id', 'position').orderBy('position');
    const ids = rows.map((r: { event_id: string }) => r.event_id);
    expect(ids.length).to.equal(EVENTS, 'one row per event');
    expect(new Set(ids).size).to.equal(EVENTS, 'no duplicate');
    expect(new Set(ids)).to.deep.equal(new Set(appended.map((e) => e.id)), 'no event missing');
    const counters = await sampleCounters(t.db.knex);
    expect(Object.values(counters).reduce((a, b) => a + b, 0)).to.equal(EVENTS);
    expect(Object.values(counters)).to.deep.equal(Array.from({ length: STREAMS }, () => EVENTS / STREAMS));
    const checkpoint = await checkpointOf(t.db.knex);
    expect(checkpoint).to.include({ position: await lastPosition(), events_applied: EVENTS });
  };

  it('SIGKILL mid-stream, then a restart: no duplicate row, no missing row, counters equal the event count', async () => {
    const first = spawnChild('first', 0.5);
    await waitFor(async () => (await rowCount()) >= 600, 60_000, 'the first process to be mid-stream');
    first.process.kill('SIGKILL');
    await first.exited;
    const atKill = await rowCount();
    expect(atKill).to.be.within(600, EVENTS - 1, 'killed mid-stream');
    expect((await checkpointOf(t.db.knex))!.events_applied).to.equal(atKill, 'rows and checkpoint committed together');

    const second = spawnChild('second');
    await waitFor(
      async () => (await checkpointOf(t.db.knex))?.position === (await lastPosition()),
      60_000,
      'the restarted process to finish',
    );
    await expectExactlyOnce();
    expect(await rowCount('first')).to.equal(atKill);
    expect(await rowCount('second')).to.equal(EVENTS - atKill);
    second.process.kill('SIGTERM');
    expect(await second.exited).to.equal(0);
  });

  it('two processes: only the lock holder applies, the other waits; kill the holder and the other takes over, exactly once', async () => {
    // a little work per event, so `a` is still mid-stream while `b` starts up
    const a = spawnChild('a', 2);
    await waitFor(async () => (await rowCount('a')) > 0, 60_000, 'a applying');
    const b = spawnChild('b', 0);
    await waitFor(() => said(b, 'projection waiting for its lock'), 30_000, 'b waiting for the lock');
    const waiting = b.lines.find((l) => l.message.startsWith('projection waiting for its lock'))!;
    expect(waiting.holderPid).to.be.a('number');
    // Not a fixed sleep: let `a` commit a few more batches (its per-event work makes that take a while, so
    // `b` has retried the lock meanwhile), then check that `b` applied none of them.
    const byAWhenBWaited = await rowCount('a');
    await waitFor(
      async () => (await rowCount('a')) >= Math.min(byAWhenBWaited + 100, EVENTS),
      30_000,
      'a to apply more while b waits',
    );
    expect(await rowCount('b')).to.equal(0, 'b applies nothing while a holds the lock');
    expect(await rowCount('a')).to.be.below(EVENTS, 'a still mid-stream');

    a.process.kill('SIGKILL');
    await a.exited;
    const byA = await rowCount('a');
    await waitFor(() => said(b, 'projection lock acquired'), 30_000, 'b taking over');
    await waitFor(
      async () => (await checkpointOf(t.db.knex))?.position === (await lastPosition()),
      60_000,
      'b to finish',
    );
    await expectExactlyOnce();
    expect(await rowCount('a')).to.equal(byA);
    expect(await rowCount('b')).to.equal(EVENTS - byA);
    const maxA = (
      await t.db.knex('sample_rows').where({ applied_by: 'a' }).max<Array<{ position: string }>>('position as position')
    )[0]!.position;
    const minB = (
      await t.db.knex('sample_rows').where({ applied_by: 'b' }).min<Array<{ position: string }>>('position as position')
    )[0]!.position;
    expect(Number(minB)).to.be.greaterThan(Number(maxA), 'b continued exactly where a committed');
  });
});
