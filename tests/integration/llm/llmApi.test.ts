import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { LLM_FORCE_STREAM, LLM_SETTINGS_STREAM } from '#domain/llm/events.js';
import { Fernet } from '#infrastructure/secrets/fernet.js';
import { request, startTestApp, type TestApp, adminAndOperator } from '../../support/app.js';
import { waitFor } from '../../support/events.js';
import { replyRequest } from '../../support/llm.js';
import { startOpenAiServer, type FakeOpenAi } from '../../support/openaiServer.js';

describe('LLM API: the chain, the force override and the settings (real app, PostgreSQL)', function () {
  this.timeout(60_000);
  let t: TestApp;
  let primary: FakeOpenAi;
  let local: FakeOpenAi;
  let admin: string;
  let operator: string;

  before(async () => {
    [primary, local] = [await startOpenAiServer(), await startOpenAiServer()];
    t = await startTestApp({
      env: {
        FERNET_KEYS: Fernet.generateKey(),
        LLM_PROVIDERS: JSON.stringify([
          { name: 'primary', baseUrl: primary.baseUrl, model: 'gpt-4o-mini', apiKey: 'sk-config-key-0123456789abcdef' },
          { name: 'local', baseUrl: local.baseUrl, model: 'llama3.1', maxRetries: 0 },
        ]),
      },
    });
    ({ admin, operator } = await adminAndOperator(t.baseUrl));
  });
  after(async () => {
    await t?.close();
    await Promise.all([primary?.close(), local?.close()]);
  });

  const providers = (token = admin) => request(t.baseUrl, 'GET', '/api/llm/providers', { token });
  const streamLength = async (streamId: string) => (await t.app.infra.store.readStream(streamId)).length;

  it('lists the configured chain with figures from the read model (calls, latency, tokens today)', async () => {
    const reply = await t.app.llm.replier!.reply(replyRequest());
    expect(reply?.source).to.equal('llm:primary');
    await waitFor(async () => (await providers()).body.providers[0].calls === 1, 10_000, 'the call in the read model');
    const { status, body } = await providers(operator);
    expect(status).to.equal(200);
    expect(body.order).to.deep.equal(['primary', 'local']);
    expect(body.forced).to.equal(null);
    const [p, l] = body.providers;
    expect(p).to.include({ name: 'primary', model: 'gpt-4o-mini', primary: true, circuit: 'closed', apiKey: 'config' });
    expect(p.apiKeySecret).to.equal('llm-primary-api-key');
    expect(p.today).to.deep.equal({ calls: 1, tokensIn: 42, tokensOut: 7, costUsd: 0 });
    expect(p.latencyMs.p50).to.be.a('number');
    expect(l).to.include({ name: 'local', calls: 0, apiKey: 'none' });
    expect(JSON.stringify(body)).not.to.include('sk-config-key');
  });

  it('refuses bad force requests with a clear 400 and appends nothing; operators may not force', async () => {
    const before = await streamLength(LLM_FORCE_STREAM);
    for (const [body, code] of [
      [{ provider: 'nope', minutes: 10 }, 'unknown_provider'],
      [{ provider: 'local', minutes: 0 }, 'validation_failed'],
      [{ provider: 'local', minutes: 10, extra: true }, 'validation_failed'],
      [{ provider: 'local' }, 'validation_failed'],
    ] as const) {
      const response = await request(t.baseUrl, 'POST', '/api/llm/providers/force', { token: admin, body });
      expect(response.status, JSON.stringify(body)).to.equal(400);
      expect(response.body.error.code).to.equal(code);
      expect(response.body.error.correlationId).to.be.a('string');
    }
    const refused = await request(t.baseUrl, 'POST', '/api/llm/providers/force', {
      token: operator,
      body: { provider: 'local', minutes: 10 },
    });
    expect(refused.status).to.equal(403);
    expect(await streamLength(LLM_FORCE_STREAM)).to.equal(before);
  });

  it('forcing a provider puts it first in the chain and in the audit trail; DELETE ends it', async () => {
    const forced = await request(t.baseUrl, 'POST', '/api/llm/providers/force', {
      token: admin,
      body: { provider: 'local', minutes: 30 },
    });
    expect(forced.status).to.equal(200);
    expect(forced.body.provider).to.equal('local');
    expect(Date.parse(forced.body.until) - Date.now()).to.be.within(29 * 60_000, 30 * 60_000);
    await waitFor(async () => (await providers()).body.forced !== null, 10_000, 'the force in the read model');
    const listed = (await providers()).body;
    expect(listed.order).to.deep.equal(['local', 'primary']);
    expect(listed.providers[1]).to.include({ name: 'local', forced: true });
    // the next turn goes to the forced provider first
    const before = primary.requests.length;
    expect((await t.app.llm.replier!.reply(replyRequest()))?.source).to.equal('llm:local');
    expect(primary.requests.length).to.equal(before);

    await waitFor(
      async () =>
        (await request(t.baseUrl, 'GET', '/api/audit?action=llm.provider_forced', { token: admin })).body.entries
          .length === 1,
      10_000,
      'the audit entry',
    );
    const audit = await request(t.baseUrl, 'GET', '/api/audit?action=llm.provider_forced', { token: admin });
    expect(audit.body.entries[0]).to.include({ action: 'llm.provider_forced', target: 'local', outcome: 'success' });

    expect((await request(t.baseUrl, 'DELETE', '/api/llm/providers/force', { token: admin })).status).to.equal(204);
    await waitFor(async () => (await providers()).body.forced === null, 10_000, 'the force ended in the read model');
    expect((await providers()).body.order).to.deep.equal(['primary', 'local']);
  });

  it('an API key stored as a Fernet secret replaces the configured one from the next call, and is never logged', async () => {
    const key = `sk-stored-${randomUUID()}`;
    const stored = await request(t.baseUrl, 'PUT', '/api/secrets/llm-primary-api-key', {
      token: admin,
      body: { kind: 'llm_api_key', value: key },
    });
    expect(stored.status).to.equal(204);
    await t.app.llm.replier!.reply(replyRequest());
    expect(primary.requests[primary.requests.length - 1]!.authorization).to.equal(`Bearer ${key}`);
    await waitFor(
      async () => (await providers()).body.providers[0].apiKey === 'secret',
      10_000,
      'the secret in the read model',
    );
    const events = JSON.stringify(await t.app.infra.store.readAll());
    expect(events).not.to.include(key);
    expect(t.rawLogs()).not.to.include(key);
  });

  it('settings: a bad value is a 400 that appends nothing; a change is an event, audited and read back', async () => {
    const before = await streamLength(LLM_SETTINGS_STREAM);
    for (const body of [{ temperature: 5 }, { maxPromptTokens: 10 }, { systemPrompt: 3 }, { unknown: 1 }]) {
      const response = await request(t.baseUrl, 'PUT', '/api/llm/settings', { token: admin, body });
      expect(response.status, JSON.stringify(body)).to.equal(400);
    }
    expect(await streamLength(LLM_SETTINGS_STREAM)).to.equal(before);
    expect((await request(t.baseUrl, 'GET', '/api/llm/settings', { token: operator })).status).to.equal(403);

    const prompt = `Eres el asistente de la panadería ${randomUUID()}`;
    const changed = await request(t.baseUrl, 'PUT', '/api/llm/settings', {
      token: admin,
      body: { systemPrompt: prompt, temperature: 0.8 },
    });
    expect(changed.status).to.equal(200);
    expect(changed.body.changed).to.deep.equal(['systemPrompt', 'temperature']);
    await waitFor(
      async () => (await request(t.baseUrl, 'GET', '/api/llm/settings', { token: admin })).body.updatedAt !== null,
      10_000,
      'the settings in the read model',
    );
    const read = await request(t.baseUrl, 'GET', '/api/llm/settings', { token: admin });
    expect(read.body.settings).to.include({ systemPrompt: prompt, temperature: 0.8, maxPromptTokens: 3000 });
    // the next turn uses the new prompt
    await t.app.llm.replier!.reply(replyRequest());
    const sent = primary.requests[primary.requests.length - 1]!.body;
    expect(sent.messages).to.deep.include({ role: 'system', content: prompt });
    expect(sent.temperature).to.equal(0.8);
    await waitFor(
      async () =>
        (await request(t.baseUrl, 'GET', '/api/audit?action=llm.settings_changed', { token: admin })).body.entries
          .length === 1,
      10_000,
      'the settings audit entry',
    );
    expect(t.rawLogs()).not.to.include(prompt);
  });
});
