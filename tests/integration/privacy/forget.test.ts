import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { chatIdFor } from '#application/messaging/ids.js';
import { Fernet } from '#infrastructure/secrets/fernet.js';
import { ADMIN_PASSWORD, createTestSchema, loginAs, request, startTestApp, type TestApp } from '../../support/app.js';
import { runCliIn } from '../../support/cli.js';
import { waitFor } from '../../support/events.js';
import { containsAny, dumpSchema } from '../../support/privacy.js';

// Two contacts of the simulator number; everything personal of ANA must vanish, BRUNO's must stay.
const ANA = '34611111111';
const ANA_STRINGS = [ANA, 'Ana Olvidada', 'ANA-SECRET-INBOUND', 'ANA-SECRET-OUTBOUND', 'ANA-SECRET-SCHEDULED'];
const BRUNO = '34622222222';
const BRUNO_STRINGS = [BRUNO, 'Bruno Sigue', 'BRUNO-KEEP-INBOUND'];
const ANA_CHAT = chatIdFor('simulator', ANA);
const BRUNO_CHAT = chatIdFor('simulator', BRUNO);

describe('forgetting a contact (crypto-shredding), PostgreSQL', function () {
  this.timeout(120_000);
  const fernetKey = Fernet.generateKey();
  let schema: Awaited<ReturnType<typeof createTestSchema>>;
  let t: TestApp;
  let token: string;
  let cwd: string;
  let anaInboundId: string;
  let anaCorrelationId: string;
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

  before(async () => {
    cwd = await mkdtemp(join(tmpdir(), 'chatbot-forget-'));
    schema = await createTestSchema();
    t = await startTestApp({ databaseUrl: schema.url, env: { FERNET_KEYS: fernetKey } });
    token = (await loginAs(t.baseUrl, 'admin', ADMIN_PASSWORD)).access;
    const inbound = async (from: string, name: string, text: string) => {
      const response = await request(t.baseUrl, 'POST', '/api/simulator/messages', {
        token,
        body: { from, name, text },
      });
      expect(response.status, JSON.stringify(response.body)).to.equal(202);
      return response;
    };
    const ana = await inbound(ANA, 'Ana Olvidada', 'ANA-SECRET-INBOUND');
    anaCorrelationId = ana.headers.get('x-correlation-id')!;
    await inbound(BRUNO, 'Bruno Sigue', 'BRUNO-KEEP-INBOUND');
    const sent = await request(t.baseUrl, 'POST', '/api/whatsapp/send', {
      token,
      body: { to: `+${ANA}`, text: 'ANA-SECRET-OUTBOUND', number: 'simulator' },
    });
    expect(sent.status, JSON.stringify(sent.body)).to.equal(202);
    const scheduled = await request(t.baseUrl, 'POST', '/api/scheduled-messages', {
      token,
      body: {
        to: ANA,
        text: 'ANA-SECRET-SCHEDULED',
        at: new Date(Date.now() + 86_400_000).toISOString(),
        number: 'simulator',
      },
    });
    expect(scheduled.status, JSON.stringify(scheduled.body)).to.be.within(200, 299);
    await waitFor(
      async () => {
        const chats = await request(t.baseUrl, 'GET', '/api/chats', { token });
        const ids = (chats.body.chats as { chatId: string }[]).map((c) => c.chatId);
        return ids.includes(ANA_CHAT) && ids.includes(BRUNO_CHAT);
      },
      20_000,
      'both chats in the read model',
    );
    const stream = JSON.parse(await get(`/api/streams/chat-${ANA_CHAT}`)) as { events: { id: string; type: string }[] };
    anaInboundId = stream.events.find((e) => e.type === 'MessageReceived')!.id;
  });

  let appClosed = false;
  after(async () => {
    if (!appClosed) await t?.close();
    await schema?.drop();
    await rm(cwd, { recursive: true, force: true });
  });

  it('stores no phone number, name or text in clear in the events table, and reads them back decrypted', async () => {
    const dump = await dumpSchema(schema.schema);
    const events = Object.entries(dump).find(
      ([table]) => /event/.test(table) && dump[table]!.includes('MessageReceived'),
    );
    expect(events, 'the events table').to.not.equal(undefined);
    expect(containsAny(events![1], [...ANA_STRINGS, ...BRUNO_STRINGS])).to.deep.equal([]);
    expect(events![1]).to.include('"$enc"');
    // the keys table holds wrapped keys and chat ids only
    expect(containsAny(dump.contact_keys!, [...ANA_STRINGS, ...BRUNO_STRINGS])).to.deep.equal([]);
    const all = await get('/api/events?limit=200');
    expect(containsAny(all, ANA_STRINGS)).to.have.members(ANA_STRINGS);
    expect(containsAny(all, BRUNO_STRINGS)).to.have.members(BRUNO_STRINGS);
  });

  it('refuses bad input with a 4xx and appends nothing; only an admin may forget', async () => {
    const head = JSON.parse(await get('/api/events?limit=1&direction=backwards')) as { events: { position: number }[] };
    const bad = await request(t.baseUrl, 'POST', '/api/contacts/not-a-phone/forget', { token });
    expect(bad.status).to.equal(400);
    expect(bad.body.error.code).to.equal('invalid_recipient');
    const unknown = await request(t.baseUrl, 'POST', `/api/contacts/${ANA}/forget`, {
      token,
      body: { numberId: 'nope' },
    });
    expect(unknown.status).to.equal(404);
    const extra = await request(t.baseUrl, 'POST', `/api/contacts/${ANA}/forget`, { token, body: { what: 1 } });
    expect(extra.status).to.equal(400);
    const malformed = await request(t.baseUrl, 'POST', `/api/contacts/${ANA}/forget`, {
      token,
      rawBody: '{"numberId":',
    });
    expect(malformed.status).to.equal(400);
    const anonymous = await request(t.baseUrl, 'POST', `/api/contacts/${ANA}/forget`);
    expect(anonymous.status).to.equal(401);
    const after = JSON.parse(await get('/api/events?limit=1&direction=backwards')) as {
      events: { position: number }[];
    };
    expect(after.events[0]!.position).to.equal(head.events[0]!.position);
  });

  it('after forget, the contact reads as [erased] in every events API, and the other contact does not', async () => {
    const forgot = await request(t.baseUrl, 'POST', `/api/contacts/${encodeURIComponent(`+${ANA}`)}/forget`, {
      token,
    });
    expect(forgot.status, JSON.stringify(forgot.body)).to.equal(200);
    expect(forgot.body.forgotten).to.have.length(1);
    expect(forgot.body.forgotten[0]).to.include({ chatId: ANA_CHAT, numberId: 'simulator' });
    // identity key + content keys of today and of the scheduled message's day
    expect(forgot.body.forgotten[0].keysDestroyed).to.equal(3);
    expect(JSON.stringify(forgot.body)).to.not.include(ANA);

    const views = {
      list: await get('/api/events?limit=500'),
      one: await get(`/api/events/${anaInboundId}`),
      stream: await get(`/api/streams/chat-${ANA_CHAT}`),
      chain: await get(`/api/events/chain/${anaCorrelationId}`),
      ndjson: await get('/api/events?format=ndjson'),
    };
    for (const [name, body] of Object.entries(views)) {
      expect(containsAny(body, ANA_STRINGS), name).to.deep.equal([]);
      expect(body, name).to.include('[erased]');
    }
    const one = JSON.parse(views.one) as { data: Record<string, unknown> };
    expect(one.data).to.include({ contact: '[erased]', contactName: '[erased]', text: '[erased]', chatId: ANA_CHAT });
    expect(containsAny(views.list, BRUNO_STRINGS)).to.have.members(BRUNO_STRINGS);
    expect(containsAny(views.ndjson, BRUNO_STRINGS)).to.have.members(BRUNO_STRINGS);
    // the request log wrote the route, not the phone number
    expect(t.rawLogs()).to.not.include(ANA);
  });

  it('the live read models drop the contact; the audit trail names the chat and who forgot it', async () => {
    await waitFor(
      async () => {
        const chats = await request(t.baseUrl, 'GET', '/api/chats', { token });
        return !(chats.body.chats as { chatId: string }[]).some((c) => c.chatId === ANA_CHAT);
      },
      20_000,
      'the chat gone from the read model',
    );
    await waitFor(
      async () => {
        const list = await request(t.baseUrl, 'GET', '/api/scheduled-messages', { token });
        return list.status === 200 && !JSON.stringify(list.body).includes(ANA_CHAT);
      },
      20_000,
      'the pending schedule gone (it never fires)',
    );
    const messages = await request(t.baseUrl, 'GET', `/api/chats/${BRUNO_CHAT}/messages`, { token });
    expect(JSON.stringify(messages.body)).to.include('BRUNO-KEEP-INBOUND');
    await waitFor(
      async () => {
        const audit = await request(t.baseUrl, 'GET', '/api/audit?action=contact.forgotten', { token });
        return (audit.body.entries as unknown[]).length === 1;
      },
      20_000,
      'the audit entry',
    );
    const audit = await request(t.baseUrl, 'GET', '/api/audit?action=contact.forgotten', { token });
    const [entry] = audit.body.entries as { actor: string; target: string; details: Record<string, unknown> }[];
    expect(entry!.target).to.equal(ANA_CHAT);
    expect(entry!.actor).to.not.equal('system');
    expect(entry!.details).to.include({ numberId: 'simulator', keysDestroyed: 3 });
    expect(containsAny(JSON.stringify(audit.body), ANA_STRINGS)).to.deep.equal([]);
  });

  it('CLI events show/export read [erased]; a rebuild of every read model leaves no trace; the audit chain verifies', async () => {
    await t.app.close();
    appClosed = true;
    const show = await cli('events', 'show', anaInboundId);
    expect(show.code, show.err).to.equal(0);
    expect(containsAny(show.out, ANA_STRINGS)).to.deep.equal([]);
    expect(show.out).to.include('[erased]');
    const exported = await cli('events', 'export');
    expect(exported.code, exported.err).to.equal(0);
    expect(containsAny(exported.out, ANA_STRINGS)).to.deep.equal([]);
    expect(containsAny(exported.out, BRUNO_STRINGS)).to.have.members(BRUNO_STRINGS);

    const rebuilt = await cli('projections', 'rebuild', '--all');
    expect(rebuilt.code, rebuilt.err).to.equal(0);
    const dump = await dumpSchema(schema.schema);
    for (const [table, rows] of Object.entries(dump)) expect(containsAny(rows, ANA_STRINGS), table).to.deep.equal([]);
    expect(dump.chats).to.not.include(ANA_CHAT);
    expect(dump.chat_messages).to.not.include(ANA_CHAT);
    expect(containsAny(dump.chats! + dump.chat_messages!, BRUNO_STRINGS)).to.have.members(BRUNO_STRINGS);

    const verified = await cli('audit', 'verify');
    expect(verified.code, verified.err).to.equal(0);
    expect(verified.out).to.include('audit trail OK');
  });

  it('chatbot contacts forget: the CLI forgets a contact on one number (unknown number: exit 1, nothing appended)', async () => {
    const unknown = await cli('contacts', 'forget', BRUNO, '--number', 'nope');
    expect(unknown.code).to.equal(1);
    expect(unknown.err).to.include('number nope does not exist');
    const forgot = await cli('contacts', 'forget', BRUNO, '--number', 'simulator', '--json');
    expect(forgot.code, forgot.err).to.equal(0);
    const body = JSON.parse(forgot.out) as { forgotten: { chatId: string; keysDestroyed: number }[] };
    expect(body.forgotten.map((c) => c.chatId)).to.deep.equal([BRUNO_CHAT]);
    expect(body.forgotten[0]!.keysDestroyed).to.equal(2);
    expect(forgot.out).to.not.include(BRUNO);
    const exported = await cli('events', 'export', '--type', 'MessageReceived,ContactForgotten');
    expect(containsAny(exported.out, [...ANA_STRINGS, ...BRUNO_STRINGS])).to.deep.equal([]);
    expect(exported.out.match(/ContactForgotten/g)).to.have.length(2);
  });
});
