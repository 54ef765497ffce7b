import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import type { Infrastructure } from '#interfaces/process/infrastructure.js';
import { migrateLatest } from '#infrastructure/sql/migrate.js';
import { AUDIT_TABLE, auditLogProjection } from '#projections/audit/auditLog.js';
import { rebuildProjection } from '#projections/runner.js';
import { newEvent } from '../../support/events.js';
import { createTestSchema } from '../../support/app.js';
import { cliTestEnv, runCliLines, withInfrastructure } from '../../support/cli.js';

describe('chatbot audit (CLI, real Postgres)', function () {
  this.timeout(60_000);
  let schema: Awaited<ReturnType<typeof createTestSchema>>;
  let cwd: string;
  const env = () => cliTestEnv(schema.url);
  /** `chatbot <args>` through the real entry point: output lines and the exit code. */
  const cli = (...args: string[]) => runCliLines({ env: env(), cwd }, args);
  const withInfra = <T>(fn: (infra: Infrastructure) => Promise<T>) => withInfrastructure(env(), 'audit-cli-test', fn);

  const ALICE = randomUUID();
  beforeEach(async () => {
    schema = await createTestSchema();
    cwd = mkdtempSync(join(tmpdir(), 'chatbot-audit-cli-'));
    await withInfra(async ({ db, store }) => {
      await migrateLatest(db);
      for (let i = 0; i < 6; i++) {
        await store.append(`account-${ALICE}`, [
          newEvent(
            'LoginFailed',
            { accountId: ALICE, username: 'alice', reason: 'wrong_password', failureCount: i + 1, lockedUntil: null },
            { actor: ALICE, ip: `192.0.2.${i}`, correlationId: `login-${i}` },
          ),
        ]);
      }
      await store.append('process-worker-web', [
        newEvent(
          'ProcessStopped',
          { name: 'worker-web', instance: 'host:7', role: 'worker-web' },
          { actor: ALICE, ip: '192.0.2.99' },
        ),
      ]);
      await rebuildProjection({ db, store, projection: auditLogProjection });
    });
  });
  afterEach(async () => {
    rmSync(cwd, { recursive: true, force: true });
    await schema.drop();
  });

  it('`audit verify` says the trail is intact and exits 0', async () => {
    const result = await cli('audit', 'verify');
    expect(result.code).to.equal(0);
    expect(result.out).to.have.length(1);
    expect(result.out[0]).to.match(/^audit trail OK: 7 entries match the event store and the hash chain is intact/);
  });

  it('`audit verify` after an IP was altered in Postgres names the seq and the column, and exits 1', async () => {
    await withInfra(async ({ db }) => db.knex(AUDIT_TABLE).where({ seq: 3 }).update({ ip: '203.0.113.66' }));
    const result = await cli('audit', 'verify');
    expect(result.code).to.equal(1);
    const line = result.err.find((l) => l.includes('DIVERGES'));
    expect(line).to.be.a('string');
    expect(line)
      .to.include('seq 3')
      .and.include('ip is "203.0.113.66" in the table, the event store says "192.0.2.2"')
      .and.include('2 entries verified before it');
  });

  it('`audit verify` after a row was deleted names the missing seq, and exits 1', async () => {
    await withInfra(async ({ db }) => db.knex(AUDIT_TABLE).where({ seq: 5 }).delete());
    const result = await cli('audit', 'verify', '--json');
    expect(result.code).to.equal(1);
    const json = JSON.parse(result.out.join('\n'));
    expect(json).to.deep.include({ ok: false, entries: 4 });
    expect(json.divergence).to.include({ seq: 5, kind: 'missing' });
    expect(result.err.some((l) => l.includes('seq 5') && l.includes('login.failed entry is missing'))).to.equal(true);
  });

  it('`audit list` filters like the API, as a table or as NDJSON', async () => {
    const listed = await cli('audit', 'list', '--action', 'process.*');
    expect(listed.code).to.equal(0);
    const lines = listed.out.join('\n').split('\n');
    expect(lines[0]).to.match(/^SEQ\s+TIME\s+ACTOR\s+ACTION/);
    expect(lines).to.have.length(2);
    expect(lines[1]).to.include('process.stopped').and.include('worker-web').and.include('192.0.2.99');

    const ndjson = await cli('audit', 'list', '--actor', ALICE, '--action', 'login.failed', '--ndjson');
    expect(ndjson.out.map((line) => JSON.parse(line).seq)).to.deep.equal([1, 2, 3, 4, 5, 6]);

    const bad = await cli('audit', 'list', '--since', 'yesterday');
    expect(bad.code).to.equal(1);
    expect(bad.err.join('\n')).to.include('--since must be an ISO-8601');
  });
});
