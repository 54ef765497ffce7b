// A new user's first steps with the CLI, app stopped: every read shows the writes before it, and a
// fresh data directory needs no `migrate` first (the CLI migrates, as the app does at start).
import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { storeSecret } from '#application/secrets/secrets.js';
import { Fernet } from '#infrastructure/secrets/fernet.js';
import { systemRuntime } from '#infrastructure/shared/runtime.js';
import { createSecretCipher, keyFingerprint } from '#infrastructure/secrets/secretCipher.js';
import { openInfrastructure } from '#interfaces/process/infrastructure.js';
import { accountsProjection } from '#projections/identity/accounts.js';
import { startProjections } from '#projections/runner.js';
import { createTestSchema } from '../../support/app.js';
import { runCliIn, spawnCliBin } from '../../support/cli.js';
import { waitFor } from '../../support/events.js';

const SECRETS = { JWT_SECRET: 'x'.repeat(48), ADMIN_PASSWORD: 'correct-horse-battery', NODE_ENV: 'test' };
const KEY_OLD = Fernet.generateKey();
const KEY_NEW = Fernet.generateKey();

const runIn = (env: NodeJS.ProcessEnv, cwd: string, argv: string[]) => runCliIn({ env, cwd }, argv);

/** The list row of one user: `maria  viewer  disabled ...`. */
const rowOf = (list: string, username: string) => list.split('\n').find((line) => line.startsWith(`${username} `));

describe('chatbot CLI reads its own writes', function () {
  this.timeout(300_000); // PGlite opens once per command: slow on a loaded machine

  describe('embedded (PGlite in DATA_DIR)', () => {
    let cwd: string;
    let env: NodeJS.ProcessEnv;
    const run = (...argv: string[]) => runIn(env, cwd, argv);

    beforeEach(() => {
      cwd = mkdtempSync(path.join(tmpdir(), 'chatbot-cli-embedded-'));
      env = { ...SECRETS, DATA_DIR: path.join(cwd, 'data'), PATH: process.env.PATH };
    });
    afterEach(() => rmSync(cwd, { recursive: true, force: true }));

    it('on a fresh data directory, `npx chatbot users create` works before the first start, and list shows the user', async () => {
      // The real binary, as a new user types it: no `npm start` and no `migrate` before.
      const created = await spawnCliBin({ cwd, env }, ['users', 'create', 'maria', '--role', 'viewer']);
      expect(created.code, created.err).to.equal(0);
      expect(created.out).to.match(/^created maria \(viewer\)/m);

      const list = await run('users', 'list');
      expect(list.code, list.err).to.equal(0);
      expect(rowOf(list.out, 'maria')).to.match(/^maria +viewer +active/);
    });

    it('users disable, then users list shows the user disabled; enable shows it active again', async () => {
      expect((await run('users', 'create', 'maria')).code).to.equal(0);
      expect(rowOf((await run('users', 'list')).out, 'maria')).to.match(/^maria +operator +active/);

      expect((await run('users', 'disable', 'maria')).out).to.equal('maria: disabled');
      expect(rowOf((await run('users', 'list')).out, 'maria')).to.match(/^maria +operator +disabled/);

      expect((await run('users', 'enable', 'maria')).out).to.equal('maria: enabled');
      expect(rowOf((await run('users', 'list')).out, 'maria')).to.match(/^maria +operator +active/);
    });

    it('secrets rotate, then secrets list shows every secret under the new key', async () => {
      const dataDir = env.DATA_DIR!;
      const infra = await openInfrastructure({
        eventStore: { kind: 'pglite', dataDir },
        database: { kind: 'pglite', dataDir },
      });
      try {
        await storeSecret(
          {
            store: infra.store,
            cipher: createSecretCipher([KEY_OLD]),
            log: { info: () => 0, warn: () => 0 },
            runtime: systemRuntime,
          },
          { name: 'openai', kind: 'llm_api_key', value: `plain-${randomUUID()}` },
          { correlationId: randomUUID(), actor: 'system', ip: null, userAgent: 'mocha' },
        );
      } finally {
        await infra.close();
      }
      env = { ...env, FERNET_KEYS: KEY_OLD };
      const before = await run('secrets', 'list');
      expect(before.code, before.err).to.equal(0);
      expect(rowOf(before.out, 'openai')).to.include(keyFingerprint(KEY_OLD));

      env = { ...env, FERNET_KEYS: `${KEY_NEW},${KEY_OLD}` };
      const rotated = await run('secrets', 'rotate');
      expect(rotated.code, rotated.err).to.equal(0);
      expect(rotated.out).to.equal(`re-encrypted 1 secret under key ${keyFingerprint(KEY_NEW)}`);

      const after = await run('secrets', 'list');
      expect(after.code, after.err).to.equal(0);
      expect(rowOf(after.out, 'openai')).to.include(keyFingerprint(KEY_NEW)).and.not.include('(old)');
      expect(after.err).to.not.include('not under the newest key');
    });
  });

  describe('PostgreSQL (DATABASE_URL)', () => {
    let schema: Awaited<ReturnType<typeof createTestSchema>>;
    let cwd: string;
    let env: NodeJS.ProcessEnv;
    const run = (...argv: string[]) => runIn(env, cwd, argv);

    beforeEach(async () => {
      schema = await createTestSchema();
      cwd = mkdtempSync(path.join(tmpdir(), 'chatbot-cli-postgres-'));
      env = { ...SECRETS, DATABASE_URL: schema.url, PATH: process.env.PATH };
    });
    afterEach(async () => {
      rmSync(cwd, { recursive: true, force: true });
      await schema.drop();
    });

    it('with no app running, users create needs no migrate first, and disable then list shows the change with no rebuild', async () => {
      const created = await run('users', 'create', 'maria');
      expect(created.code, created.err).to.equal(0);
      expect(rowOf((await run('users', 'list')).out, 'maria')).to.match(/^maria +operator +active/);
      expect((await run('users', 'disable', 'maria')).code).to.equal(0);
      expect(rowOf((await run('users', 'list')).out, 'maria')).to.match(/^maria +operator +disabled/);
    });

    it('a database migrated by a newer version is left alone: the command still runs, with a note', async () => {
      expect((await run('migrate', 'latest')).code).to.equal(0);
      const infra = await openInfrastructure({
        eventStore: { kind: 'postgres' },
        database: { kind: 'postgres', url: schema.url },
      });
      try {
        await infra.db.knex('knex_migrations').insert({ name: '299912310000_from_the_future', batch: 99 });
      } finally {
        await infra.close();
      }
      const list = await run('users', 'list');
      expect(list.code, list.err).to.equal(0);
      expect(list.err).to.include('migrated by a newer version (299912310000_from_the_future); not migrating');
    });

    it('a read model whose projection keeps failing is shown as it is, with a warning naming the error, without hanging', async () => {
      expect((await run('users', 'create', 'maria')).code).to.equal(0);
      // without its batch path, so that the failing `apply` is what runs
      const broken = {
        ...accountsProjection,
        applyBatch: undefined,
        apply: () => Promise.reject(new Error('boom: cannot apply')),
      };
      const began = Date.now();
      const { code, out, err } = await runCliIn({ env, cwd, projections: () => [broken] }, ['users', 'list']);
      expect(code, err).to.equal(0);
      expect(err)
        .to.include('warning: read model accounts is not up to date (failing: projection accounts failed on event')
        .and.include('boom: cannot apply); showing it as it is');
      expect(out).to.not.include('maria');
      expect(Date.now() - began, 'gave up after a few failed batches, not at the 30 s limit').to.be.below(25_000);
    });

    it('while another process runs the projection (the app), list waits for it to catch up instead of competing', async () => {
      expect((await run('migrate', 'latest')).code).to.equal(0);
      const app = await openInfrastructure({
        eventStore: { kind: 'postgres' },
        database: { kind: 'postgres', url: schema.url },
      });
      const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };
      const runner = startProjections({
        db: app.db,
        store: app.store,
        projections: [accountsProjection],
        logger: quiet,
      });
      try {
        await waitFor(() => runner.status()[0]!.state === 'live', 20_000, "the app's runner live");
        expect((await run('users', 'create', 'maria')).code).to.equal(0);
        expect((await run('users', 'disable', 'maria')).code).to.equal(0);
        const list = await run('users', 'list');
        expect(rowOf(list.out, 'maria')).to.match(/^maria +operator +disabled/);
        expect(list.err).to.not.include('not up to date');
        expect(runner.status()[0]!.eventsApplied, "the app's runner applied the CLI's events").to.be.at.least(2);
      } finally {
        await runner.stop();
        await app.close();
      }
    });
  });
});
