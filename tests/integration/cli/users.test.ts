import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { accountIdFor } from '#application/identity/accountIds.js';
import { openInfrastructure } from '#interfaces/process/infrastructure.js';
import { createTestSchema } from '../../support/app.js';
import { runCliIn } from '../../support/cli.js';

describe('chatbot users (CLI)', function () {
  this.timeout(60_000);
  let schema: Awaited<ReturnType<typeof createTestSchema>>;
  let cwd: string;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    schema = await createTestSchema();
    cwd = mkdtempSync(path.join(tmpdir(), 'chatbot-users-'));
    env = {
      JWT_SECRET: 'x'.repeat(48),
      ADMIN_PASSWORD: 'correct-horse-battery',
      NODE_ENV: 'test',
      DATABASE_URL: schema.url,
      PATH: process.env.PATH,
    };
  });
  after(async () => {
    rmSync(cwd, { recursive: true, force: true });
    await schema.drop();
  });

  const run = (...argv: string[]) => runCliIn({ env, cwd }, argv);

  const accountStream = async (username: string) => {
    const infra = await openInfrastructure({
      eventStore: { kind: 'postgres' },
      database: { kind: 'postgres', url: schema.url },
    });
    try {
      return await infra.store.readStream(`account-${accountIdFor(username)}`);
    } finally {
      await infra.close();
    }
  };

  it('creates a user with a generated password shown once, refuses a taken username, and lists it after the projection runs', async () => {
    expect((await run('migrate', 'latest')).code).to.equal(0);
    const created = await run('users', 'create', 'Maria', '--role', 'viewer');
    expect(created.code, created.err).to.equal(0);
    expect(created.out)
      .to.match(/^created maria \(viewer\) id [0-9a-f-]{36}$/m)
      .and.match(/^password: \S{20}/m);
    const again = await run('users', 'create', 'maria');
    expect(again.code).to.equal(1);
    expect(again.err).to.include('taken');
    expect((await run('projections', 'rebuild', 'accounts')).code).to.equal(0);
    const list = await run('users', 'list');
    expect(list.out).to.match(/^maria +viewer +active/m);
  });

  it('disable, enable, role and reset-password each append one event with actor system; a no-op appends nothing', async () => {
    expect((await run('users', 'disable', 'maria')).out).to.equal('maria: disabled');
    expect((await run('users', 'disable', 'maria')).out).to.equal('maria: nothing to change');
    expect((await run('users', 'enable', 'maria')).out).to.equal('maria: enabled');
    expect((await run('users', 'role', 'maria', 'operator')).code).to.equal(0);
    expect((await run('users', 'role', 'maria', 'superuser')).code).to.equal(1);
    expect((await run('users', 'reset-password', 'maria')).out).to.match(/password: \S{20}/);
    const stream = await accountStream('maria');
    expect(stream.map((e) => e.type)).to.deep.equal([
      'AccountCreated',
      'AccountDisabled',
      'AccountEnabled',
      'RoleChanged',
      'PasswordChanged',
    ]);
    expect(stream.every((e) => e.metadata.actor === 'system')).to.equal(true);
  });

  it('an unknown user is a clear error with exit code 1', async () => {
    const result = await run('users', 'unlock', 'ghost');
    expect(result.code).to.equal(1);
    expect(result.err).to.include('No such account');
  });
});
