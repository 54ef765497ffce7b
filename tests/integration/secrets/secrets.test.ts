import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { SecretTooLargeError, SecretUndecryptableError } from '#application/secrets/errors.js';
import {
  MAX_SECRET_BYTES,
  readSecret,
  rotateAllSecrets,
  storeSecret,
  deleteSecret,
  type SecretsDeps,
} from '#application/secrets/secrets.js';
import type { CommandContext } from '#application/shared/commandHandler.js';
import type { EventStore, RecordedEvent } from '#application/shared/eventStore.js';
import { ValidationError } from '#application/shared/errors.js';
import { InvalidSecretKind, InvalidSecretName, SecretNotFound } from '#domain/secrets/errors.js';
import { Fernet } from '#infrastructure/secrets/fernet.js';
import { createSecretCipher, keyFingerprint } from '#infrastructure/secrets/secretCipher.js';
import { createPostgresEventStore } from '#infrastructure/eventstore/postgres.js';
import { openPgliteDatabase, type Database } from '#infrastructure/sql/database.js';
import { migrateLatest } from '#infrastructure/sql/migrate.js';
import { rebuildProjection } from '#projections/runner.js';
import { listSecretMetadata, secretRows, secretsProjection } from '#projections/secrets/secrets.js';
import { captureLogger, openSecretsTestDb, type SecretsTestDb } from '../../support/secrets.js';
import { manualRuntime } from '../../support/runtime.js';

// One runtime per file: its ids count up, so two use cases never mint the same event id.
const runtime = manualRuntime();

const KEY_A = Fernet.generateKey();
const KEY_B = Fernet.generateKey();
const KEY_C = Fernet.generateKey();
// Random plaintexts that no redaction pattern recognises: only not writing them keeps them out of logs.
const plaintext = (label: string) => `plain-${label}-${randomUUID()}`;
const context: CommandContext = {
  correlationId: randomUUID(),
  actor: 'admin-1',
  ip: '203.0.113.9',
  userAgent: 'mocha',
};

describe('secrets at rest (PostgreSQL)', function () {
  this.timeout(60_000);
  let testDb: SecretsTestDb;
  let db: Database;
  let store: EventStore;
  let log: ReturnType<typeof captureLogger>;
  const depsWith = (keys: string[], over: Partial<SecretsDeps> = {}): SecretsDeps => ({
    store,
    cipher: createSecretCipher(keys),
    log: log.logger,
    runtime,
    ...over,
  });
  const allEvents = () => store.readAll({ filter: { streamPrefixes: ['secret-'] } });
  const catchUp = () => rebuildProjection({ db, store, projection: secretsProjection });

  beforeEach(async () => {
    testDb = await openSecretsTestDb();
    ({ db, store } = testDb);
    log = captureLogger();
  });

  afterEach(async () => {
    await testDb.close();
  });

  it('after FERNET_KEYS=B,A and a rotation, every secret is ciphertext under B, and no value is ever in an event, a row or a log line', async () => {
    const values = { openai: plaintext('openai'), 'cloud.token': plaintext('cloud'), 'wa-session_1': plaintext('wa') };
    const underA = depsWith([KEY_A]);
    await storeSecret(underA, { name: 'openai', kind: 'llm_api_key', value: values.openai }, context);
    await storeSecret(
      underA,
      { name: 'cloud.token', kind: 'whatsapp_cloud_token', value: values['cloud.token'] },
      context,
    );
    await storeSecret(
      underA,
      { name: 'wa-session_1', kind: 'whatsapp_web_session', value: values['wa-session_1'] },
      context,
    );
    const before = await allEvents();

    const progress: Array<[number, number]> = [];
    const result = await rotateAllSecrets(depsWith([KEY_B, KEY_A]), context, {
      onProgress: (done, total) => progress.push([done, total]),
    });
    expect(result).to.deep.include({
      keyFingerprint: keyFingerprint(KEY_B),
      checked: 3,
      rotated: 3,
      current: 0,
      absent: 0,
      failed: [],
    });
    expect(progress[progress.length - 1]).to.deep.equal([3, 3]);

    const onlyB = new Fernet(KEY_B);
    const appended = (await allEvents()).filter((e) => e.position > before[before.length - 1]!.position);
    expect(appended.map((e) => e.type)).to.deep.equal(['SecretRotated', 'SecretRotated', 'SecretRotated']);
    for (const event of appended) {
      const data = event.data as { name: keyof typeof values; ciphertext: string; keyFingerprint: string };
      expect(onlyB.decryptToString(data.ciphertext)).to.equal(values[data.name]);
      expect(data.keyFingerprint).to.equal(keyFingerprint(KEY_B));
    }

    await catchUp();
    const rows = await secretRows(db.knex);
    expect(rows.map((r) => r.name)).to.deep.equal(['cloud.token', 'openai', 'wa-session_1']);
    for (const row of rows) {
      expect(onlyB.decryptToString(row.ciphertext)).to.equal(values[row.name as keyof typeof values]);
      expect(row.key_fingerprint).to.equal(keyFingerprint(KEY_B));
    }
    expect(await readSecret({ store, cipher: createSecretCipher([KEY_B]) }, 'openai')).to.equal(values.openai);

    const everything = [
      JSON.stringify((await store.readAll()).map((e) => ({ data: e.data, metadata: e.metadata }))),
      JSON.stringify(rows),
      await log.output(),
    ];
    for (const value of Object.values(values)) for (const text of everything) expect(text).not.to.contain(value);
    expect(await log.output()).to.contain('secrets rotated');
  });

  it('a second rotation re-encrypts nothing', async () => {
    await storeSecret(depsWith([KEY_A]), { name: 'openai', kind: 'llm_api_key', value: plaintext('x') }, context);
    const rotating = depsWith([KEY_B, KEY_A]);
    expect((await rotateAllSecrets(rotating, context)).rotated).to.equal(1);
    const head = await store.headPosition();
    expect(await rotateAllSecrets(rotating, context)).to.deep.include({ checked: 1, rotated: 0, current: 1 });
    expect(await store.headPosition()).to.equal(head);
  });

  it('two concurrent rotations re-encrypt each secret exactly once', async () => {
    const names = Array.from({ length: 12 }, (_, i) => `key-${i}`);
    for (const name of names)
      await storeSecret(depsWith([KEY_A]), { name, kind: 'other', value: plaintext(name) }, context);
    const [first, second] = await Promise.all([
      rotateAllSecrets(depsWith([KEY_B, KEY_A]), context),
      rotateAllSecrets(depsWith([KEY_B, KEY_A]), context),
    ]);
    expect(first.rotated + second.rotated).to.equal(names.length);
    expect(first.rotated + first.current).to.equal(names.length);
    const rotated = (await allEvents()).filter((e) => e.type === 'SecretRotated');
    expect(rotated.map((e) => e.streamId).sort()).to.deep.equal(names.map((n) => `secret-${n}`).sort());
  });

  it('a value stored while a rotation runs is kept, not overwritten with the re-encrypted old one', async () => {
    const newer = plaintext('newer');
    await storeSecret(depsWith([KEY_A]), { name: 'openai', kind: 'llm_api_key', value: plaintext('older') }, context);
    // Another admin stores a new value between the rotation's read and its append (a real append, not a mock).
    let raced = false;
    const racing: EventStore = {
      ...store,
      append: async (streamId, events, options) => {
        if (!raced && events.some((e) => e.type === 'SecretRotated')) {
          raced = true;
          await storeSecret(depsWith([KEY_B, KEY_A]), { name: 'openai', kind: 'llm_api_key', value: newer }, context);
        }
        return store.append(streamId, events, options);
      },
    };
    const result = await rotateAllSecrets(depsWith([KEY_B, KEY_A], { store: racing }), context);
    expect(raced).to.equal(true);
    expect(result).to.deep.include({ rotated: 0, current: 1 });
    expect(await readSecret({ store, cipher: createSecretCipher([KEY_B]) }, 'openai')).to.equal(newer);
    expect((await allEvents()).map((e) => e.type)).to.deep.equal(['SecretStored', 'SecretStored']);
  });

  it('a secret no configured key opens is reported by name and key, and the others still rotate', async () => {
    await storeSecret(depsWith([KEY_C]), { name: 'lost', kind: 'other', value: plaintext('lost') }, context);
    await storeSecret(depsWith([KEY_A]), { name: 'kept', kind: 'other', value: plaintext('kept') }, context);
    const result = await rotateAllSecrets(depsWith([KEY_B, KEY_A]), context);
    expect(result.rotated).to.equal(1);
    expect(result.failed).to.deep.equal([
      { name: 'lost', keyFingerprint: keyFingerprint(KEY_C), code: 'secret_undecryptable' },
    ]);
    let caught: unknown;
    await readSecret(depsWith([KEY_B]), 'lost').catch((error: unknown) => (caught = error));
    expect(caught).to.be.instanceOf(SecretUndecryptableError);
  });

  it('reads back what was stored; a deleted secret reads as null and leaves the read model', async () => {
    const deps = depsWith([KEY_A]);
    const value = plaintext('v');
    await storeSecret(deps, { name: 'openai', kind: 'llm_api_key', value }, context);
    expect(await readSecret(deps, 'openai')).to.equal(value);
    expect(await readSecret(deps, 'missing')).to.equal(null);
    await deleteSecret(deps, 'openai', context);
    expect(await readSecret(deps, 'openai')).to.equal(null);
    let caught: unknown;
    await deleteSecret(deps, 'openai', context).catch((error: unknown) => (caught = error));
    expect(caught).to.be.instanceOf(SecretNotFound);
    await catchUp();
    expect(await listSecretMetadata(db.knex)).to.deep.equal([]);
  });

  it('refuses bad names, empty and oversized values, and appends nothing', async () => {
    const deps = depsWith([KEY_A]);
    const attempts: Array<[Parameters<typeof storeSecret>[1], new (...args: never[]) => Error]> = [
      [{ name: 'Bad Name', kind: 'other', value: 'v' }, InvalidSecretName],
      [{ name: 'x'.repeat(65), kind: 'other', value: 'v' }, InvalidSecretName],
      [{ name: 'ok', kind: 'nope' as 'other', value: 'v' }, InvalidSecretKind],
      [{ name: 'ok', kind: 'other', value: '' }, ValidationError],
      [{ name: 'ok', kind: 'other', value: 'é'.repeat(MAX_SECRET_BYTES / 2 + 1) }, SecretTooLargeError],
    ];
    for (const [input, errorClass] of attempts) {
      let caught: unknown;
      await storeSecret(deps, input, context).catch((error: unknown) => (caught = error));
      expect(caught, JSON.stringify(input).slice(0, 80)).to.be.instanceOf(errorClass);
    }
    await storeSecret(deps, { name: 'ok', kind: 'other', value: 'x'.repeat(MAX_SECRET_BYTES) }, context);
    expect((await allEvents()).map((e: RecordedEvent) => e.streamId)).to.deep.equal(['secret-ok']);
  });

  it('the projection folds stored, rotated and deleted secrets, and applying an event twice changes nothing', async () => {
    await storeSecret(depsWith([KEY_A]), { name: 'a', kind: 'other', value: plaintext('a') }, context);
    await storeSecret(depsWith([KEY_A]), { name: 'b', kind: 'llm_api_key', value: plaintext('b') }, context);
    await rotateAllSecrets(depsWith([KEY_B, KEY_A]), context);
    await deleteSecret(depsWith([KEY_B]), 'a', context);
    await catchUp();
    const once = await secretRows(db.knex);
    expect(once.map((r) => [r.name, r.kind, r.key_fingerprint, r.version])).to.deep.equal([
      ['b', 'llm_api_key', keyFingerprint(KEY_B), 1],
    ]);
    await db.knex.transaction(async (trx) => {
      for (const event of await allEvents()) await secretsProjection.apply(trx, event);
    });
    expect(await secretRows(db.knex)).to.deep.equal(once);
    expect(await listSecretMetadata(db.knex)).to.deep.equal([
      { name: 'b', kind: 'llm_api_key', keyFingerprint: keyFingerprint(KEY_B), updatedAt: once[0]!.updated_at },
    ]);
  });
});

describe('secrets at rest (embedded PGlite)', function () {
  // Starting PGlite (WASM) alone can take tens of seconds on a busy machine.
  this.timeout(120_000);

  it('stores, rotates to the newest key and projects ciphertext only, on the same SQL as production', async () => {
    const db = openPgliteDatabase(null);
    const store = await createPostgresEventStore({ executor: db.executor });
    try {
      await migrateLatest(db);
      const log = captureLogger();
      const value = plaintext('embedded');
      await storeSecret(
        { store, cipher: createSecretCipher([KEY_A]), log: log.logger, runtime },
        { name: 'openai', kind: 'llm_api_key', value },
        context,
      );
      const result = await rotateAllSecrets(
        { store, cipher: createSecretCipher([KEY_B, KEY_A]), log: log.logger, runtime },
        context,
      );
      expect(result).to.deep.include({ rotated: 1, failed: [] });
      expect(
        (
          await rotateAllSecrets(
            { store, cipher: createSecretCipher([KEY_B, KEY_A]), log: log.logger, runtime },
            context,
          )
        ).rotated,
      ).to.equal(0);
      await rebuildProjection({ db, store, projection: secretsProjection });
      const rows = await secretRows(db.knex);
      expect(rows.map((r) => [r.name, r.key_fingerprint])).to.deep.equal([['openai', keyFingerprint(KEY_B)]]);
      expect(new Fernet(KEY_B).decryptToString(rows[0]!.ciphertext)).to.equal(value);
      for (const text of [JSON.stringify(await store.readAll()), JSON.stringify(rows), await log.output()])
        expect(text).not.to.contain(value);
    } finally {
      await store.close();
      await db.close();
    }
  });
});
