import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import type { NewEvent } from '#application/shared/eventStore.js';
import { eventRoutes } from '#interfaces/http/events/eventRoutes.js';
import { newEvent, uniqueName } from '../../support/events.js';
import { startRouterApp, type RouterTestApp } from '../../support/routerApp.js';
import { dropSchema, openTestSchema, type TestSchema } from '../../support/projections.js';

const ALICE = randomUUID();
const BOB = randomUUID();
const T0 = Date.parse('2026-03-01T00:00:00.000Z');
const at = (minutes: number) => new Date(T0 + minutes * 60_000).toISOString();
const HASH = '$argon2id$v=19$m=65536,t=3,p=4$do-not-leak-this-hash';
const CIPHERTEXT = 'gAAAAABdo-not-leak-this-ciphertext';

type Seeded = {
  id: string;
  type: string;
  streamId: string;
  actor: string;
  correlationId: string;
  occurredAt: string;
};
type View = {
  id: string;
  type: string;
  streamId: string;
  position: number;
  revision: number;
  data: any;
  metadata: any;
};

describe('GET /api/events, /api/events/chain, /api/events/{id}, /api/streams/{id}', function () {
  this.timeout(60_000);
  let t: TestSchema;
  let served: RouterTestApp;
  let base: string;
  let adminToken: string;
  let operatorToken: string;
  let viewerToken: string;
  const seeded: Seeded[] = [];
  const TOTAL = 30;
  const chain: Record<'root' | 'a' | 'b' | 'a1' | 'orphan', string> = {
    root: randomUUID(),
    a: randomUUID(),
    b: randomUUID(),
    a1: randomUUID(),
    orphan: randomUUID(),
  };
  const CHAIN_ID = 'incident-chain-0001';

  const append = async (streamId: string, event: NewEvent) => {
    await t.store.append(streamId, [event]);
    seeded.push({
      id: event.id,
      type: event.type,
      streamId,
      actor: event.metadata.actor,
      correlationId: event.metadata.correlationId,
      occurredAt: event.metadata.occurredAt,
    });
  };

  before(async () => {
    t = await openTestSchema(uniqueName('events_api'), { create: true });
    // 30 events, one per minute, in three kinds of streams; alice (even) and bob (odd); 5 per correlation id.
    for (let i = 0; i < TOTAL; i++) {
      const actor = i % 2 === 0 ? ALICE : BOB;
      const meta = { actor, occurredAt: at(i), correlationId: `correlation-${Math.floor(i / 5)}` };
      if (i === 7) {
        await append(
          `account-${ALICE}`,
          newEvent('PasswordChanged', { accountId: ALICE, passwordHash: HASH, changedBy: actor }, meta),
        );
      } else if (i === 8) {
        await append(
          'secret-openai',
          newEvent('SecretStored', { name: 'openai', ciphertext: CIPHERTEXT, keyFingerprint: 'aabbccdd' }, meta),
        );
      } else if (i % 3 === 0) {
        await append(`account-${ALICE}`, newEvent('LoginSucceeded', { accountId: ALICE, n: i }, meta));
      } else if (i % 3 === 1) {
        await append(`session-s${i}`, newEvent('SessionStarted', { n: i }, meta));
      } else {
        await append(`chat-sim-${i}`, newEvent('MessageReceived', { text: `hello ${i}`, n: i }, meta));
      }
    }
    // A causal chain: root → a → a1, root → b, and an orphan whose cause is not in the set.
    const chainMeta = (minutes: number, causationId: string | null) => ({
      actor: ALICE,
      correlationId: CHAIN_ID,
      causationId,
      occurredAt: new Date(T0 + 60 * 60_000 + minutes).toISOString(),
    });
    const withId = (id: string, type: string, minutes: number, causationId: string | null): NewEvent => ({
      ...newEvent(type, { step: type }, chainMeta(minutes, causationId)),
      id,
    });
    await append('process-chain', withId(chain.root, 'CommandReceived', 0, null));
    await append('process-chain', withId(chain.a, 'LlmCallStarted', 120, chain.root));
    await append('process-chain', withId(chain.b, 'MessageQueued', 250, chain.root));
    await append('process-chain', withId(chain.a1, 'LlmCallSucceeded', 1120, chain.a));
    await append('process-chain', withId(chain.orphan, 'MessageSent', 2000, randomUUID()));

    const roles = ['admin', 'operator', 'viewer'] as const;
    const sessionOf = Object.fromEntries(roles.map((role) => [role, randomUUID()])) as Record<
      (typeof roles)[number],
      string
    >;
    served = await startRouterApp({
      sessions: roles.map((role) => ({ accountId: ALICE, sessionId: sessionOf[role], username: 'alice', role })),
      // Small bounds, so paging and the scan bound are exercised with few events.
      routers: (identity) => [eventRoutes({ identity, store: t.store, scanLimits: { maxScanned: 12, batchSize: 4 } })],
    });
    base = served.base;
    const tokenFor = (role: 'admin' | 'operator' | 'viewer') =>
      served.tokenFor({ accountId: ALICE, sessionId: sessionOf[role] });
    adminToken = tokenFor('admin');
    operatorToken = tokenFor('operator');
    viewerToken = tokenFor('viewer');
  });

  after(async () => {
    await served.close();
    await t.close();
    await dropSchema(t.schema);
  });

  const get = async (path: string, options: { token?: string | null; accept?: string } = {}) => {
    const headers: Record<string, string> = {};
    const token = options.token === undefined ? adminToken : options.token;
    if (token) headers.authorization = `Bearer ${token}`;
    if (options.accept) headers.accept = options.accept;
    const response = await fetch(`${base}${path}`, { headers });
    const text = await response.text();
    let body: any = text;
    try {
      body = JSON.parse(text);
    } catch {
      // NDJSON or empty
    }
    return { status: response.status, headers: response.headers, text, body };
  };

  /** Follows next_cursor to the end; returns the event ids in the order served. */
  const all = async (query: string): Promise<{ ids: string[]; pages: number; views: View[] }> => {
    const views: View[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const sep = query === '' ? '' : '&';
      const response = await get(`/api/events?${query}${cursor ? `${sep}cursor=${cursor}` : ''}`);
      expect(response.status, JSON.stringify(response.body)).to.equal(200);
      expect(response.body.scanned).to.be.at.most(12);
      views.push(...(response.body.events as View[]));
      cursor = response.body.next_cursor as string | null;
      pages++;
      expect(pages, 'pages').to.be.below(100);
    } while (cursor !== null);
    return { ids: views.map((v) => v.id), pages, views };
  };

  const ids = (filter: (e: Seeded) => boolean) => seeded.filter(filter).map((e) => e.id);

  it('pages every event newest first by default, and oldest first with direction=forward', async () => {
    const backward = await all('limit=7');
    expect(backward.ids).to.deep.equal(ids(() => true).reverse());
    const positions = backward.views.map((v) => v.position);
    expect(positions).to.deep.equal([...positions].sort((a, b) => b - a));
    const forward = await all('direction=forward&limit=7');
    expect(forward.ids).to.deep.equal(ids(() => true));
    expect((await all('direction=backwards&limit=500')).ids).to.deep.equal(ids(() => true).reverse());
  });

  it('filters by type (repeated or comma list), stream prefix, actor, correlation id and time range', async () => {
    const cases: Array<[string, (e: Seeded) => boolean]> = [
      ['type=LoginSucceeded', (e) => e.type === 'LoginSucceeded'],
      ['type=LoginSucceeded&type=SessionStarted', (e) => ['LoginSucceeded', 'SessionStarted'].includes(e.type)],
      ['type=LoginSucceeded,MessageReceived', (e) => ['LoginSucceeded', 'MessageReceived'].includes(e.type)],
      [`stream=account-`, (e) => e.streamId.startsWith('account-')],
      ['stream=chat-sim-', (e) => e.streamId.startsWith('chat-sim-')],
      [`actor=${BOB}`, (e) => e.actor === BOB],
      ['correlation_id=correlation-2', (e) => e.correlationId === 'correlation-2'],
      [
        `from=${encodeURIComponent(at(10))}&to=${encodeURIComponent(at(20))}`,
        (e) => e.occurredAt >= at(10) && e.occurredAt < at(20),
      ],
      [
        `type=SessionStarted&actor=${BOB}&from=${encodeURIComponent(at(5))}`,
        (e) => e.type === 'SessionStarted' && e.actor === BOB && e.occurredAt >= at(5),
      ],
    ];
    for (const [query, predicate] of cases) {
      const expected = ids(predicate);
      expect(expected.length, query).to.be.greaterThan(0);
      expect((await all(`${query}&limit=3`)).ids, query).to.deep.equal([...expected].reverse());
      expect((await all(`${query}&limit=3&direction=forward`)).ids, query).to.deep.equal(expected);
    }
  });

  it('stops a sparse search at the scan bound and hands back a cursor to continue from', async () => {
    // correlation-0 is the 5 oldest events: the newest-first scan reads 12 positions per request.
    const first = await get('/api/events?correlation_id=correlation-0');
    expect(first.status).to.equal(200);
    expect(first.body.events).to.deep.equal([]);
    expect(first.body.scanned).to.equal(12);
    expect(first.body.next_cursor).to.be.a('string');
    const rest = await all('correlation_id=correlation-0');
    expect(rest.ids).to.deep.equal(ids((e) => e.correlationId === 'correlation-0').reverse());
    expect(rest.pages).to.be.greaterThan(2);
  });

  it('exports NDJSON (format=ndjson or Accept), oldest first, filtered, every matching event', async () => {
    const byFormat = await get('/api/events?format=ndjson&type=LoginSucceeded,PasswordChanged');
    expect(byFormat.status).to.equal(200);
    expect(byFormat.headers.get('content-type')).to.match(/^application\/x-ndjson/);
    const lines = byFormat.text
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as View);
    expect(lines.map((l) => l.id)).to.deep.equal(ids((e) => ['LoginSucceeded', 'PasswordChanged'].includes(e.type)));
    const byAccept = await get('/api/events', { accept: 'application/x-ndjson' });
    expect(byAccept.status).to.equal(200);
    expect(byAccept.text.trim().split('\n')).to.have.length(seeded.length);
    const paginated = await get('/api/events?format=ndjson&limit=5');
    expect(paginated.status).to.equal(400);
    expect(paginated.body.error.code).to.equal('export_not_paginated');
  });

  it('never serves a password hash or a ciphertext: not in pages, exports, one event or a stream', async () => {
    const hashEvent = seeded.find((e) => e.type === 'PasswordChanged')!;
    const responses = [
      await get('/api/events?type=PasswordChanged,SecretStored&direction=forward'),
      await get('/api/events?format=ndjson'),
      await get(`/api/events/${hashEvent.id}`),
      await get(`/api/streams/account-${ALICE}`),
      await get('/api/streams/secret-openai'),
    ];
    for (const response of responses) {
      expect(response.status).to.equal(200);
      expect(response.text).not.to.include('do-not-leak');
      expect(response.text).not.to.include('argon2id');
      expect(response.text).to.include('[redacted]');
    }
    const one = responses[2]!.body as View;
    expect(one.data).to.deep.equal({ accountId: ALICE, passwordHash: '[redacted]', changedBy: BOB });
  });

  it('answers 401 without a token and 403 to operators and viewers, on every route', async () => {
    const paths = ['/api/events', `/api/events/chain/${CHAIN_ID}`, `/api/events/${chain.root}`, '/api/streams/x'];
    for (const path of paths) {
      expect((await get(path, { token: null })).status, path).to.equal(401);
      for (const token of [operatorToken, viewerToken]) {
        const response = await get(path, { token });
        expect(response.status, path).to.equal(403);
        expect(response.body.error.code).to.equal('forbidden');
      }
    }
  });

  it('refuses bad input with a 400 and a clear code, and writes nothing', async () => {
    const headBefore = await t.store.headPosition();
    const cases: Array<[string, string]> = [
      ['/api/events?actor=a%00b', 'invalid_text'],
      ['/api/events?stream=account%01', 'invalid_text'],
      ['/api/events?type=Login%0ASucceeded', 'control_character'],
      ['/api/events?actor=%ED%A0%80', 'invalid_utf8'],
      ['/api/events?actor=%FF', 'invalid_utf8'],
      ['/api/events?cursor=zzz', 'invalid_cursor'],
      [`/api/events?cursor=${Buffer.from('p-1').toString('base64url')}`, 'invalid_cursor'],
      [`/api/events?cursor=${Buffer.from('12').toString('base64url')}`, 'invalid_cursor'],
      ['/api/events?cursor=a%2Fb', 'validation_failed'],
      ['/api/events?limit=0', 'validation_failed'],
      ['/api/events?limit=501', 'validation_failed'],
      ['/api/events?limit=ten', 'validation_failed'],
      ['/api/events?from=yesterday', 'validation_failed'],
      ['/api/events?from=2026-03-01T00:00:00', 'validation_failed'],
      [`/api/events?from=${encodeURIComponent(at(5))}&to=${encodeURIComponent(at(1))}`, 'validation_failed'],
      ['/api/events?type=Login%20Succeeded', 'validation_failed'],
      ['/api/events?type=,', 'validation_failed'],
      ['/api/events?direction=sideways', 'validation_failed'],
      ['/api/events?correlation_id=short', 'validation_failed'],
      ['/api/events?correlation_id=has%20space%20inside', 'validation_failed'],
      ['/api/events?unknown=1', 'validation_failed'],
      ['/api/events?format=ndjson&direction=backward', 'export_forward_only'],
      [`/api/events?stream=${'s'.repeat(201)}`, 'validation_failed'],
      ['/api/events/chain/short', 'invalid_correlation_id'],
      ['/api/events/chain/bad%00chain-id-x', 'nul_character'],
      ['/api/events/not-a-uuid', 'validation_failed'],
      [`/api/events/${chain.root}?include=everything`, 'validation_failed'],
      [`/api/events/${chain.root}?other=1`, 'validation_failed'],
      ['/api/streams/account%00x', 'nul_character'],
      ['/api/streams/process-chain?from_revision=-1', 'validation_failed'],
      ['/api/streams/process-chain?limit=1001', 'validation_failed'],
      ['/api/streams/process-chain?foo=bar', 'validation_failed'],
    ];
    for (const [path, code] of cases) {
      const response = await get(path);
      expect(response.status, path).to.equal(400);
      expect(response.body.error.code, path).to.equal(code);
      expect(response.body.error.message, path).to.be.a('string').and.not.equal('');
    }
    expect(await t.store.headPosition()).to.equal(headBefore);
  });

  it('reads one stream from a revision, page by page', async () => {
    const stream = seeded.filter((e) => e.streamId === 'process-chain');
    const first = await get('/api/streams/process-chain?limit=2');
    expect(first.status).to.equal(200);
    expect(first.body.events.map((v: View) => v.id)).to.deep.equal(stream.slice(0, 2).map((e) => e.id));
    expect(first.body.next_revision).to.equal(2);
    const rest = await get('/api/streams/process-chain?from_revision=2&limit=10');
    expect(rest.body.events.map((v: View) => v.revision)).to.deep.equal([2, 3, 4]);
    expect(rest.body.next_revision).to.equal(null);
    const past = await get('/api/streams/process-chain?from_revision=99');
    expect(past.status).to.equal(200);
    expect(past.body.events).to.deep.equal([]);
    const missing = await get('/api/streams/account-nobody');
    expect(missing.status).to.equal(404);
    expect(missing.body.error.code).to.equal('stream_not_found');
  });

  it('nests a correlation id into its causal tree, with the gap from each parent', async () => {
    const response = await get(`/api/events/chain/${CHAIN_ID}`);
    expect(response.status).to.equal(200);
    expect(response.body.complete).to.equal(true);
    expect(response.body.count).to.equal(5);
    type Node = View & { gapMs: number | null; occurredAt: string; recordedAt: string; children: Node[] };
    const shape = (node: Node): unknown => [node.type, node.gapMs, node.children.map(shape)];
    const roots = response.body.roots as Node[];
    expect(roots.map(shape)).to.deep.equal([
      [
        'CommandReceived',
        null,
        [
          ['LlmCallStarted', 120, [['LlmCallSucceeded', 1000, []]]],
          ['MessageQueued', 250, []],
        ],
      ],
      ['MessageSent', null, []],
    ]);
    expect(roots[0]!.recordedAt).to.be.a('string');
    expect(roots[0]!.occurredAt).to.equal(new Date(T0 + 60 * 60_000).toISOString());
    const unknown = await get('/api/events/chain/no-such-correlation');
    expect(unknown.status).to.equal(404);
    expect(unknown.body.error.code).to.equal('chain_not_found');
  });

  it('shows one event with its links, ancestors and descendants', async () => {
    const plain = await get(`/api/events/${chain.a}`);
    expect(plain.status).to.equal(200);
    expect(plain.body.type).to.equal('LlmCallStarted');
    expect(plain.body.metadata.causationId).to.equal(chain.root);
    expect(plain.body.links).to.deep.equal({
      causation: `/api/events/${chain.root}`,
      chain: `/api/events/chain/${CHAIN_ID}`,
      stream: '/api/streams/process-chain?from_revision=1',
    });
    expect(plain.body).not.to.have.property('ancestors');
    const withRelatives = await get(`/api/events/${chain.a1}?include=ancestors,descendants`);
    expect(withRelatives.body.ancestors.map((v: View) => v.id)).to.deep.equal([chain.a, chain.root]);
    expect(withRelatives.body.descendants).to.deep.equal([]);
    const fromRoot = await get(`/api/events/${chain.root}?include=descendants`);
    expect(fromRoot.body.descendants.map((v: View) => v.id)).to.deep.equal([chain.a, chain.b, chain.a1]);
    expect(fromRoot.body).not.to.have.property('ancestors');
    const missing = await get(`/api/events/${randomUUID()}`);
    expect(missing.status).to.equal(404);
    expect(missing.body.error.code).to.equal('event_not_found');
  });
});
