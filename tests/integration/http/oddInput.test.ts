// Property: whatever text arrives in any JSON body field or query parameter of any route the OpenAPI
// document lists (NUL, lone surrogates, control and bidi characters, overlong values), the answer is
// never a 5xx, and a refused request (4xx) appends nothing. The one 4xx that appends by design is a
// failed login: it is recorded (with the name escaped) and counts toward the lockout.
import { expect } from 'chai';
import fc from 'fast-check';
import { randomUUID } from 'node:crypto';
import { Fernet } from '#infrastructure/secrets/fernet.js';
import { openApiDocument } from '#interfaces/http/openapi.js';
import { ADMIN_PASSWORD, loginAs, request, startTestApp, type TestApp } from '../../support/app.js';

type Schema = { type?: string | string[]; properties?: Record<string, Schema>; required?: string[]; enum?: unknown[] };
type Operation = {
  parameters?: Array<{ name: string; in: string }>;
  requestBody?: { content?: Record<string, { schema?: Schema }> };
};

/** Any UTF-16 code unit (so lone surrogates and NUL too), plus the values that broke things before. */
const codeUnit = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c));
const nasty = fc.constantFrom('\u0000', '\ud800', '\udfff', '\u202e', '\u2066', '\u0007', '\u007f', '\u0085', '\ufeff');
const oddText = fc.oneof(
  fc.array(fc.oneof(codeUnit, nasty), { maxLength: 40 }).map((parts) => parts.join('')),
  fc.tuple(fc.string({ maxLength: 10 }), nasty, fc.string({ maxLength: 10 })).map((p) => p.join('')),
  fc.integer({ min: 65, max: 20_000 }).map((n) => 'x'.repeat(n)),
  fc.constantFrom('admin', 'viewer', 'operator', ''),
);

/** A URL carries UTF-8, which has no lone surrogates: they travel as U+FFFD (what a browser sends). */
const wellFormed = (text: string) =>
  text.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd');

/** Login outcomes are events by design; nothing else may be appended by a 4xx. */
const LOGIN_EVENTS = new Set(['LoginFailed', 'SourceLocked', 'AccountLocked', 'SourceUnlocked', 'AccountUnlocked']);

describe('odd text in every body field and query parameter of every route (fast-check)', function () {
  this.timeout(600_000);
  let t: TestApp;
  let access = '';
  before(async () => {
    t = await startTestApp({
      env: { FERNET_KEYS: Fernet.generateKey(), LOGIN_MAX_FAILURES: '1000', LOGIN_ACCOUNT_MAX_FAILURES: '100000' },
    });
    access = (await loginAs(t.baseUrl, 'admin', ADMIN_PASSWORD)).access;
  });
  after(async () => {
    await t?.close();
  });

  const operations = Object.entries(openApiDocument.paths).flatMap(([path, ops]) =>
    Object.entries(ops as Record<string, Operation>).map(([method, op]) => ({
      path,
      method: method.toUpperCase(),
      op,
    })),
  );
  const withText = operations.filter(
    ({ op }) =>
      (op.parameters ?? []).some((p) => p.in === 'query') ||
      Object.keys(op.requestBody?.content?.['application/json']?.schema?.properties ?? {}).length > 0,
  );

  it('the document lists routes with text inputs to try', () => {
    expect(withText.map((o) => `${o.method} ${o.path}`)).to.include.members([
      'POST /api/auth/login',
      'POST /api/users',
      'GET /api/audit',
    ]);
  });

  it('a NUL in a search query is a 400 invalid_text on every router (was a 500 on GET /api/chats)', async () => {
    for (const url of ['/api/chats?q=%00', '/api/events?type=%00', '/api/scheduled-messages?state=%00']) {
      const answer = await request(t.baseUrl, 'GET', url, { token: access });
      expect(answer.status, `${url} ${JSON.stringify(answer.body)}`).to.equal(400);
      expect(answer.body.error.code).to.equal('invalid_text');
    }
  });

  for (const { path, method, op } of withText) {
    it(`${method} ${path}: no 5xx, and nothing appended when refused`, async () => {
      const fields = Object.keys(op.requestBody?.content?.['application/json']?.schema?.properties ?? {});
      const queries = (op.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name);
      const input = fc.record({
        body: fc.record(Object.fromEntries(fields.map((f) => [f, oddText])), { requiredKeys: [] }),
        query: fc.record(Object.fromEntries(queries.map((q) => [q, oddText])), { requiredKeys: [] }),
      });
      await fc.assert(
        fc.asyncProperty(input, async ({ body, query }) => {
          const url = path.replace('{id}', randomUUID()).replace('{name}', 'odd.input');
          const search = Object.entries(query)
            .map(([k, v]) => `${k}=${encodeURIComponent(wellFormed(v ?? ''))}`)
            .join('&');
          const correlationId = randomUUID();
          const answer = await request(t.baseUrl, method, `${url}${search ? `?${search}` : ''}`, {
            token: path === '/api/auth/logout' ? undefined : access,
            headers: { 'x-correlation-id': correlationId },
            ...(fields.length > 0 ? { body } : {}),
          });
          expect(answer.status, JSON.stringify(answer.body)).to.be.below(500);
          if (answer.status >= 400) {
            const appended = (await t.app.infra.store.readAll({ after: 0 })).filter(
              (e) => e.metadata.correlationId === correlationId,
            );
            const unexpected = appended.filter((e) => !(path === '/api/auth/login' && LOGIN_EVENTS.has(e.type)));
            expect(
              unexpected.map((e) => e.type),
              `${answer.status} ${JSON.stringify(answer.body)}`,
            ).to.deep.equal([]);
          }
        }),
        { numRuns: Number(process.env.ODD_INPUT_RUNS ?? 40) },
      );
    });
  }
});
