import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes, randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { RevocationRegistry } from '#application/identity/revocations.js';
import { MAX_SECRET_BYTES, readSecret, type SecretsDeps } from '#application/secrets/secrets.js';
import { createTokenService } from '#infrastructure/identity/jwt.js';
import { Fernet } from '#infrastructure/secrets/fernet.js';
import { createSecretCipher, keyFingerprint } from '#infrastructure/secrets/secretCipher.js';
import { createHttpApp } from '#interfaces/http/app.js';
import { secretsRoutes } from '#interfaces/http/secrets/secretsRoutes.js';
import { rebuildProjection } from '#projections/runner.js';
import { listSecretMetadata, secretRows, secretsProjection } from '#projections/secrets/secrets.js';
import { captureLogger, openSecretsTestDb, type SecretsTestDb } from '../../support/secrets.js';
import { manualRuntime } from '../../support/runtime.js';

// One runtime per file: its ids count up, so two use cases never mint the same event id.
const runtime = manualRuntime();

const KEY = Fernet.generateKey();

describe('HTTP /api/secrets', function () {
  this.timeout(60_000);
  let testDb: SecretsTestDb;
  let server: http.Server;
  let base: string;
  let log: ReturnType<typeof captureLogger>;
  let secrets: SecretsDeps;
  const tokens = createTokenService({
    secret: randomBytes(48).toString('base64url'),
    issuer: 'chatbot-test',
    audience: 'chatbot-api',
    accessTtlSeconds: 600,
    refreshTtlSeconds: 3600,
    wsTtlSeconds: 60,
  });
  const bearer = (role: 'admin' | 'operator' | 'viewer') =>
    `Bearer ${tokens.issueAccessToken({ accountId: randomUUID(), username: `${role}-user`, role, sessionId: randomUUID() }).token}`;

  const call = async (
    method: string,
    path: string,
    options: { role?: 'admin' | 'operator' | 'viewer' | null; body?: unknown; raw?: string } = {},
  ) => {
    const headers: Record<string, string> = {};
    const role = options.role === undefined ? 'admin' : options.role;
    if (role !== null) headers.authorization = bearer(role);
    let body: string | undefined;
    if (options.raw !== undefined || options.body !== undefined) {
      headers['content-type'] = 'application/json';
      body = options.raw ?? JSON.stringify(options.body);
    }
    const response = await fetch(`${base}${path}`, { method, headers, body });
    const text = await response.text();
    return {
      status: response.status,
      text,
      json: text ? (JSON.parse(text) as Record<string, unknown>) : null,
      headers: response.headers,
    };
  };
  const secretEvents = () => testDb.store.readAll({ filter: { streamPrefixes: ['secret-'] } });
  const errorCode = (json: Record<string, unknown> | null) => (json?.error as { code?: string } | undefined)?.code;

  beforeEach(async () => {
    testDb = await openSecretsTestDb();
    log = captureLogger();
    secrets = { store: testDb.store, cipher: createSecretCipher([KEY]), log: log.logger, runtime };
    const app = createHttpApp({
      logger: log.logger,
      corsOrigins: [],
      bodyLimit: '100kb',
      routers: [
        secretsRoutes({
          auth: { tokens, revocations: new RevocationRegistry() },
          secrets,
          listSecrets: () => listSecretMetadata(testDb.db.knex),
        }),
      ],
    });
    server = http.createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterEach(async () => {
    await new Promise((resolve) => server.close(resolve));
    await testDb.close();
  });

  it('an admin stores a secret (204) and the list shows its name, kind, key and date, never the value or ciphertext', async () => {
    const value = `plain-${randomUUID()}`;
    const put = await call('PUT', '/api/secrets/openai.main', { body: { value, kind: 'llm_api_key' } });
    expect(put.status).to.equal(204);
    expect(await readSecret(secrets, 'openai.main')).to.equal(value);

    await rebuildProjection({ db: testDb.db, store: testDb.store, projection: secretsProjection });
    const list = await call('GET', '/api/secrets');
    expect(list.status).to.equal(200);
    expect(list.headers.get('cache-control')).to.equal('no-store');
    expect(list.json).to.deep.equal({
      secrets: [
        {
          name: 'openai.main',
          kind: 'llm_api_key',
          keyFingerprint: keyFingerprint(KEY),
          updatedAt: (list.json!.secrets as Array<{ updatedAt: string }>)[0]!.updatedAt,
        },
      ],
      currentKeyFingerprint: keyFingerprint(KEY),
    });
    const [row] = await secretRows(testDb.db.knex);
    expect(list.text).not.to.contain(value);
    expect(list.text).not.to.contain(row!.ciphertext);
    expect(list.text).not.to.contain('gAAAAA');

    const everything = [
      JSON.stringify(await testDb.store.readAll()),
      JSON.stringify(await secretRows(testDb.db.knex)),
      await log.output(),
    ];
    for (const text of everything) expect(text).not.to.contain(value);
  });

  it('operators and viewers get 403 and anonymous callers 401; nothing is appended', async () => {
    for (const role of ['operator', 'viewer'] as const) {
      expect((await call('PUT', '/api/secrets/x', { role, body: { value: 'v', kind: 'other' } })).status).to.equal(403);
      expect((await call('GET', '/api/secrets', { role })).status).to.equal(403);
      expect((await call('DELETE', '/api/secrets/x', { role })).status).to.equal(403);
    }
    expect((await call('PUT', '/api/secrets/x', { role: null, body: { value: 'v', kind: 'other' } })).status).to.equal(
      401,
    );
    expect((await call('GET', '/api/secrets', { role: null })).status).to.equal(401);
    expect(await secretEvents()).to.deep.equal([]);
  });

  it('refuses bad input with a JSON 4xx and appends nothing', async () => {
    const marker = `plain-${randomUUID()}`;
    const tooBig = marker + 'x'.repeat(MAX_SECRET_BYTES + 1 - marker.length);
    const cases: Array<[string, { body?: unknown; raw?: string }, number, string]> = [
      ['/api/secrets/ok', { raw: `{"value": "${marker}", "kind": ` }, 400, 'malformed_json'],
      ['/api/secrets/ok', { body: { value: tooBig, kind: 'other' } }, 413, 'secret_too_large'],
      ['/api/secrets/ok', { body: { value: 'y'.repeat(200 * 1024), kind: 'other' } }, 413, 'payload_too_large'],
      ['/api/secrets/Not%20Valid', { body: { value: 'v', kind: 'other' } }, 400, 'validation_failed'],
      [`/api/secrets/${'a'.repeat(65)}`, { body: { value: 'v', kind: 'other' } }, 400, 'validation_failed'],
      ['/api/secrets/ok', { body: { value: marker, kind: 'password' } }, 400, 'validation_failed'],
      ['/api/secrets/ok', { body: { value: '', kind: 'other' } }, 400, 'validation_failed'],
      ['/api/secrets/ok', { body: { value: 42, kind: 'other' } }, 400, 'validation_failed'],
      ['/api/secrets/ok', { body: { value: marker, kind: 'other', extra: true } }, 400, 'validation_failed'],
      ['/api/secrets/ok', { body: ['v'] }, 400, 'validation_failed'],
    ];
    for (const [path, input, status, code] of cases) {
      const response = await call('PUT', path, input);
      const what = `${path.slice(0, 40)} ${(input.raw ?? JSON.stringify(input.body)).slice(0, 60)}`;
      expect(response.status, what).to.equal(status);
      expect(errorCode(response.json), what).to.equal(code);
      expect(response.text, what).not.to.contain(marker);
    }
    expect(await secretEvents()).to.deep.equal([]);
    expect(await log.output()).not.to.contain(marker);
  });

  it('an admin deletes a secret (204); deleting it again is 404 and it leaves the list', async () => {
    expect(
      (await call('PUT', '/api/secrets/cloud-token', { body: { value: 'v-1', kind: 'whatsapp_cloud_token' } })).status,
    ).to.equal(204);
    expect((await call('DELETE', '/api/secrets/cloud-token')).status).to.equal(204);
    const again = await call('DELETE', '/api/secrets/cloud-token');
    expect(again.status).to.equal(404);
    expect(errorCode(again.json)).to.equal('secret_not_found');
    await rebuildProjection({ db: testDb.db, store: testDb.store, projection: secretsProjection });
    expect((await call('GET', '/api/secrets')).json?.secrets).to.deep.equal([]);
    expect((await secretEvents()).map((e) => e.type)).to.deep.equal(['SecretStored', 'SecretDeleted']);
  });

  it('without FERNET_KEYS, storing is a 503 that says what to set, and nothing is appended', async () => {
    secrets.cipher = null;
    const response = await call('PUT', '/api/secrets/ok', { body: { value: 'v', kind: 'other' } });
    expect(response.status).to.equal(503);
    expect(errorCode(response.json)).to.equal('secrets_not_configured');
    expect(await secretEvents()).to.deep.equal([]);
  });
});
