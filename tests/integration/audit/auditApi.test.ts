import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { auditRoutes } from '#interfaces/http/audit/auditRoutes.js';
import { CONTENT_COLUMNS } from '#projections/audit/auditEntries.js';
import { auditLogProjection, auditLogReader } from '#projections/audit/auditLog.js';
import { rebuildProjection } from '#projections/runner.js';
import { startRouterApp, type RouterTestApp } from '../../support/routerApp.js';
import { newEvent, uniqueName } from '../../support/events.js';
import { dropSchema, openTestSchema, type TestSchema } from '../../support/projections.js';

const ALICE = randomUUID();
const BOB = randomUUID();
const T0 = Date.parse('2026-03-01T00:00:00.000Z');
const at = (minutes: number) => new Date(T0 + minutes * 60_000).toISOString();

type Entry = {
  seq: number;
  actor: string;
  action: string;
  target: string | null;
  occurred_at: string;
  correlation_id: string | null;
  details: Record<string, unknown>;
  hash: string;
};

describe('GET /api/audit', function () {
  this.timeout(60_000);
  let t: TestSchema;
  let served: RouterTestApp;
  let base: string;
  let adminToken: string;
  let operatorToken: string;
  const TOTAL = 40;

  before(async () => {
    t = await openTestSchema(uniqueName('audit_api'), { create: true });
    // 40 audited events, one per minute: alice (even) and bob (odd) alternate; every 4th is a failed login.
    for (let i = 0; i < TOTAL; i++) {
      const actor = i % 2 === 0 ? ALICE : BOB;
      const meta = { actor, occurredAt: at(i), correlationId: `corr-${Math.floor(i / 5)}`, ip: `10.0.0.${i}` };
      const event =
        i % 4 === 0
          ? newEvent(
              'LoginFailed',
              {
                accountId: actor,
                username: actor === ALICE ? 'alice' : 'bob',
                reason: 'wrong_password',
                failureCount: 1,
                lockedUntil: null,
              },
              meta,
            )
          : i % 4 === 1
            ? newEvent(
                'PasswordChanged',
                { accountId: ALICE, passwordHash: '$argon2id$v=19$secret-hash', changedBy: actor },
                meta,
              )
            : newEvent(
                'SecretStored',
                {
                  name: `key-${i}`,
                  ciphertext: 'gAAAAABciphertextciphertextciphertext',
                  keyFingerprint: 'aabbccdd',
                  kind: 'other',
                },
                meta,
              );
      await t.store.append(`stream-${i}`, [event]);
    }
    await t.store.append('stream-noise', [newEvent('MessageReceived', { text: 'not audited' })]);
    await rebuildProjection({ db: t.db, store: t.store, projection: auditLogProjection });

    const alice = { accountId: ALICE, sessionId: randomUUID(), username: 'alice', role: 'admin' } as const;
    const bob = { accountId: BOB, sessionId: randomUUID(), username: 'bob', role: 'operator' } as const;
    served = await startRouterApp({
      sessions: [alice, bob],
      routers: (identity) => [auditRoutes({ identity, auditLog: auditLogReader(t.db.knex), clock: () => new Date() })],
    });
    base = served.base;
    adminToken = served.tokenFor(alice);
    operatorToken = served.tokenFor(bob);
  });

  after(async () => {
    await served.close();
    await t.close();
    await dropSchema(t.schema);
  });

  const get = async (query: string, options: { token?: string | null; accept?: string } = {}) => {
    const token = options.token === undefined ? adminToken : options.token;
    const response = await fetch(`${base}/api/audit${query}`, {
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(options.accept ? { accept: options.accept } : {}),
      },
    });
    const text = await response.text();
    const body = response.headers.get('content-type')?.includes('application/json') ? JSON.parse(text) : text;
    return { status: response.status, type: response.headers.get('content-type'), body };
  };

  /** Follows next_cursor to the end; returns every entry in order. */
  const walk = async (query: string): Promise<Entry[]> => {
    const all: Entry[] = [];
    let cursor: string | null = null;
    for (let pages = 0; pages < 100; pages++) {
      const response = await get(`${query}${cursor ? `&cursor=${cursor}` : ''}`);
      expect(response.status).to.equal(200);
      all.push(...(response.body.entries as Entry[]));
      cursor = response.body.next_cursor;
      if (cursor === null) return all;
    }
    throw new Error('pagination did not end');
  };

  it('without a token is 401, and for a non-admin is 403', async () => {
    const anonymous = await get('', { token: null });
    expect(anonymous.status).to.equal(401);
    expect(anonymous.body.error.code).to.equal('token_missing');
    const operator = await get('', { token: operatorToken });
    expect(operator.status).to.equal(403);
    expect(operator.body.error.code).to.equal('forbidden');
  });

  it('lists the newest entries first, with every column and no secrets', async () => {
    const response = await get('');
    expect(response.status).to.equal(200);
    expect(response.body.next_cursor).to.equal(null);
    const entries = response.body.entries as Entry[];
    expect(entries.map((e) => e.seq)).to.deep.equal(Array.from({ length: TOTAL }, (_, i) => TOTAL - i));
    // every column the hash covers, and the chain's links
    expect(entries[0]).to.have.all.keys(...CONTENT_COLUMNS, 'prev_hash', 'hash');
    const passwordChange = entries.find((e) => e.action === 'user.password_changed')!;
    expect(passwordChange.details).to.deep.equal({ changedBy: BOB });
    expect(JSON.stringify(entries)).to.not.include('argon2').and.not.include('gAAAAA');
  });

  it('walks every page exactly once, newest first or oldest first', async () => {
    const desc = await walk('?limit=7');
    expect(desc.map((e) => e.seq)).to.deep.equal(Array.from({ length: TOTAL }, (_, i) => TOTAL - i));
    const asc = await walk('?limit=6&order=asc');
    expect(asc.map((e) => e.seq)).to.deep.equal(Array.from({ length: TOTAL }, (_, i) => i + 1));
    const exact = await get('?limit=40');
    expect(exact.body.entries).to.have.length(40);
    expect(exact.body.next_cursor).to.equal(null);
  });

  it('filters by actor, action, action prefix, target, outcome and correlation id, also across pages', async () => {
    const byAlice = await walk(`?actor=${ALICE}&limit=3`);
    expect(byAlice).to.have.length(20);
    expect(byAlice.every((e) => e.actor === ALICE)).to.equal(true);

    const failed = await walk('?action=login.failed&limit=4');
    expect(failed.map((e) => e.seq)).to.deep.equal([37, 33, 29, 25, 21, 17, 13, 9, 5, 1]);
    expect((await walk('?action=login.*')).length).to.equal(10);
    expect((await walk('?action=secret.*&outcome=success')).length).to.equal(20);
    expect((await walk('?outcome=failure')).length).to.equal(10);

    const onKey = await get('?target=key-2');
    expect(onKey.body.entries.map((e: Entry) => e.seq)).to.deep.equal([3]);

    const correlated = await get('?correlation_id=corr-3');
    expect(correlated.body.entries.map((e: Entry) => e.seq)).to.deep.equal([20, 19, 18, 17, 16]);

    const both = await get(`?actor=${BOB}&action=user.password_changed`);
    expect(both.body.entries.every((e: Entry) => e.actor === BOB && e.action === 'user.password_changed')).to.equal(
      true,
    );
    expect(both.body.entries).to.have.length(10);
  });

  it('filters by a [from, to) time range', async () => {
    const range = await walk(`?from=${at(10)}&to=${at(15)}&limit=2`);
    expect(range.map((e) => e.occurred_at)).to.deep.equal([at(14), at(13), at(12), at(11), at(10)]);
    const offset = await get(`?from=${encodeURIComponent('2026-03-01T01:35:00+01:00')}`);
    expect(offset.body.entries.map((e: Entry) => e.seq)).to.deep.equal([40, 39, 38, 37, 36]);
    expect((await get('?to=2026-03-01')).body.entries).to.have.length(0);
  });

  it('exports every matching entry as NDJSON, oldest first, by format or by Accept header', async () => {
    const all = await get('?format=ndjson');
    expect(all.status).to.equal(200);
    expect(all.type).to.match(/^application\/x-ndjson/);
    const lines = (all.body as string).split('\n');
    expect(lines.pop()).to.equal('');
    expect(lines).to.have.length(TOTAL);
    expect(lines.map((line) => (JSON.parse(line) as Entry).seq)).to.deep.equal(
      Array.from({ length: TOTAL }, (_, i) => i + 1),
    );

    const filtered = await get(`?actor=${BOB}`, { accept: 'application/x-ndjson' });
    expect(filtered.type).to.match(/^application\/x-ndjson/);
    const bobLines = (filtered.body as string)
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Entry);
    expect(bobLines).to.have.length(20);
    expect(bobLines.every((e) => e.actor === BOB)).to.equal(true);

    const empty = await get('?format=ndjson&actor=nobody');
    expect(empty.status).to.equal(200);
    expect(empty.body).to.equal('');
  });

  it('refuses bad parameters with a 400 JSON error', async () => {
    for (const query of [
      '?limit=0',
      '?limit=501',
      '?limit=abc',
      '?limit=',
      '?from=yesterday',
      '?to=2026-13-01',
      '?unknown=1',
      `?actor=a&actor=b`,
      '?cursor=%24%24',
      '?cursor=YWJj',
      '?order=sideways',
      '?format=xml',
      '?action=DROP%20TABLE',
      `?from=${at(10)}&to=${at(5)}`,
      '?format=ndjson&limit=5',
    ]) {
      const response = await get(query);
      expect(response.status, query).to.equal(400);
      expect(response.type, query).to.match(/^application\/json/);
      expect(response.body.error.code, query).to.be.a('string');
    }
    expect((await get('?cursor=YWJj')).body.error.code).to.equal('invalid_cursor');
  });
});
