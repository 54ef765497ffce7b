import { expect } from 'chai';
import express from 'express';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import type { ChannelSink, InboundMessage, StatusUpdate } from '#application/messaging/channel.js';
import { createLogger } from '#infrastructure/logging/logger.js';
import { cloudWebhookRoutes } from '#interfaces/http/channels/cloudWebhookRoutes.js';
import { createHttpApp } from '#interfaces/http/app.js';
import {
  CONTACT,
  inboundValue,
  MESSAGES,
  PHONE_NUMBER_ID,
  statusValue,
  webhookOf,
} from '../../support/cloudPayloads.js';
import { signedWebhook } from '../../support/graphServer.js';

const APP_SECRET = 'test-app-secret-0123456789abcdef';
const VERIFY_TOKEN = 'verify-token-0123456789';
const NUMBER_ID = 'number-cloud-1';

type Harness = {
  url: string;
  inbound: InboundMessage[];
  statuses: StatusUpdate[];
  logs: () => Array<Record<string, unknown>>;
  rawLogs: () => string;
  failSink: (fail: boolean) => void;
  close: () => Promise<void>;
};

/** The router on a bare express app (or createHttpApp, whose JSON parser runs for other routes), port 0. */
const startHarness = async (via: 'bare' | 'createHttpApp' = 'bare'): Promise<Harness> => {
  const stream = new PassThrough();
  let raw = '';
  stream.on('data', (chunk: Buffer) => (raw += chunk.toString()));
  const log = createLogger({ level: 'debug', service: 'test', stream });
  const inbound: InboundMessage[] = [];
  const statuses: StatusUpdate[] = [];
  let failing = false;
  const sink: ChannelSink = {
    inbound: async (message) => {
      if (failing) throw new Error('store unavailable');
      inbound.push(message);
      await Promise.resolve();
    },
    status: async (update) => {
      if (failing) throw new Error('store unavailable');
      statuses.push(update);
      await Promise.resolve();
    },
  };
  const router = cloudWebhookRoutes({
    verifyToken: VERIFY_TOKEN,
    appSecret: APP_SECRET,
    sink,
    resolveNumber: (phoneNumberId) => (phoneNumberId === PHONE_NUMBER_ID ? NUMBER_ID : null),
    log,
    bodyLimit: '64kb',
  });
  let app: express.Express;
  if (via === 'bare') {
    app = express();
    app.use(router);
  } else {
    app = createHttpApp({ logger: log, corsOrigins: [], bodyLimit: '100kb', routers: [], rawBodyRouters: [router] });
  }
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/webhooks/whatsapp`,
    inbound,
    statuses,
    rawLogs: () => raw,
    logs: () =>
      raw
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line) as Record<string, unknown>),
    failSink: (fail) => {
      failing = fail;
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
};

const post = (url: string, body: string, headers: Record<string, string>) =>
  fetch(url, { method: 'POST', body, headers });

describe('Cloud API webhook route', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => {
    await h.close();
  });

  describe('GET verification handshake', () => {
    const query = (token: string, mode = 'subscribe') =>
      `?hub.mode=${mode}&hub.verify_token=${encodeURIComponent(token)}&hub.challenge=1158201444`;

    it('echoes hub.challenge as text/plain when the verify token matches', async () => {
      const res = await fetch(`${h.url}${query(VERIFY_TOKEN)}`);
      expect(res.status).to.equal(200);
      expect(res.headers.get('content-type')).to.match(/^text\/plain/);
      expect(res.headers.get('x-content-type-options')).to.equal('nosniff');
      expect(await res.text()).to.equal('1158201444');
    });

    it('answers 403 with the JSON error for a wrong token or mode, and logs it without the token', async () => {
      for (const q of [query('wrong-token'), query(VERIFY_TOKEN, 'unsubscribe'), '']) {
        const res = await fetch(`${h.url}${q}`);
        expect(res.status).to.equal(403);
        const body = (await res.json()) as { error: { code: string } };
        expect(body.error.code).to.equal('webhook_verification_failed');
      }
      const refusals = h.logs().filter((line) => line.message === 'SECURITY_WEBHOOK_VERIFY_REFUSED');
      expect(refusals.map((line) => line.reason)).to.deep.equal(['bad_token', 'bad_mode', 'bad_mode']);
      expect(h.rawLogs()).not.to.include('wrong-token');
    });
  });

  describe('POST deliveries', () => {
    it('hands a correctly signed inbound message to the sink with our number id, then answers 200', async () => {
      const { body, headers } = signedWebhook(webhookOf(inboundValue(MESSAGES.text)), APP_SECRET);
      const res = await post(h.url, body, headers);
      expect(res.status).to.equal(200);
      expect(await res.json()).to.deep.equal({ received: 1 });
      expect(h.inbound).to.deep.equal([
        {
          numberId: NUMBER_ID,
          providerMessageId: MESSAGES.text.id,
          from: CONTACT,
          contactName: 'Sheena Nelson',
          kind: 'text',
          text: 'Does it come in another color?',
          sentAt: '2025-06-08T20:59:43.000Z',
        },
      ]);
    });

    it('hands statuses on with the message id Meta echoes from biz_opaque_callback_data', async () => {
      const payload = webhookOf(statusValue('delivered', { bizOpaque: 'our-1' }), statusValue('failed'));
      const { body, headers } = signedWebhook(payload, APP_SECRET);
      expect((await post(h.url, body, headers)).status).to.equal(200);
      expect(h.statuses.map((s) => [s.numberId, s.status, s.messageId, s.error?.code ?? null])).to.deep.equal([
        [NUMBER_ID, 'delivered', 'our-1', null],
        [NUMBER_ID, 'failed', null, '131026'],
      ]);
    });

    it('refuses a missing signature with 401, hands nothing on and writes a security line without the body', async () => {
      const { body } = signedWebhook(webhookOf(inboundValue(MESSAGES.text)), APP_SECRET);
      const res = await post(h.url, body, { 'content-type': 'application/json' });
      expect(res.status).to.equal(401);
      expect(((await res.json()) as { error: { code: string } }).error.code).to.equal('invalid_signature');
      expect(h.inbound).to.have.length(0);
      const security = h.logs().filter((line) => line.message === 'SECURITY_WEBHOOK_SIGNATURE_INVALID');
      expect(security).to.have.length(1);
      expect(security[0]).to.include({ reason: 'missing', level: 'warn' });
      expect(h.rawLogs()).not.to.include('another color');
    });

    it('refuses a signature made with another secret, or a malformed one, with 401', async () => {
      const payload = webhookOf(inboundValue(MESSAGES.text));
      const wrong = signedWebhook(payload, 'not-the-app-secret');
      expect((await post(h.url, wrong.body, wrong.headers)).status).to.equal(401);
      const malformed = { ...wrong.headers, 'x-hub-signature-256': 'sha1=0123' };
      expect((await post(h.url, wrong.body, malformed)).status).to.equal(401);
      expect(h.inbound).to.have.length(0);
      const reasons = h
        .logs()
        .filter((line) => line.message === 'SECURITY_WEBHOOK_SIGNATURE_INVALID')
        .map((line) => line.reason);
      expect(reasons).to.deep.equal(['mismatch', 'malformed']);
    });

    it('refuses a signature computed over other bytes (the same JSON re-serialised) with 401', async () => {
      const payload = webhookOf(inboundValue(MESSAGES.text));
      const { headers } = signedWebhook(payload, APP_SECRET);
      const res = await post(h.url, JSON.stringify(payload, null, 2), headers);
      expect(res.status).to.equal(401);
      expect(h.inbound).to.have.length(0);
    });

    it('answers 400 to a correctly signed body that is not JSON, handing nothing on', async () => {
      const { body, headers } = signedWebhook('{"object":"whatsapp_business_account",', APP_SECRET);
      const res = await post(h.url, body, headers);
      expect(res.status).to.equal(400);
      expect(((await res.json()) as { error: { code: string } }).error.code).to.equal('malformed_json');
      expect(h.inbound).to.have.length(0);
    });

    it('answers 400 to signed JSON that is not a WhatsApp payload, handing on not even its valid part', async () => {
      const broken = webhookOf(inboundValue(MESSAGES.text), {
        metadata: { phone_number_id: PHONE_NUMBER_ID },
        messages: [{ id: 'w' }],
      });
      for (const payload of [{ hello: 'world' }, broken]) {
        const { body, headers } = signedWebhook(payload, APP_SECRET);
        const res = await post(h.url, body, headers);
        expect(res.status).to.equal(400);
        const error = ((await res.json()) as { error: { code: string; details: { problems: string[] } } }).error;
        expect(error.code).to.equal('invalid_webhook');
        expect(error.details.problems.length).to.be.greaterThan(0);
      }
      expect(h.inbound).to.have.length(0);
    });

    it('answers 200 to an unknown phone_number_id, hands nothing on and logs it', async () => {
      const { body, headers } = signedWebhook(webhookOf(inboundValue(MESSAGES.text, '999999999')), APP_SECRET);
      const res = await post(h.url, body, headers);
      expect(res.status).to.equal(200);
      expect(await res.json()).to.deep.equal({ received: 0 });
      expect(h.inbound).to.have.length(0);
      const line = h.logs().find((l) => l.message === 'cloud webhook for an unknown phone number id, ignored');
      expect(line).to.include({ phoneNumberId: '999999999', inbound: 1 });
    });

    it('answers 503 when the sink cannot record, so that Meta retries the delivery', async () => {
      h.failSink(true);
      const { body, headers } = signedWebhook(webhookOf(inboundValue(MESSAGES.text)), APP_SECRET);
      const res = await post(h.url, body, headers);
      expect(res.status).to.equal(503);
      expect(((await res.json()) as { error: { code: string } }).error.code).to.equal('webhook_unavailable');
      h.failSink(false);
      expect((await post(h.url, body, headers)).status).to.equal(200);
      expect(h.inbound).to.have.length(1);
    });

    it('answers 413 in the JSON error shape to a body over the limit', async () => {
      const big = webhookOf(inboundValue({ ...MESSAGES.text, text: { body: 'x'.repeat(100_000) } }));
      const { body, headers } = signedWebhook(big, APP_SECRET);
      const res = await post(h.url, body, headers);
      expect(res.status).to.equal(413);
      expect(((await res.json()) as { error: { code: string } }).error.code).to.equal('payload_too_large');
      expect(h.inbound).to.have.length(0);
    });
  });
});

describe('Cloud API webhook route mounted after a JSON body parser (a wiring mistake)', () => {
  it('refuses to guess: 500, nothing handed on, an error line naming the mistake', async () => {
    const stream = new PassThrough();
    let raw = '';
    stream.on('data', (chunk: Buffer) => (raw += chunk.toString()));
    const handed: unknown[] = [];
    const app = express();
    app.use(express.json());
    app.use(
      cloudWebhookRoutes({
        verifyToken: null,
        appSecret: APP_SECRET,
        sink: {
          inbound: (m) => Promise.resolve(void handed.push(m)),
          status: (u) => Promise.resolve(void handed.push(u)),
        },
        resolveNumber: () => NUMBER_ID,
        log: createLogger({ level: 'debug', service: 'test', stream }),
      }),
    );
    const server: Server = await new Promise((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    try {
      const { port } = server.address() as AddressInfo;
      const { body, headers } = signedWebhook(webhookOf(inboundValue(MESSAGES.text)), APP_SECRET);
      const res = await post(`http://127.0.0.1:${port}/webhooks/whatsapp`, body, headers);
      expect(res.status).to.equal(500);
      expect(handed).to.have.length(0);
      expect(raw).to.include('mounted after a body parser');
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

describe('Cloud API webhook route inside createHttpApp', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness('createHttpApp');
  });
  after(async () => {
    await h.close();
  });

  it("reads the raw bytes before the app's JSON parser, so Meta's signature still verifies", async () => {
    const { body, headers } = signedWebhook(webhookOf(inboundValue(MESSAGES.image)), APP_SECRET);
    const res = await post(h.url, body, headers);
    expect(res.status).to.equal(200);
    expect(h.inbound.map((m) => [m.kind, m.text])).to.deep.equal([['image', '[image] This is a caption']]);
    const bad = await post(h.url, JSON.stringify(JSON.parse(body)), {
      ...headers,
      'x-hub-signature-256': `sha256=${'0'.repeat(64)}`,
    });
    expect(bad.status).to.equal(401);
  });
});
