import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { Command } from 'commander';
import { storeSecret } from '#application/secrets/secrets.js';
import { Fernet } from '#infrastructure/secrets/fernet.js';
import { createSecretCipher, keyFingerprint } from '#infrastructure/secrets/secretCipher.js';
import { openPostgresDatabase } from '#infrastructure/sql/database.js';
import { migrateLatest } from '#infrastructure/sql/migrate.js';
import { createCliContext, CliError } from '#interfaces/cli/context.js';
import { secretsCommand } from '#interfaces/cli/commands/secrets.js';
import type { Infrastructure } from '#interfaces/process/infrastructure.js';
import { rebuildProjection } from '#projections/runner.js';
import { secretRows, secretsProjection } from '#projections/secrets/secrets.js';
import { createTestSchema } from '../../support/app.js';
import { capturingIo, cliTestEnv, withInfrastructure } from '../../support/cli.js';
import { manualRuntime } from '../../support/runtime.js';

// One runtime per file: its ids count up, so two use cases never mint the same event id.
const runtime = manualRuntime();

const KEY_A = Fernet.generateKey();
const KEY_B = Fernet.generateKey();

describe('chatbot secrets (CLI, real Postgres)', function () {
  this.timeout(60_000);
  let schema: Awaited<ReturnType<typeof createTestSchema>>;
  let cwd: string;
  const env = (fernetKeys: string) => cliTestEnv(schema.url, { FERNET_KEYS: fernetKeys });

  /** Runs `chatbot <args>` in this process; returns what went to stdout and stderr, and the error if any. */
  const cli = async (fernetKeys: string, ...args: string[]) => {
    const { io, out, err } = capturingIo();
    const program = new Command('chatbot').exitOverride();
    secretsCommand(program, createCliContext({ io, env: env(fernetKeys), cwd }));
    let error: unknown = null;
    await program.parseAsync(['node', 'chatbot', ...args]).catch((e: unknown) => (error = e));
    return { out, err, error };
  };
  const withInfra = <T>(fn: (infra: Infrastructure) => Promise<T>) =>
    withInfrastructure(env(KEY_A), 'secrets-cli-test', fn);

  beforeEach(async () => {
    schema = await createTestSchema();
    cwd = mkdtempSync(join(tmpdir(), 'chatbot-cli-'));
    const db = openPostgresDatabase(schema.url);
    await migrateLatest(db);
    await db.close();
  });
  afterEach(async () => {
    rmSync(cwd, { recursive: true, force: true });
    await schema.drop();
  });

  it('`secrets rotate` re-encrypts every secret under the newest key, prints the summary line, and re-encrypts 0 the second time', async () => {
    const values = [`plain-${randomUUID()}`, `plain-${randomUUID()}`];
    await withInfra(async (infra) => {
      const deps = {
        store: infra.store,
        cipher: createSecretCipher([KEY_A]),
        log: { info: () => undefined, warn: () => undefined },
        runtime,
      };
      await storeSecret(
        deps,
        { name: 'openai', kind: 'llm_api_key', value: values[0]! },
        { correlationId: randomUUID(), actor: 'system' },
      );
      await storeSecret(
        deps,
        { name: 'wa.session', kind: 'whatsapp_web_session', value: values[1]! },
        { correlationId: randomUUID(), actor: 'system' },
      );
    });

    const first = await cli(`${KEY_B},${KEY_A}`, 'secrets', 'rotate');
    expect(first.error).to.equal(null);
    expect(first.out).to.deep.equal([`re-encrypted 2 secrets under key ${keyFingerprint(KEY_B)}`]);
    expect(first.err.some((line) => line.startsWith('secrets: 2/2'))).to.equal(true);

    const second = await cli(`${KEY_B},${KEY_A}`, 'secrets', 'rotate');
    expect(second.out).to.deep.equal([`re-encrypted 0 secrets under key ${keyFingerprint(KEY_B)}`]);

    await withInfra(async (infra) => {
      await rebuildProjection({ db: infra.db, store: infra.store, projection: secretsProjection });
      const onlyB = new Fernet(KEY_B);
      const rows = await secretRows(infra.db.knex);
      expect(rows.map((r) => onlyB.decryptToString(r.ciphertext))).to.deep.equal(values);
    });

    const list = await cli(KEY_B, 'secrets', 'list');
    list.out = list.out.join('\n').split('\n');
    expect(list.out[0]).to.match(/^NAME\s+KIND\s+KEY\s+UPDATED$/);
    expect(list.out.slice(1).map((line) => line.split(/\s+/).slice(0, 3))).to.deep.equal([
      ['openai', 'llm_api_key', keyFingerprint(KEY_B)],
      ['wa.session', 'whatsapp_web_session', keyFingerprint(KEY_B)],
    ]);
    const printed = [...first.out, ...first.err, ...second.out, ...second.err, ...list.out, ...list.err].join('\n');
    for (const value of values) expect(printed).not.to.contain(value);
    expect(printed).not.to.contain('gAAAAA');
  });

  it('`secrets rotate` names a secret no key opens and fails, after rotating the others', async () => {
    await withInfra(async (infra) => {
      const context = { correlationId: randomUUID(), actor: 'system' };
      const log = { info: () => undefined, warn: () => undefined };
      await storeSecret(
        { store: infra.store, cipher: createSecretCipher([KEY_A]), log, runtime },
        { name: 'kept', kind: 'other', value: 'v1' },
        context,
      );
      await storeSecret(
        { store: infra.store, cipher: createSecretCipher([Fernet.generateKey()]), log, runtime },
        { name: 'orphan', kind: 'other', value: 'v2' },
        context,
      );
    });
    const run = await cli(`${KEY_B},${KEY_A}`, 'secrets', 'rotate');
    expect(run.out).to.deep.equal([`re-encrypted 1 secret under key ${keyFingerprint(KEY_B)}`]);
    expect(run.error).to.be.instanceOf(CliError);
    expect(run.err.some((line) => line.includes('orphan: encrypted under key'))).to.equal(true);
  });

  it('`secrets list --json` shows metadata and which key is current, and marks secrets under an old key in the table', async () => {
    await withInfra(async (infra) => {
      await storeSecret(
        {
          store: infra.store,
          cipher: createSecretCipher([KEY_A]),
          log: { info: () => undefined, warn: () => undefined },
          runtime,
        },
        { name: 'openai', kind: 'llm_api_key', value: 'v' },
        { correlationId: randomUUID(), actor: 'system' },
      );
      await rebuildProjection({ db: infra.db, store: infra.store, projection: secretsProjection });
    });
    const json = await cli(`${KEY_B},${KEY_A}`, 'secrets', 'list', '--json');
    const parsed = JSON.parse(json.out.join('\n')) as {
      secrets: Array<Record<string, unknown>>;
      currentKeyFingerprint: string;
    };
    expect(parsed.currentKeyFingerprint).to.equal(keyFingerprint(KEY_B));
    expect(parsed.secrets.map((s) => Object.keys(s).sort())).to.deep.equal([
      ['keyFingerprint', 'kind', 'name', 'updatedAt'],
    ]);
    const table = await cli(`${KEY_B},${KEY_A}`, 'secrets', 'list');
    expect(table.out.join('\n').split('\n')[1]).to.contain(`${keyFingerprint(KEY_A)} (old)`);
    expect(table.err.join('\n')).to.contain('chatbot secrets rotate');
  });

  it('`secrets rotate` without FERNET_KEYS says what to set', async () => {
    const run = await cli('', 'secrets', 'rotate');
    expect(run.error).to.be.instanceOf(CliError);
    expect((run.error as Error).message).to.contain('FERNET_KEYS');
  });
});
