import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { chatIdFor } from '#application/messaging/ids.js';
import { expireMessageContent } from '#application/privacy/privacy.js';
import type { EventStore, NewEvent } from '#application/shared/eventStore.js';
import { createPostgresEventStore } from '#infrastructure/eventstore/postgres.js';
import { Fernet } from '#infrastructure/secrets/fernet.js';
import { systemRuntime } from '#infrastructure/shared/runtime.js';
import { openPostgresDatabase, type Database } from '#infrastructure/sql/database.js';
import { ADMIN_PASSWORD, createTestSchema, loginAs, request, startTestApp, type TestApp } from '../../support/app.js';
import { runCliIn } from '../../support/cli.js';
import { waitFor } from '../../support/events.js';
import { containsAny, dumpSchema } from '../../support/privacy.js';

// Events appended before crypto-shredding existed hold their personal fields in clear. Three contacts of
// the simulator number, each with such legacy events: CARL is forgotten before `encrypt-legacy` runs, ANA
// after it, BRUNO never.
const ANA = '34631111111';
const ANA_STRINGS = [ANA, 'Ana Antigua', 'ANA-LEGACY-INBOUND', 'ANA-LEGACY-OUTBOUND'];
const CARL = '34633333333';
const CARL_STRINGS = [CARL, 'Carl Antiguo', 'CARL-LEGACY-INBOUND'];
const BRUNO = '34632222222';
const BRUNO_STRINGS = [BRUNO, 'Bruno Antiguo', 'BRUNO-LEGACY-INBOUND'];
// a text of BRUNO's from before the retention window: expired, though BRUNO is not forgotten
const ANCIENT = 'BRUNO-ANCIENT-TEXT';
const ANA_CHAT = chatIdFor('simulator', ANA);
const CARL_CHAT = chatIdFor('simulator', CARL);
const BRUNO_CHAT = chatIdFor('simulator', BRUNO);

const metadata = (correlationId: string, occurredAt: string): NewEvent['metadata'] => ({
  correlationId,
  causationId: null,
  actor: 'system',
  ip: null,
  userAgent: null,
  occurredAt,
  schemaVersion: 1,
});

/** What the app appended for an inbound message before crypto-shredding: the same event, in clear. */
const legacyInbound = async (
  store: EventStore,
  contact: string,
  name: string,
  text: string,
  correlationId: string,
  occurredAt: string,
): Promise<string> => {
  const id = randomUUID();
  const chatId = chatIdFor('simulator', contact);
  await store.append(`chat-${chatId}`, [
    {
      id,
      type: 'MessageReceived',
      data: {
        messageId: randomUUID(),
        numberId: 'simulator',
        chatId,
        contact,
        contactName: name,
        providerMessageId: `legacy-${id}`,
        kind: 'text',
        text,
        sentAt: occurredAt,
      },
      metadata: metadata(correlationId, occurredAt),
    },
  ]);
  return id;
};

describe('personal data appended before crypto-shredding (chatbot contacts encrypt-legacy), PostgreSQL', function () {
  this.timeout(180_000);
  const fernetKey = Fernet.generateKey();
  let schema: Awaited<ReturnType<typeof createTestSchema>>;
  let t: TestApp;
  let token: string;
  let cwd: string;
  let raw: Database;
  let rawStore: EventStore;
  let anaInboundId: string;
  let carlInboundId: string;
  let ancientId: string;
  const anaCorrelationId = randomUUID();
  const env = () => ({
    NODE_ENV: 'test',
    DATABASE_URL: schema.url,
    FERNET_KEYS: fernetKey,
    JWT_SECRET: 'test-secret-that-is-long-enough-for-hs256-0123456789',
    ADMIN_PASSWORD,
    LOG_LEVEL: 'error',
  });
  const cli = (...argv: string[]) => runCliIn({ env: env(), cwd }, argv);
  const get = async (path: string) => {
    const response = await request(t.baseUrl, 'GET', path, { token });
    expect(response.status, `${path}: ${JSON.stringify(response.body)}`).to.equal(200);
    return typeof response.body === 'string' ? response.body : JSON.stringify(response.body);
  };
  const forget = async (contact: string) => {
    const response = await request(t.baseUrl, 'POST', `/api/contacts/${contact}/forget`, { token });
    expect(response.status, JSON.stringify(response.body)).to.equal(200);
  };

  before(async () => {
    cwd = await mkdtemp(join(tmpdir(), 'chatbot-legacy-'));
    schema = await createTestSchema();
    t = await startTestApp({ databaseUrl: schema.url, env: { FERNET_KEYS: fernetKey } });
    token = (await loginAs(t.baseUrl, 'admin', ADMIN_PASSWORD)).access;
    // the raw store, without the decorator: what the app was before crypto-shredding
    raw = openPostgresDatabase(schema.url);
    rawStore = await createPostgresEventStore({ executor: raw.executor });
    const yesterday = new Date(Date.now() - 86_400_000).toISOString();
    anaInboundId = await legacyInbound(rawStore, ANA, 'Ana Antigua', 'ANA-LEGACY-INBOUND', anaCorrelationId, yesterday);
    const messageId = randomUUID();
    await rawStore.append(`message-${messageId}`, [
      {
        id: randomUUID(),
        type: 'MessageQueued',
        data: {
          messageId,
          numberId: 'simulator',
          chatId: ANA_CHAT,
          to: ANA,
          text: 'ANA-LEGACY-OUTBOUND',
          template: null,
          source: 'api',
          idempotencyKey: null,
          inReplyTo: null,
          by: 'system',
        },
        metadata: metadata(anaCorrelationId, yesterday),
      },
    ]);
    carlInboundId = await legacyInbound(rawStore, CARL, 'Carl Antiguo', 'CARL-LEGACY-INBOUND', randomUUID(), yesterday);
    await legacyInbound(rawStore, BRUNO, 'Bruno Antiguo', 'BRUNO-LEGACY-INBOUND', randomUUID(), yesterday);
    const longAgo = new Date(Date.now() - 400 * 86_400_000).toISOString();
    ancientId = await legacyInbound(rawStore, BRUNO, 'Bruno Antiguo', ANCIENT, randomUUID(), longAgo);
    await waitFor(
      async () => {
        const chats = await request(t.baseUrl, 'GET', '/api/chats', { token });
        const ids = (chats.body.chats as { chatId: string }[]).map((c) => c.chatId);
        return [ANA_CHAT, BRUNO_CHAT, CARL_CHAT].every((id) => ids.includes(id));
      },
      20_000,
      'the legacy chats in the read model',
    );
  });

  let appClosed = false;
  after(async () => {
    if (!appClosed) await t?.close();
    await rawStore?.close();
    await raw?.close();
    await schema?.drop();
    await rm(cwd, { recursive: true, force: true });
  });

  it('before encrypt-legacy: the legacy plaintext of a forgotten contact, and of an expired day, already reads [erased] (still in the table)', async () => {
    const before = await get(`/api/events/${carlInboundId}`);
    expect(containsAny(before, CARL_STRINGS)).to.have.members(CARL_STRINGS);
    await forget(CARL);
    const carl = JSON.parse(await get(`/api/events/${carlInboundId}`)) as { data: Record<string, unknown> };
    expect(carl.data).to.include({ contact: '[erased]', contactName: '[erased]', text: '[erased]', chatId: CARL_CHAT });
    expect(containsAny(await get('/api/events?format=ndjson'), CARL_STRINGS)).to.deep.equal([]);

    const expired = await expireMessageContent(
      { store: t.app.infra.store, keys: t.app.infra.contactKeys, runtime: systemRuntime },
      300,
      { correlationId: randomUUID(), actor: 'system', userAgent: null, ip: null },
    );
    expect(expired.before).to.match(/^\d{4}-\d{2}-\d{2}$/);
    const ancient = JSON.parse(await get(`/api/events/${ancientId}`)) as { data: Record<string, unknown> };
    expect(ancient.data).to.include({ text: '[erased]', contact: BRUNO, contactName: 'Bruno Antiguo' });

    // the cut-off moved (no key was destroyed): recorded, so the live read models erase their copy too
    await waitFor(
      async () => {
        const messages = await request(t.baseUrl, 'GET', `/api/chats/${BRUNO_CHAT}/messages?limit=100`, { token });
        const body = JSON.stringify(messages.body);
        return body.includes('BRUNO-LEGACY-INBOUND') && !body.includes(ANCIENT);
      },
      20_000,
      'the expired legacy text erased from the live read model',
    );
    // the plaintext is still stored: that is what encrypt-legacy is for
    const dump = await dumpSchema(schema.schema);
    expect(containsAny(dump.es_events!, [...CARL_STRINGS, ANCIENT])).to.have.members([...CARL_STRINGS, ANCIENT]);
  });

  it('encrypt-legacy rewrites them in place: nothing in clear in the events table, live contacts read back unchanged, the forgotten one as [erased]', async () => {
    // as if CARL had been forgotten before forgotten_chats existed: the run records the tombstone again
    await raw.knex('forgotten_chats').where({ chat_id: CARL_CHAT }).delete();
    const run = await cli('contacts', 'encrypt-legacy', '--json');
    expect(run.code, run.err).to.equal(0);
    const counts = JSON.parse(run.out) as Record<string, number>;
    // ANA: inbound (contact, name, text) + outbound (to, text); BRUNO: 3, and contact + name of the ancient
    // one; shredded: CARL's 3 (already forgotten) and the ancient text (past the retention cut-off)
    expect(counts).to.include({
      eventsRewritten: 5,
      fieldsEncrypted: 10,
      fieldsShredded: 4,
      eventsChangedMeanwhile: 0,
      keysDestroyedAgain: 0,
    });
    expect(counts.eventsScanned).to.be.at.least(4);

    expect(await raw.knex('forgotten_chats').where({ chat_id: CARL_CHAT }).first()).to.not.equal(undefined);
    const dump = await dumpSchema(schema.schema);
    expect(containsAny(dump.es_events!, [...ANA_STRINGS, ...BRUNO_STRINGS, ...CARL_STRINGS, ANCIENT])).to.deep.equal(
      [],
    );

    const all = await get('/api/events?limit=500');
    expect(containsAny(all, ANA_STRINGS)).to.have.members(ANA_STRINGS);
    expect(containsAny(all, BRUNO_STRINGS)).to.have.members(BRUNO_STRINGS);
    expect(containsAny(all, CARL_STRINGS)).to.deep.equal([]);
    const carl = JSON.parse(await get(`/api/events/${carlInboundId}`)) as { data: Record<string, unknown> };
    expect(carl.data).to.include({ contact: '[erased]', contactName: '[erased]', text: '[erased]' });

    // recorded and audited, with its counts
    let audit: { details: Record<string, unknown> } | undefined;
    await waitFor(
      async () => {
        const list = await request(t.baseUrl, 'GET', '/api/audit?action=events.legacy_encrypted', { token });
        [audit] = list.body.entries as { details: Record<string, unknown> }[];
        return audit !== undefined;
      },
      20_000,
      'the audit entry of the run',
    );
    expect(audit!.details).to.include({ eventsRewritten: 5, fieldsEncrypted: 10, fieldsShredded: 4 });

    // a second run finds nothing left to do
    const again = await cli('contacts', 'encrypt-legacy', '--json');
    expect(again.code, again.err).to.equal(0);
    expect(JSON.parse(again.out)).to.include({ eventsRewritten: 0, fieldsEncrypted: 0, fieldsShredded: 0 });
  });

  it('forgetting a contact after it: its legacy events read [erased] in every events API', async () => {
    await forget(ANA);
    const views = {
      list: await get('/api/events?limit=500'),
      one: await get(`/api/events/${anaInboundId}`),
      stream: await get(`/api/streams/chat-${ANA_CHAT}`),
      chain: await get(`/api/events/chain/${anaCorrelationId}`),
      ndjson: await get('/api/events?format=ndjson'),
    };
    for (const [name, body] of Object.entries(views)) {
      expect(containsAny(body, [...ANA_STRINGS, ...CARL_STRINGS]), name).to.deep.equal([]);
      expect(body, name).to.include('[erased]');
    }
    expect(containsAny(views.ndjson, BRUNO_STRINGS)).to.have.members(BRUNO_STRINGS);
  });

  it('CLI show/export read [erased]; a rebuild of every read model holds no legacy trace; the audit chain verifies', async () => {
    await t.app.close();
    appClosed = true;
    const show = await cli('events', 'show', anaInboundId);
    expect(show.code, show.err).to.equal(0);
    expect(containsAny(show.out, ANA_STRINGS)).to.deep.equal([]);
    const exported = await cli('events', 'export');
    expect(exported.code, exported.err).to.equal(0);
    expect(containsAny(exported.out, [...ANA_STRINGS, ...CARL_STRINGS, ANCIENT])).to.deep.equal([]);
    expect(containsAny(exported.out, BRUNO_STRINGS)).to.have.members(BRUNO_STRINGS);

    const rebuilt = await cli('projections', 'rebuild', '--all');
    expect(rebuilt.code, rebuilt.err).to.equal(0);
    const dump = await dumpSchema(schema.schema);
    for (const [table, rows] of Object.entries(dump))
      expect(containsAny(rows, [...ANA_STRINGS, ...CARL_STRINGS, ANCIENT]), table).to.deep.equal([]);
    expect(containsAny(dump.chats! + dump.chat_messages!, BRUNO_STRINGS)).to.have.members(BRUNO_STRINGS);

    const verified = await cli('audit', 'verify');
    expect(verified.code, verified.err).to.equal(0);
    expect(verified.out).to.include('audit trail OK');
  });
});
