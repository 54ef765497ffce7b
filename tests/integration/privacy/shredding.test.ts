import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import {
  DuplicateEventIdError,
  InvalidAppendError,
  type NewEvent,
  type RecordedEvent,
} from '#application/shared/eventStore.js';
import { Fernet } from '#infrastructure/secrets/fernet.js';
import { createContactKeys } from '#infrastructure/privacy/contactKeys.js';
import { createSecretCipher } from '#infrastructure/secrets/secretCipher.js';
import { migrateLatest } from '#infrastructure/sql/migrate.js';
import { openInfrastructure, type Infrastructure } from '#interfaces/process/infrastructure.js';
import { createTestSchema } from '../../support/app.js';
import { testMetadata, waitFor } from '../../support/events.js';

const CHAT = randomUUID();
const received = (text: string, overrides: Partial<NewEvent> = {}): NewEvent => ({
  id: randomUUID(),
  type: 'MessageReceived',
  data: {
    messageId: randomUUID(),
    numberId: 'simulator',
    chatId: CHAT,
    contact: '34600123456',
    contactName: null,
    providerMessageId: randomUUID(),
    kind: 'text',
    text,
    sentAt: '2026-11-29T10:00:00.000Z',
  },
  metadata: testMetadata({ occurredAt: '2026-11-29T10:00:00.000Z' }),
  ...overrides,
});

describe('the crypto-shredding decorator of the event store (PostgreSQL)', function () {
  this.timeout(60_000);
  let schema: Awaited<ReturnType<typeof createTestSchema>>;
  let infra: Infrastructure;
  const keyA = Fernet.generateKey();
  const keyB = Fernet.generateKey();

  before(async () => {
    schema = await createTestSchema();
    infra = await openInfrastructure({
      eventStore: { kind: 'postgres' },
      database: { kind: 'postgres', url: schema.url },
      fernetKeys: [keyA],
    });
    await migrateLatest(infra.db);
  });
  after(async () => {
    await infra?.close();
    await schema?.drop();
  });

  it('a retried append with the same ids and content is idempotent; the same id with another text is refused', async () => {
    const event = received('retry me');
    const first = await infra.store.append(`chat-${CHAT}`, [event]);
    const again = await infra.store.append(`chat-${CHAT}`, [event]);
    expect(again).to.deep.include({ idempotent: true, position: first.position });
    let refused: unknown;
    try {
      await infra.store.append(`chat-${CHAT}`, [{ ...event, data: { ...event.data, text: 'other' } }]);
    } catch (error) {
      refused = error;
    }
    expect(refused).to.be.instanceOf(DuplicateEventIdError);
  });

  it('the same text in two events is two different ciphertexts; null stays null', async () => {
    const [a, b] = [received('same words'), received('same words')];
    await infra.store.append(`chat-${CHAT}`, [a, b]);
    const raw = await infra.db.knex.raw<{ rows: { data: Record<string, { v: string }> }[] }>(
      `select data from es_events where id in (?, ?)`,
      [a.id, b.id],
    );
    expect(raw.rows).to.have.length(2);
    expect(raw.rows[0]!.data.text!.v).to.not.equal(raw.rows[1]!.data.text!.v);
    expect(raw.rows[0]!.data.contactName).to.equal(null);
    const read = await infra.store.readStream(`chat-${CHAT}`);
    const back = read.find((e) => e.id === a.id)!;
    expect(back.data).to.include({ text: 'same words', contact: '34600123456', contactName: null });
  });

  it('an event with personal data and no chatId is refused before anything is written', async () => {
    const event = received('x');
    const { chatId: _chatId, ...data } = event.data;
    let refused: unknown;
    try {
      await infra.store.append('chat-nochat', [{ ...event, data }]);
    } catch (error) {
      refused = error;
    }
    expect(refused).to.be.instanceOf(InvalidAppendError);
    expect(await infra.store.readStream('chat-nochat')).to.deep.equal([]);
  });

  it('a template reads back whole, and as {name, language: "[erased]"} once its key is gone', async () => {
    const chatId = randomUUID();
    const queued: NewEvent = {
      id: randomUUID(),
      type: 'MessageQueued',
      data: {
        messageId: randomUUID(),
        numberId: 'simulator',
        chatId,
        to: '34600999888',
        text: null,
        template: { name: 'order_ready', language: 'es', components: [{ type: 'body' }] },
        source: 'manual',
        idempotencyKey: null,
        inReplyTo: null,
        by: 'admin',
      },
      metadata: testMetadata(),
    };
    await infra.store.append(`message-${queued.data.messageId as string}`, [queued]);
    const [before] = await infra.store.readStream(`message-${queued.data.messageId as string}`);
    expect(before!.data).to.deep.include({ to: '34600999888', template: queued.data.template, text: null });
    expect(await infra.contactKeys.destroyChat(chatId)).to.equal(2);
    const [after] = await infra.store.readStream(`message-${queued.data.messageId as string}`);
    expect(after!.data).to.deep.include({
      to: '[erased]',
      text: null,
      template: { name: '[erased]', language: '[erased]' },
    });
  });

  it('a key destroyed by another process stops decrypting here too (the epoch moves), subscriptions included', async () => {
    const chatId = randomUUID();
    const event = { ...received('cross-process'), data: { ...received('cross-process').data, chatId } };
    await infra.store.append(`chat-${chatId}`, [event]);
    expect((await infra.store.readStream(`chat-${chatId}`))[0]!.data).to.include({ text: 'cross-process' });
    // "another process": its own key store on the same table
    const other = createContactKeys({ knex: infra.db.knex, cipher: createSecretCipher([keyA]) });
    expect(await other.destroyChat(chatId)).to.equal(2);
    await waitFor(
      async () => (await infra.store.readStream(`chat-${chatId}`))[0]!.data.text === '[erased]',
      5_000,
      'the cached key dropped',
    );
    const delivered: RecordedEvent[] = [];
    const subscription = infra.store.subscribeToAll({
      filter: { eventTypes: ['MessageReceived'] },
      onEvent: (e) => void delivered.push(e),
    });
    try {
      await waitFor(() => delivered.some((e) => e.id === event.id), 10_000, 'the subscription');
      expect(delivered.find((e) => e.id === event.id)!.data).to.include({ text: '[erased]', contact: '[erased]' });
      expect(delivered.some((e) => e.data.text === 'retry me')).to.equal(true);
    } finally {
      await subscription.stop();
    }
  });

  it('data keys are wrapped under FERNET_KEYS and re-wrapped under a new key; a missing key is an error, not an erasure', async () => {
    const rows = await infra.db.knex('contact_keys').select<{ key_fingerprint: string }[]>('key_fingerprint');
    const fingerprintA = createSecretCipher([keyA]).currentKeyFingerprint;
    expect(rows.length).to.be.greaterThan(0);
    expect(rows.every((r) => r.key_fingerprint === fingerprintA)).to.equal(true);
    const rotated = createContactKeys({ knex: infra.db.knex, cipher: createSecretCipher([keyB, keyA]) });
    const result = await rotated.rewrap();
    expect(result).to.deep.equal({ checked: rows.length, rewrapped: rows.length, failed: 0 });
    // a process that only knows the old key can no longer unwrap: it says so instead of erasing
    const stale = createContactKeys({ knex: infra.db.knex, cipher: createSecretCipher([keyA]) });
    const keyIds = (await infra.db.knex('contact_keys').select<{ key_id: string }[]>('key_id')).map((r) => r.key_id);
    let failure: unknown;
    try {
      await stale.load(keyIds);
    } catch (error) {
      failure = error;
    }
    expect(failure).to.have.property('code', 'data_key_unwrap_failed');
    const fresh = createContactKeys({ knex: infra.db.knex, cipher: createSecretCipher([keyB]) });
    expect((await fresh.load(keyIds)).size).to.equal(keyIds.length);
  });
});
