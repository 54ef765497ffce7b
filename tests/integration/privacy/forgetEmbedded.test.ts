import { expect } from 'chai';
import { chatIdFor } from '#application/messaging/ids.js';
import { Fernet } from '#infrastructure/secrets/fernet.js';
import { ADMIN_PASSWORD, loginAs, request, startTestApp, type TestApp } from '../../support/app.js';
import { waitFor } from '../../support/events.js';

const CONTACT = '34644444444';
const SECRETS = [CONTACT, 'Dora Embebida', 'DORA-PGLITE-TEXT'];
const CHAT = chatIdFor('simulator', CONTACT);

describe('forgetting a contact on the embedded wiring (PGlite)', function () {
  this.timeout(180_000);
  let t: TestApp;
  let token: string;

  before(async () => {
    t = await startTestApp({ embedded: true, env: { FERNET_KEYS: Fernet.generateKey() } });
    token = (await loginAs(t.baseUrl, 'admin', ADMIN_PASSWORD)).access;
  });
  after(async () => {
    await t?.close();
  });

  it('encrypts in the PGlite events table, reads back, and after forget reads [erased] and drops the chat', async () => {
    const sent = await request(t.baseUrl, 'POST', '/api/simulator/messages', {
      token,
      body: { from: CONTACT, name: 'Dora Embebida', text: 'DORA-PGLITE-TEXT' },
    });
    expect(sent.status).to.equal(202);
    await waitFor(
      async () => {
        const chats = await request(t.baseUrl, 'GET', '/api/chats', { token });
        return (chats.body.chats as { chatId: string }[]).some((c) => c.chatId === CHAT);
      },
      30_000,
      'the chat in the read model',
    );
    const raw = await t.app.infra.db.knex.raw<{ rows: { data: string }[] }>(
      `select data::text as data from es_events where type = 'MessageReceived'`,
    );
    const stored = raw.rows.map((r) => r.data).join('\n');
    expect(stored).to.include('"$enc"');
    expect(SECRETS.filter((s) => stored.includes(s))).to.deep.equal([]);
    const before = await request(t.baseUrl, 'GET', `/api/streams/chat-${CHAT}`, { token });
    expect(SECRETS.filter((s) => JSON.stringify(before.body).includes(s))).to.have.members(SECRETS);

    const forgot = await request(t.baseUrl, 'POST', `/api/contacts/${CONTACT}/forget`, {
      token,
      body: { numberId: 'simulator' },
    });
    expect(forgot.status, JSON.stringify(forgot.body)).to.equal(200);
    expect(forgot.body.forgotten).to.deep.equal([{ chatId: CHAT, numberId: 'simulator', keysDestroyed: 2 }]);
    const after = await request(t.baseUrl, 'GET', `/api/streams/chat-${CHAT}`, { token });
    expect(SECRETS.filter((s) => JSON.stringify(after.body).includes(s))).to.deep.equal([]);
    expect(JSON.stringify(after.body)).to.include('[erased]');
    await waitFor(
      async () => {
        const chats = await request(t.baseUrl, 'GET', '/api/chats', { token });
        return !(chats.body.chats as { chatId: string }[]).some((c) => c.chatId === CHAT);
      },
      30_000,
      'the chat dropped from the read model',
    );
    const messages = await t.app.infra.db.knex('chat_messages').where({ chat_id: CHAT }).count<{ count: string }[]>();
    expect(Number(messages[0]!.count)).to.equal(0);
  });
});
