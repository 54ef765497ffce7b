import { expect } from 'chai';
import { createServer } from 'node:net';
import type { ChannelAdapter, SendRequest } from '#application/messaging/channel.js';
import { createCloudAdapter, type CloudAdapterOptions } from '#infrastructure/channels/cloud/graphClient.js';
import { startGraphServer, type GraphServer } from '../../support/graphServer.js';

const TOKEN = 'EAAGtest-access-token-0123456789';
const PHONE_NUMBER_ID = '106540352242922';
const NOW = new Date('2026-11-29T10:00:00Z');

const textRequest = (overrides: Partial<SendRequest> = {}): SendRequest => ({
  messageId: '0b7c7d1e-8f3a-4c55-9a51-2f1d3c4b5a69',
  numberId: 'number-1',
  to: '34600111222',
  content: { kind: 'text', text: 'Hola, ¿en qué te puedo ayudar hoy?' },
  attempt: 1,
  ...overrides,
});

/** A port nothing listens on: bound, then released. */
const closedPort = async (): Promise<number> => {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
};

describe('Cloud API adapter against a local Graph API server', () => {
  let graph: GraphServer;
  let adapter: ChannelAdapter;
  const adapterFor = (url: string, extra: Partial<CloudAdapterOptions> = {}) =>
    createCloudAdapter({
      graphUrl: url,
      apiVersion: 'v21.0',
      credentials: (numberId) =>
        numberId === 'number-1' ? { phoneNumberId: PHONE_NUMBER_ID, accessToken: TOKEN } : null,
      clock: () => NOW,
      timeoutMs: 2_000,
      ...extra,
    });

  beforeEach(async () => {
    graph = await startGraphServer();
    adapter = adapterFor(graph.url);
  });
  afterEach(async () => {
    await graph.close();
  });

  it('sends a text as Meta documents it, with our message id as biz_opaque_callback_data, and returns the wamid', async () => {
    graph.enqueue({ kind: 'success', wamid: 'wamid.HBgLMzQ2MDAxMTEyMjIVAgARGBI0' });
    const outcome = await adapter.send(textRequest());
    expect(outcome).to.deep.equal({ status: 'sent', providerMessageId: 'wamid.HBgLMzQ2MDAxMTEyMjIVAgARGBI0' });
    expect(graph.requests).to.have.length(1);
    const [request] = graph.requests;
    expect(request!.method).to.equal('POST');
    expect(request!.path).to.equal(`/v21.0/${PHONE_NUMBER_ID}/messages`);
    expect(request!.headers.authorization).to.equal(`Bearer ${TOKEN}`);
    expect(request!.headers['content-type']).to.equal('application/json');
    expect(request!.body).to.deep.equal({
      messaging_product: 'whatsapp',
      recipient_type: 'individual',
      to: '34600111222',
      type: 'text',
      text: { preview_url: false, body: 'Hola, ¿en qué te puedo ayudar hoy?' },
      biz_opaque_callback_data: '0b7c7d1e-8f3a-4c55-9a51-2f1d3c4b5a69',
    });
  });

  it('sends a template with its language and components, and strips a leading + from the recipient', async () => {
    const components = [{ type: 'body', parameters: [{ type: 'text', text: 'Ana' }] }];
    const outcome = await adapter.send(
      textRequest({
        to: '+34600111222',
        content: { kind: 'template', template: { name: 'order_update', language: 'es_MX', components } },
      }),
    );
    expect(outcome.status).to.equal('sent');
    expect(graph.requests[0]!.body).to.deep.equal({
      messaging_product: 'whatsapp',
      recipient_type: 'individual',
      to: '34600111222',
      type: 'template',
      template: { name: 'order_update', language: { code: 'es_MX' }, components },
      biz_opaque_callback_data: '0b7c7d1e-8f3a-4c55-9a51-2f1d3c4b5a69',
    });
  });

  it('uses the configured base URL and API version', async () => {
    const versioned = adapterFor(`${graph.url}/graph/`, { apiVersion: 'v22.0' });
    expect((await versioned.send(textRequest())).status).to.equal('sent');
    expect(graph.requests[0]!.path).to.equal(`/graph/v22.0/${PHONE_NUMBER_ID}/messages`);
  });

  const permanent: [number, string][] = [
    [131026, 'undeliverable'],
    [131030, 'recipient not in the allowed list'],
    [131047, 'outside the 24-hour window'],
    [100, 'invalid parameter'],
    [132001, 'template does not exist'],
    [190, 'expired token (HTTP 401)'],
  ];
  for (const [code, what] of permanent)
    it(`a ${code} answer (${what}) is a permanent failure with Meta's code`, async () => {
      graph.enqueue({ kind: 'error', code });
      const outcome = await adapter.send(textRequest());
      expect(outcome).to.include({ status: 'failed', retryable: false, code: String(code) });
      expect(outcome).not.to.have.property('retryAfterMs');
    });

  it("a throughput limit (130429) is retryable with Meta's message", async () => {
    graph.enqueue({ kind: 'error', code: 130429 });
    const outcome = await adapter.send(textRequest());
    expect(outcome).to.deep.equal({
      status: 'failed',
      retryable: true,
      code: '130429',
      message: '(#130429) Rate limit hit: Cloud API message throughput has been reached.',
    });
  });

  it('a pair rate limit (131056) is retryable and honours Retry-After over the 6 s default', async () => {
    graph.enqueue({ kind: 'error', code: 131056 }, { kind: 'error', code: 131056, retryAfter: '20' });
    expect(await adapter.send(textRequest())).to.include({ retryable: true, code: '131056', retryAfterMs: 6_000 });
    expect(await adapter.send(textRequest())).to.include({ retryable: true, code: '131056', retryAfterMs: 20_000 });
  });

  it('HTTP 429 with Retry-After (seconds or date) is retryable after that long', async () => {
    graph.enqueue(
      { kind: 'raw', httpStatus: 429, body: 'slow down', retryAfter: '3' },
      { kind: 'raw', httpStatus: 429, body: '', retryAfter: 'Sun, 29 Nov 2026 10:01:00 GMT' },
    );
    expect(await adapter.send(textRequest())).to.deep.include({
      retryable: true,
      code: 'http_429',
      retryAfterMs: 3_000,
    });
    expect(await adapter.send(textRequest())).to.deep.include({ retryable: true, retryAfterMs: 60_000 });
  });

  it('a bare 500 and a Meta 131000 on HTTP 500 are retryable', async () => {
    graph.enqueue(
      { kind: 'raw', httpStatus: 500, body: '<html>Internal error</html>' },
      { kind: 'error', code: 131000 },
    );
    expect(await adapter.send(textRequest())).to.include({ retryable: true, code: 'http_500' });
    expect(await adapter.send(textRequest())).to.include({ retryable: true, code: '131000' });
  });

  it('a server that never answers is a retryable timeout, reported as in doubt', async () => {
    const quick = adapterFor(graph.url, { timeoutMs: 150 });
    graph.enqueue({ kind: 'hang' });
    const outcome = await quick.send(textRequest());
    expect(outcome).to.include({ status: 'failed', retryable: true, code: 'timeout' });
    expect((outcome as { message: string }).message).to.include('in doubt');
    expect(graph.requests).to.have.length(1);
  });

  it('a server that sends headers and then stalls the body is a timeout too', async () => {
    const quick = adapterFor(graph.url, { timeoutMs: 150 });
    graph.enqueue({ kind: 'stall' });
    expect(await quick.send(textRequest())).to.include({ retryable: true, code: 'timeout' });
  });

  it('a dropped connection is a retryable network failure naming the socket error', async () => {
    graph.enqueue({ kind: 'drop' });
    const outcome = await adapter.send(textRequest());
    expect(outcome).to.include({ status: 'failed', retryable: true, code: 'network' });
    expect((outcome as { message: string }).message).to.match(/UND_ERR_SOCKET|ECONNRESET|other side closed/);
  });

  it('a refused connection is a retryable network failure', async () => {
    const nowhere = adapterFor(`http://127.0.0.1:${await closedPort()}`);
    expect(await nowhere.send(textRequest())).to.include({ retryable: true, code: 'network' });
  });

  it('a 200 without messages[0].id is a retryable failure in doubt, not a success', async () => {
    graph.enqueue({
      kind: 'raw',
      httpStatus: 200,
      body: '{"messaging_product":"whatsapp"}',
      contentType: 'application/json',
    });
    expect(await adapter.send(textRequest())).to.include({ retryable: true, code: 'invalid_response' });
  });

  it('a number without credentials fails permanently without calling Meta', async () => {
    expect(await adapter.send(textRequest({ numberId: 'number-2' }))).to.include({
      retryable: false,
      code: 'not_configured',
    });
    expect(graph.requests).to.have.length(0);
  });

  it('credentials that cannot be read are a retryable failure, not a throw, and quote nothing', async () => {
    const broken = adapterFor(graph.url, {
      credentials: () => Promise.reject(new Error(`cannot decrypt ${TOKEN}`)),
    });
    const outcome = await broken.send(textRequest());
    expect(outcome).to.include({ status: 'failed', retryable: true, code: 'credentials_unavailable' });
    expect(JSON.stringify(outcome)).not.to.include(TOKEN);
    expect(graph.requests).to.have.length(0);
  });

  it('no outcome carries the access token or the message text', async () => {
    graph.enqueue(
      { kind: 'error', code: 190, details: `token ${TOKEN} expired` },
      { kind: 'error', code: 100, details: 'Param text[body] "Hola, ¿en qué te puedo ayudar hoy?" is invalid' },
      { kind: 'drop' },
      { kind: 'raw', httpStatus: 500, body: TOKEN },
    );
    for (let i = 0; i < 4; i += 1) {
      const text = JSON.stringify(await adapter.send(textRequest()));
      expect(text).not.to.include(TOKEN);
      expect(text).not.to.include('Hola');
    }
  });

  it('declares the Cloud API limits', () => {
    expect(adapter.kind).to.equal('cloud');
    expect(adapter.limits).to.deep.equal({ messagesPerSecond: 80, minGapPerRecipientMs: 6_000, maxTextLength: 4096 });
  });
});
