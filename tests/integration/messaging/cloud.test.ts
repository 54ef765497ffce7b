import { expect } from 'chai';
import {
  CONTACT,
  PHONE_NUMBER_ID,
  contactsOf,
  metadata,
  signedWebhook,
  webhookOf,
} from '../../support/cloudPayloads.js';
import { request, type TestApp } from '../../support/app.js';
import type { GraphServer } from '../../support/graphServer.js';
import { CLOUD_APP_SECRET, startCloudTestApp, waitForMessages } from '../../support/messaging.js';

describe('the Cloud API channel through startApp and worker-web (local Graph server)', function () {
  this.timeout(90_000);
  let t: TestApp;
  let graph: GraphServer;
  let token: string;
  let stack: Awaited<ReturnType<typeof startCloudTestApp>>;
  before(async () => {
    stack = await startCloudTestApp();
    ({ t, graph, token } = stack);
  });
  after(async () => {
    await stack?.close();
  });

  it('a signed inbound webhook is answered by the bot through the Graph API, carrying our message id', async () => {
    const payload = webhookOf({
      metadata,
      contacts: contactsOf(),
      messages: [
        {
          from: CONTACT,
          id: 'wamid.cloud-inbound-1',
          timestamp: String(Math.floor(Date.now() / 1000)),
          type: 'text',
          text: { body: 'hola' },
        },
      ],
    });
    const { body, headers } = signedWebhook(payload, CLOUD_APP_SECRET);
    const delivered = await fetch(`${t.baseUrl}/webhooks/whatsapp`, { method: 'POST', body, headers });
    expect(delivered.status).to.equal(200);
    // the same delivery again (Meta retries) appends nothing new
    const again = await fetch(`${t.baseUrl}/webhooks/whatsapp`, { method: 'POST', body, headers });
    expect(again.status).to.equal(200);
    const [sent] = await graph.waitForRequests(1);
    expect(sent!.path).to.equal(`/v21.0/${PHONE_NUMBER_ID}/messages`);
    const chats = await request(t.baseUrl, 'GET', '/api/chats?number=cloud', { token });
    const chat = chats.body.chats[0];
    expect(chat).to.include({ contact: CONTACT, numberId: 'cloud', windowOpen: true });
    const messages = await waitForMessages(t.baseUrl, token, chat.chatId, (m) => m[1]?.status === 'sent');
    expect(messages).to.have.length(2);
    expect(graph.messageIds()).to.deep.equal([messages[1].messageId]);
    // a bad signature is a 401 and appends nothing
    const before = await t.app.infra.store.headPosition();
    const forged = await fetch(`${t.baseUrl}/webhooks/whatsapp`, {
      method: 'POST',
      body,
      headers: { ...headers, 'x-hub-signature-256': `sha256=${'0'.repeat(64)}` },
    });
    expect(forged.status).to.equal(401);
    const appended = await t.app.infra.store.readAll({ after: before });
    expect(appended.filter((e) => e.type === 'MessageReceived')).to.deep.equal([]);
  });
});
