import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { Fernet } from '#infrastructure/secrets/fernet.js';
import { keyFingerprint } from '#infrastructure/secrets/secretCipher.js';
import { ADMIN_PASSWORD, loginAs, request, startTestApp, type TestApp } from '../../support/app.js';
import { waitFor } from '../../support/events.js';

const KEY = Fernet.generateKey();

describe('secrets in the running app process (real Postgres)', function () {
  this.timeout(60_000);
  let t: TestApp;
  before(async () => {
    t = await startTestApp({ env: { FERNET_KEYS: KEY } });
  });
  after(async () => {
    await t.close();
  });

  it('a stored secret reaches the list through the projection runner, and its value is nowhere in the events or the logs', async () => {
    const { access } = await loginAs(t.baseUrl, 'admin', ADMIN_PASSWORD);
    const value = `plain-${randomUUID()}`;
    const put = await request(t.baseUrl, 'PUT', '/api/secrets/llm.openai', {
      token: access,
      body: { value, kind: 'llm_api_key' },
    });
    expect(put.status).to.equal(204);

    let listed: any = null;
    await waitFor(
      async () => {
        listed = (await request(t.baseUrl, 'GET', '/api/secrets', { token: access })).body;
        return listed.secrets.length === 1;
      },
      10_000,
      'the secrets read model',
    );
    expect(listed.secrets[0]).to.include({
      name: 'llm.openai',
      kind: 'llm_api_key',
      keyFingerprint: keyFingerprint(KEY),
    });
    expect(listed.currentKeyFingerprint).to.equal(keyFingerprint(KEY));

    const events = await t.app.infra.store.readAll();
    expect(events.some((e) => e.type === 'SecretStored')).to.equal(true);
    expect(JSON.stringify(events)).not.to.contain(value);
    expect(t.rawLogs()).not.to.contain(value);
  });
});
