import { expect } from 'chai';
import { proto } from 'baileys';
import { pgWebAuthStore, rotateWebAuthState } from '#infrastructure/channels/web/authState.js';
import { loadConfig } from '#infrastructure/config/config.js';
import { Fernet } from '#infrastructure/secrets/fernet.js';
import { createSecretCipher, keyFingerprint } from '#infrastructure/secrets/secretCipher.js';
import { openInfrastructure, type Infrastructure } from '#interfaces/process/infrastructure.js';
import { migrateLatest } from '#infrastructure/sql/migrate.js';
import { createTestSchema } from '../../support/app.js';
import { runCliIn } from '../../support/cli.js';

const KEY_OLD = Fernet.generateKey();
const KEY_NEW = Fernet.generateKey();
const KEY_LOST = Fernet.generateKey();
const clock = () => new Date();

describe('WhatsApp Web session store (PostgreSQL, Fernet)', function () {
  this.timeout(60_000);
  let schema: Awaited<ReturnType<typeof createTestSchema>>;
  let infra: Infrastructure;
  const env = () => ({
    NODE_ENV: 'test',
    JWT_SECRET: 'x'.repeat(48),
    ADMIN_PASSWORD: 'correct-horse-battery',
    DATABASE_URL: schema.url,
    PATH: process.env.PATH,
  });
  before(async () => {
    schema = await createTestSchema();
    infra = await openInfrastructure(loadConfig(env()));
    await migrateLatest(infra.db);
  });
  after(async () => {
    await infra?.close();
    await schema?.drop();
  });

  it('keeps creds and every signal key family, Buffers and protos intact, each row encrypted; null deletes', async () => {
    const store = pgWebAuthStore(infra.db.knex, createSecretCipher([KEY_OLD]), 'n1', clock);
    const first = await store.load();
    expect(first.resumed).to.equal(false);
    expect(await store.isPaired()).to.equal(false);
    first.state.creds.me = { id: '34600000001:7@s.whatsapp.net', name: 'Tienda' };
    await first.saveCreds();
    const session = Buffer.from('session-bytes-\u0001\u0002');
    await first.state.keys.set({
      'pre-key': {
        '1': { public: Buffer.alloc(32, 1), private: Buffer.alloc(32, 2) },
        '2': { public: Buffer.alloc(32, 3), private: Buffer.alloc(32, 4) },
      },
      session: { '34600000042.0': session },
      'app-state-sync-key': {
        AAAA: proto.Message.AppStateSyncKeyData.fromObject({ keyData: Buffer.alloc(32, 5), timestamp: 1 }),
      },
      'device-list': { '34600000001': ['0', '7'] },
      'lid-mapping': { '34600000042': '160000000000042' },
    });
    await first.state.keys.set({ 'pre-key': { '2': null } });

    const again = await store.load();
    expect(again.resumed).to.equal(true);
    expect(again.state.creds.me?.id).to.equal('34600000001:7@s.whatsapp.net');
    expect(
      Buffer.from(again.state.creds.noiseKey.private).equals(Buffer.from(first.state.creds.noiseKey.private)),
    ).to.equal(true);
    const preKeys = await again.state.keys.get('pre-key', ['1', '2', '3']);
    expect(Object.keys(preKeys)).to.deep.equal(['1']);
    expect(Buffer.from(preKeys['1']!.private).equals(Buffer.alloc(32, 2))).to.equal(true);
    expect(
      Buffer.from((await again.state.keys.get('session', ['34600000042.0']))['34600000042.0']!).equals(session),
    ).to.equal(true);
    const appKey = (await again.state.keys.get('app-state-sync-key', ['AAAA'])).AAAA!;
    // revived as the proto message class (baileys reads fields and calls its methods), not a plain object
    expect(appKey.constructor.name).to.equal('AppStateSyncKeyData');
    expect(Buffer.from(appKey.keyData!).equals(Buffer.alloc(32, 5))).to.equal(true);
    expect(await again.state.keys.get('device-list', ['34600000001'])).to.deep.equal({ '34600000001': ['0', '7'] });
    expect(await store.isPaired()).to.equal(true);

    const rows = await infra.db.knex('whatsapp_auth').where({ number_id: 'n1' }).select('*');
    expect(rows).to.have.length(6); // creds, 1 pre-key, session, app-state key, device list, lid mapping
    for (const row of rows) {
      expect(row.ciphertext).to.match(/^gAAAAA/);
      expect(row.key_fingerprint).to.equal(keyFingerprint(KEY_OLD));
    }
    const raw = JSON.stringify(rows);
    for (const plain of ['34600000001', '34600000042', '160000000000042', 'Tienda', 'session-bytes'])
      expect(raw).not.to.include(plain);
  });

  it('writes one key batch in one transaction: a batch PostgreSQL refuses midway leaves nothing of it', async () => {
    const store = pgWebAuthStore(infra.db.knex, createSecretCipher([KEY_OLD]), 'n2', clock);
    const { state } = await store.load();
    // a real constraint violation in the middle of the batch (rows past the first 500 of an upsert chunk)
    await infra.db.knex.raw(
      `create function refuse_poison() returns trigger language plpgsql as $$ begin if new.category = 'sender-key' then raise exception 'poison'; end if; return new; end $$`,
    );
    await infra.db.knex.raw(
      `create trigger refuse_poison before insert on whatsapp_auth for each row execute function refuse_poison()`,
    );
    try {
      const batch = Object.fromEntries(
        Array.from({ length: 600 }, (_, i) => [
          String(i + 10),
          { public: Buffer.alloc(32, 1), private: Buffer.alloc(32, 1) },
        ]),
      );
      let refused: unknown = null;
      try {
        await state.keys.set({ 'pre-key': batch, 'sender-key': { g: Buffer.from('x') } });
      } catch (error) {
        refused = error;
      }
      expect(String(refused)).to.include('poison');
      expect((await infra.db.knex('whatsapp_auth').where({ number_id: 'n2', category: 'pre-key' })).length).to.equal(0);
    } finally {
      await infra.db.knex.raw('drop trigger refuse_poison on whatsapp_auth');
      await infra.db.knex.raw('drop function refuse_poison()');
    }
    await state.keys.set({ 'pre-key': { '1': { public: Buffer.alloc(32, 1), private: Buffer.alloc(32, 1) } } });
    expect((await infra.db.knex('whatsapp_auth').where({ number_id: 'n2', category: 'pre-key' })).length).to.equal(1);
  });

  it('clear forgets the whole session (logged out: the next load pairs anew)', async () => {
    const store = pgWebAuthStore(infra.db.knex, createSecretCipher([KEY_OLD]), 'n3', clock);
    const { state, saveCreds } = await store.load();
    state.creds.me = { id: '34600000001:7@s.whatsapp.net' };
    await saveCreds();
    await state.keys.set({ session: { a: Buffer.from('s') } });
    await store.clear();
    expect(await infra.db.knex('whatsapp_auth').where({ number_id: 'n3' })).to.have.length(0);
    const fresh = await store.load();
    expect(fresh.resumed).to.equal(false);
    expect(fresh.state.creds.me).to.equal(undefined);
  });

  it('`chatbot secrets rotate` re-encrypts every session row under the newest key; the session still loads with the new key alone', async () => {
    const cli = await runCliIn({ env: { ...env(), FERNET_KEYS: `${KEY_NEW},${KEY_OLD}` }, cwd: process.cwd() }, [
      'secrets',
      'rotate',
    ]);
    expect(cli.code, cli.err).to.equal(0);
    const total = Number((await infra.db.knex('whatsapp_auth').count<{ n: string }[]>({ n: '*' }))[0]!.n);
    expect(cli.err).to.include(`WhatsApp Web session keys: ${total} checked: ${total} re-encrypted, 0 already under`);
    const rows = await infra.db.knex('whatsapp_auth').select('key_fingerprint');
    expect(new Set(rows.map((r) => r.key_fingerprint))).to.deep.equal(new Set([keyFingerprint(KEY_NEW)]));
    const reloaded = await pgWebAuthStore(infra.db.knex, createSecretCipher([KEY_NEW]), 'n1', clock).load();
    expect(reloaded.state.creds.me?.id).to.equal('34600000001:7@s.whatsapp.net');
    expect(Object.keys(await reloaded.state.keys.get('pre-key', ['1']))).to.deep.equal(['1']);
    // run again: nothing left to do
    const second = await rotateWebAuthState(infra.db.knex, createSecretCipher([KEY_NEW, KEY_OLD]));
    expect(second).to.deep.equal({ checked: total, rotated: 0, current: total, failed: 0 });
  });

  it('rows under a key that left FERNET_KEYS are reported as failed and left as they are', async () => {
    const lost = pgWebAuthStore(infra.db.knex, createSecretCipher([KEY_LOST]), 'n4', clock);
    await lost.load();
    const result = await rotateWebAuthState(infra.db.knex, createSecretCipher([KEY_NEW, KEY_OLD]));
    expect(result.failed).to.equal(1);
    expect(result.rotated).to.equal(0);
    const cli = await runCliIn({ env: { ...env(), FERNET_KEYS: `${KEY_NEW},${KEY_OLD}` }, cwd: process.cwd() }, [
      'secrets',
      'rotate',
    ]);
    expect(cli.code).to.not.equal(0);
    expect(cli.err).to.include('1 WhatsApp Web session key could not be decrypted');
  });
});
