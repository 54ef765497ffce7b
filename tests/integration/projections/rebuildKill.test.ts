import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { auditLogProjection } from '#projections/audit/auditLog.js';
import { rebuildProjection } from '#projections/runner.js';
import { readRebuilds } from '#projections/shared/rebuild.js';
import { spawnCliBin } from '../../support/cli.js';
import { TEST_DATABASE_URL, uniqueName, waitFor } from '../../support/events.js';
import { dropSchema, dumpTables, openTestSchema, type TestSchema } from '../../support/projections.js';
import { appendWorkload } from '../../support/replayWorkload.js';

const SECRETS = { JWT_SECRET: 'x'.repeat(48), ADMIN_PASSWORD: 'correct-horse-battery', NODE_ENV: 'test' };
const BIN = fileURLToPath(new URL('../../../bin/chatbot.js', import.meta.url));

describe('chatbot projections rebuild, SIGKILLed mid-rebuild, resumes where it was (PostgreSQL)', function () {
  this.timeout(240_000);
  let t: TestSchema;
  let cwd: string;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    t = await openTestSchema(uniqueName('proj_kill'), { create: true });
    await appendWorkload(t.store, { events: 3_000, accounts: 30, chats: 20 });
    cwd = mkdtempSync(path.join(tmpdir(), 'chatbot-kill-'));
    const url = `${TEST_DATABASE_URL}${TEST_DATABASE_URL.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${t.schema}`)}`;
    env = { ...SECRETS, DATABASE_URL: url, PATH: process.env.PATH };
  });
  after(async () => {
    await t?.close();
    if (t) await dropSchema(t.schema);
    if (cwd) rmSync(cwd, { recursive: true, force: true });
  });

  it('the second run picks up the shadow tables (not from 0) and ends equal to a build from scratch', async () => {
    const live = await dumpTables(t.db.knex, auditLogProjection);
    // batches of 5 events: the first run is killed after a few of them
    const child = spawn(process.execPath, [BIN, 'projections', 'rebuild', 'audit_log', '--batch-size', '5'], {
      cwd,
      env,
      stdio: 'ignore',
    });
    const exited = new Promise<number | null>((resolve) =>
      child.on('exit', (_code, signal) => resolve(signal ? -1 : _code)),
    );
    await waitFor(
      async () => ((await readRebuilds(t.db.knex, ['audit_log'])).get('audit_log')?.position ?? 0) > 0,
      120_000,
      'the first run to commit a batch into the shadow',
    );
    child.kill('SIGKILL');
    expect(await exited).to.equal(-1);
    const left = (await readRebuilds(t.db.knex, ['audit_log'])).get('audit_log')!;
    expect(left.eventsApplied).to.be.greaterThan(0);
    expect(await dumpTables(t.db.knex, auditLogProjection)).to.deep.equal(live, 'the live table was not touched');

    const rerun = await spawnCliBin({ cwd, env }, ['projections', 'rebuild', 'audit_log']);
    expect(rerun.code).to.equal(0, rerun.err);
    expect(rerun.err).to.match(
      /audit_log: resuming the interrupted rebuild at position \d+ \(\d+ events already in its shadow tables\)/,
    );
    expect(rerun.out).to.match(
      /^rebuilt audit_log: \d+ events \(resumed from position \d+\) in .+, swapped in at checkpoint \d+/,
    );
    const resumedAt = Number(/resuming the interrupted rebuild at position (\d+)/.exec(rerun.err)![1]);
    expect(resumedAt).to.be.at.least(left.position);
    expect((await readRebuilds(t.db.knex, ['audit_log'])).size).to.equal(0);
    const resumed = await dumpTables(t.db.knex, auditLogProjection);
    expect(resumed.audit_log!.length).to.be.greaterThan(100);

    // a build from scratch (no shadow left: it starts at the first event) gives the very same rows
    const fresh = await rebuildProjection({ db: t.db, store: t.store, projection: auditLogProjection });
    expect(fresh.resumedFrom).to.equal(null);
    expect(await dumpTables(t.db.knex, auditLogProjection)).to.deep.equal(resumed);
  });
});
