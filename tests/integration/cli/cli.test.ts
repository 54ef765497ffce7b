import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openInfrastructure } from '#interfaces/process/infrastructure.js';
import { runCliIn, spawnCliBin } from '../../support/cli.js';
import { TEST_DATABASE_URL, newEvent, uniqueName } from '../../support/events.js';
import { adminQuery, createSampleTables, dropSchema, sampleProjection } from '../../support/projections.js';

const SECRETS = { JWT_SECRET: 'x'.repeat(48), ADMIN_PASSWORD: 'correct-horse-battery', NODE_ENV: 'test' };

/** DATABASE_URL confined to one schema: every unqualified table (read models, events, knex's) lands there. */
const urlFor = (schema: string) =>
  `${TEST_DATABASE_URL}${TEST_DATABASE_URL.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}`;

describe('chatbot CLI', function () {
  this.timeout(60_000);
  let schema: string;
  let cwd: string;
  let env: NodeJS.ProcessEnv;

  beforeEach(async () => {
    schema = uniqueName('cli');
    await adminQuery(`create schema "${schema}"`);
    cwd = mkdtempSync(path.join(tmpdir(), 'chatbot-cli-'));
    env = { ...SECRETS, DATABASE_URL: urlFor(schema), PATH: process.env.PATH };
  });
  afterEach(async () => {
    rmSync(cwd, { recursive: true, force: true });
    await dropSchema(schema);
  });

  const run = (...argv: string[]) => runCliIn({ env, cwd, projections: () => [sampleProjection()] }, argv);

  it('migrate status / latest / current / history / rollback report and change the schema like alembic current, heads and history', async () => {
    const fresh = await run('migrate', 'status');
    expect(fresh.code).to.equal(0);
    expect(fresh.out)
      .to.match(/^current: \(none applied\)/m)
      .and.match(/202511270001_projection_checkpoints/)
      .and.contain('run `chatbot migrate latest`');

    const latest = await run('migrate', 'latest');
    expect(latest.code).to.equal(0);
    expect(latest.out)
      .to.match(/^applied batch 1:/)
      .and.contain('202511270001_projection_checkpoints');
    expect((await run('migrate', 'latest')).out).to.equal('already up to date: nothing to apply');

    const status = await run('migrate', 'status');
    const head = /^head: +(\S+)/m.exec(status.out)![1]!;
    expect(status.out)
      .to.match(new RegExp(`^current: ${head}$`, 'm'))
      .and.match(/^pending: none$/m)
      .and.match(/BATCH +APPLIED AT +MIGRATION/);
    expect((await run('migrate', 'current')).out).to.match(new RegExp(`^${head} \\(head\\)  batch 1, applied \\d{4}-`));
    expect((await run('migrate', 'heads')).out).to.equal(head);
    expect(JSON.parse((await run('migrate', 'history', '--json')).out)).to.have.property('current', head);

    const rollback = await run('migrate', 'rollback');
    expect(rollback.code).to.equal(0);
    expect(rollback.out)
      .to.match(/^rolled back batch 1:/)
      .and.contain('202511270001_projection_checkpoints');
    expect((await run('migrate', 'current')).out).to.equal('(none applied)');
  });

  it('projections status shows lag, and projections rebuild replays with progress lines and a summary', async () => {
    expect((await run('migrate', 'latest')).code).to.equal(0);
    const infra = await openInfrastructure({
      eventStore: { kind: 'postgres' },
      database: { kind: 'postgres', url: urlFor(schema) },
    });
    try {
      await createSampleTables(infra.db.knex);
      await infra.store.append(
        'cli-a',
        Array.from({ length: 30 }, (_, n) => newEvent('Counted', { n })),
      );
      await infra.store.append('cli-b', [newEvent('Ignored')]);

      const before = await run('projections', 'status');
      expect(before.code).to.equal(0);
      expect(before.out.split('\n')[0]).to.match(
        /^NAME +STATE +VERSION +POSITION +HEAD +LAG EVENTS +LAG +APPLIED +RUNNING +LAST ERROR$/,
      );
      expect(before.out.split('\n')[1]).to.match(/^sample +live +1 +0 +31 +30 +\S+( ms| s) +0 +no +-$/);

      const rebuild = await run('projections', 'rebuild', 'sample');
      expect(rebuild.code).to.equal(0, rebuild.err);
      expect(rebuild.err).to.contain('sample: 0/30 events (0%), 0 events/s').and.contain('sample: 30/30 events (100%)');
      // The checkpoint records how far the replay scanned: past the trailing Ignored event, to the head (31).
      expect(rebuild.out).to.match(/^rebuilt sample: 30 events in .+, swapped in at checkpoint 31$/);
      expect(
        Number((await infra.db.knex('sample_rows').count<Array<{ count: string }>>('* as count'))[0]!.count),
      ).to.equal(30);

      const after = JSON.parse((await run('projections', 'status', '--json')).out) as Array<Record<string, unknown>>;
      expect(after[0]).to.include({
        name: 'sample',
        position: 31,
        lagEvents: 0,
        lagMs: 0,
        eventsApplied: 30,
        running: false,
      });
    } finally {
      await infra.close();
    }
  });

  it('failures exit non-zero with one clear message: unknown projection, bad usage, bad configuration, unreachable database', async () => {
    expect((await run('migrate', 'latest')).code).to.equal(0);
    const unknown = await run('projections', 'rebuild', 'nope');
    expect(unknown).to.include({ code: 1 });
    expect(unknown.err).to.equal('error [unknown_projection]: unknown projection nope; known: sample');

    const both = await run('projections', 'rebuild', 'sample', '--all');
    expect(both).to.include({ code: 1, err: 'error: name one projection or pass --all (not both)' });

    env = { ...env, NODE_ENV: 'production', JWT_SECRET: '' };
    const config = await run('migrate', 'status');
    expect(config.code).to.equal(1);
    expect(config.err)
      .to.match(/^Invalid configuration/)
      .and.contain('JWT_SECRET');

    env = { ...SECRETS, DATABASE_URL: 'postgres://postgres@127.0.0.1:1/test' };
    const down = await run('migrate', 'status');
    expect(down.code).to.equal(1);
    expect(down.err).to.match(/^error.*ECONNREFUSED/);
  });

  it('bin/chatbot.js runs the CLI from any directory and passes the exit code through', async () => {
    const spawnBin = (...argv: string[]) => spawnCliBin({ cwd, env }, argv);
    const heads = await spawnBin('migrate', 'heads');
    expect(heads.code).to.equal(0, heads.err);
    expect(heads.out.trim()).to.match(/^\d{12}_[a-z0-9_]+$/);
    const bogus = await spawnBin('bogus');
    expect(bogus.code).to.equal(2);
    expect(bogus.err).to.contain("unknown command 'bogus'");
  });
});
