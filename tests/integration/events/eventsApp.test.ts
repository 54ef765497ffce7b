import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { ADMIN_PASSWORD, loginAs, request, startTestApp, type TestApp } from '../../support/app.js';

type Node = { type: string; children: Node[] };
const typesOf = (nodes: Node[]): string[] => nodes.flatMap((node) => [node.type, ...typesOf(node.children)]);

const backends: Array<{ name: string; start: () => Promise<{ t: TestApp; cleanup: () => void }> }> = [
  { name: 'PostgreSQL', start: async () => ({ t: await startTestApp(), cleanup: () => undefined }) },
  {
    name: 'embedded PGlite',
    start: async () => {
      const dataDir = mkdtempSync(path.join(tmpdir(), 'chatbot-events-'));
      const t = await startTestApp({ env: { DATABASE_URL: undefined, DATA_DIR: dataDir } });
      return { t, cleanup: () => rmSync(dataDir, { recursive: true, force: true }) };
    },
  },
];

for (const backend of backends) {
  describe(`event explorer in the app (${backend.name})`, function () {
    this.timeout(180_000);
    let t: TestApp;
    let cleanup: () => void;
    let admin: string;
    before(async () => {
      ({ t, cleanup } = await backend.start());
      admin = (await loginAs(t.baseUrl, 'admin', ADMIN_PASSWORD)).access;
    });
    after(async () => {
      await t.close();
      cleanup();
    });

    it("the X-Correlation-Id of a login leads to that login's chain", async () => {
      const login = await request(t.baseUrl, 'POST', '/api/auth/login', {
        body: { username: 'admin', password: ADMIN_PASSWORD },
      });
      expect(login.status).to.equal(200);
      const correlationId = login.headers.get('x-correlation-id')!;
      const chain = await request(t.baseUrl, 'GET', `/api/events/chain/${correlationId}`, { token: admin });
      expect(chain.status, JSON.stringify(chain.body)).to.equal(200);
      expect(chain.body.correlationId).to.equal(correlationId);
      expect(typesOf(chain.body.roots as Node[])).to.include('LoginSucceeded');
      expect(chain.body.count).to.equal(typesOf(chain.body.roots as Node[]).length);
      // one tree: the session's events hang under the LoginSucceeded that caused them
      const roots = chain.body.roots as Node[];
      expect(roots.map((node) => node.type)).to.deep.equal(['LoginSucceeded']);
      expect(typesOf(roots[0]!.children)).to.include.members(['SessionStarted', 'AccessTokenIssued']);
      expect(JSON.stringify(chain.body)).not.to.include(login.body.access_token as string);
    });

    it('keeps a well-formed client correlation id (and its chain) and replaces a malformed one', async () => {
      const given = `incident-${Date.now()}`;
      const kept = await request(t.baseUrl, 'POST', '/api/auth/login', {
        body: { username: 'admin', password: 'wrong-password' },
        headers: { 'x-correlation-id': given },
      });
      expect(kept.headers.get('x-correlation-id')).to.equal(given);
      const chain = await request(t.baseUrl, 'GET', `/api/events/chain/${given}`, { token: admin });
      expect(typesOf(chain.body.roots as Node[])).to.include('LoginFailed');
      const replaced = await request(t.baseUrl, 'POST', '/api/auth/login', {
        body: { username: 'admin', password: 'wrong-password' },
        headers: { 'x-correlation-id': 'not ok;<script>' },
      });
      expect(replaced.headers.get('x-correlation-id')).to.match(/^[0-9a-f-]{36}$/);
    });

    it('serves every event to admins without the password hashes, and nothing to operators', async () => {
      const exported = await request(t.baseUrl, 'GET', '/api/events?format=ndjson', { token: admin });
      expect(exported.status).to.equal(200);
      const text = typeof exported.body === 'string' ? exported.body : JSON.stringify(exported.body);
      expect(text).to.include('"AccountCreated"');
      expect(text).not.to.include('$argon2');
      expect(text).to.include('"passwordHash":"[redacted]"');

      const created = await request(t.baseUrl, 'POST', '/api/users', {
        token: admin,
        body: { username: 'oncall-operator', password: 'operator-password-1', role: 'operator' },
      });
      expect(created.status).to.equal(201);
      const operator = await loginAs(t.baseUrl, 'oncall-operator', 'operator-password-1');
      const refused = await request(t.baseUrl, 'GET', '/api/events', { token: operator.access });
      expect(refused.status).to.equal(403);
      const stream = await request(t.baseUrl, 'GET', `/api/streams/account-${String(created.body.id)}`, {
        token: admin,
      });
      expect(stream.status).to.equal(200);
      expect(JSON.stringify(stream.body)).not.to.include('$argon2');
    });
  });
}
