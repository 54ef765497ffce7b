import { expect } from 'chai';
import express from 'express';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import type { StatusUpdate } from '#application/messaging/channel.js';
import { createCloudAdapter } from '#infrastructure/channels/cloud/graphClient.js';
import { createLogger } from '#infrastructure/logging/logger.js';
import { cloudWebhookRoutes } from '#interfaces/http/channels/cloudWebhookRoutes.js';
import { startGraphServer, type GraphServer } from '../../support/graphServer.js';

const APP_SECRET = 'round-trip-app-secret';
const PHONE_NUMBER_ID = '106540352242922';

describe('Cloud API round trip: send, then the status webhooks that echo our message id', () => {
  let server: Server;
  let graph: GraphServer;
  const statuses: StatusUpdate[] = [];

  before(async () => {
    const app = express();
    app.use(
      cloudWebhookRoutes({
        verifyToken: null,
        appSecret: APP_SECRET,
        sink: {
          inbound: () => Promise.resolve(),
          status: (update) => {
            statuses.push(update);
            return Promise.resolve();
          },
        },
        resolveNumber: (id) => (id === PHONE_NUMBER_ID ? 'cloud-1' : null),
        log: createLogger({ level: 'error', service: 'test', stream: new PassThrough() }),
      }),
    );
    server = await new Promise((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    const { port } = server.address() as AddressInfo;
    graph = await startGraphServer({
      statusWebhook: {
        url: `http://127.0.0.1:${port}/webhooks/whatsapp`,
        appSecret: APP_SECRET,
        phoneNumberId: PHONE_NUMBER_ID,
      },
    });
  });
  after(async () => {
    await graph.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const adapter = () =>
    createCloudAdapter({
      graphUrl: graph.url,
      apiVersion: 'v21.0',
      credentials: () => ({ phoneNumberId: PHONE_NUMBER_ID, accessToken: 'round-trip-token' }),
      clock: () => new Date('2026-11-29T10:00:00Z'),
      timeoutMs: 2_000,
    });

  it('a sent message is followed by signed sent and delivered statuses naming our message id and the wamid', async () => {
    const outcome = await adapter().send({
      messageId: 'msg-round-trip-1',
      numberId: 'cloud-1',
      to: '34600111222',
      content: { kind: 'text', text: 'hola' },
      attempt: 1,
    });
    await graph.settleWebhooks();
    expect(graph.webhookDeliveries.map((d) => d.answer)).to.deep.equal([200, 200]);
    const mine = statuses.filter((s) => s.messageId === 'msg-round-trip-1');
    expect(mine.map((s) => [s.status, s.providerMessageId, s.numberId, s.recipient])).to.deep.equal([
      ['sent', outcome.status === 'sent' ? outcome.providerMessageId : 'not sent', 'cloud-1', '34600111222'],
      ['delivered', outcome.status === 'sent' ? outcome.providerMessageId : 'not sent', 'cloud-1', '34600111222'],
    ]);
  });

  it('a send in doubt (Meta took it, the connection dropped) is retryable, and the webhook settles it', async () => {
    graph.enqueue({ kind: 'drop', accepted: true });
    const outcome = await adapter().send({
      messageId: 'msg-in-doubt-1',
      numberId: 'cloud-1',
      to: '34600111333',
      content: { kind: 'text', text: 'hola' },
      attempt: 1,
    });
    expect(outcome).to.include({ status: 'failed', retryable: true, code: 'network' });
    await graph.settleWebhooks();
    const settled = statuses.filter((s) => s.messageId === 'msg-in-doubt-1').map((s) => s.status);
    expect(settled).to.deep.equal(['sent', 'delivered']);
    expect(graph.messageIds().filter((id) => id === 'msg-in-doubt-1')).to.have.length(1);
  });
});
