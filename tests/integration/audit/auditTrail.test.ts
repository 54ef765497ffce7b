import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import type { EventStore, NewEvent } from '#application/shared/eventStore.js';
import { createPostgresEventStore } from '#infrastructure/eventstore/postgres.js';
import { openPgliteDatabase, type Database } from '#infrastructure/sql/database.js';
import { migrateLatest } from '#infrastructure/sql/migrate.js';
import { AUDIT_TABLE, auditLogProjection, readAuditRows, type AuditEntry } from '#projections/audit/auditLog.js';
import { chainHash } from '#projections/audit/hashChain.js';
import { verifyAuditTrail } from '#projections/audit/verify.js';
import { projectionStatus, rebuildProjection, startProjections, type ProjectionRunner } from '#projections/runner.js';
import { newEvent, waitFor } from '../../support/events.js';
import { openSchemaScenario } from '../../support/projections.js';

const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };
const ADMIN = randomUUID();
const HASH = '$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA';

/** A realistic day: an admin creates users, someone guesses passwords, secrets and processes change; plus noise the trail ignores (the last event is audited). */
const appendDay = async (store: EventStore, rounds: number): Promise<number> => {
  let audited = 0;
  const put = async (streamId: string, events: NewEvent[], auditable: number) => {
    await store.append(streamId, events);
    audited += auditable;
  };
  for (let i = 0; i < rounds; i++) {
    const accountId = randomUUID();
    const sessionId = randomUUID();
    const correlationId = `corr-${i}`;
    const asAdmin = { actor: ADMIN, correlationId, ip: `10.0.${i % 256}.1` };
    await put(
      `account-${accountId}`,
      [
        newEvent(
          'AccountCreated',
          { accountId, username: `user${i}`, role: 'operator', passwordHash: HASH, createdBy: ADMIN },
          asAdmin,
        ),
        newEvent(
          'LoginFailed',
          {
            accountId,
            username: `user${i}`,
            reason: 'wrong_password',
            failureCount: 1,
            lockedUntil: null,
            ip: '198.51.100.4',
          },
          { actor: accountId, ip: '198.51.100.4' },
        ),
        newEvent(
          'AccountLocked',
          { accountId, until: '2026-03-01T10:15:00.000Z', lockoutCount: 1, failures: 5 },
          { actor: 'system' },
        ),
      ],
      3,
    );
    await put(
      `session-${sessionId}`,
      [
        newEvent(
          'SessionStarted',
          { sessionId, accountId, refreshTokenId: randomUUID(), expiresAt: '2026-03-02T10:00:00.000Z' },
          { actor: accountId },
        ),
        newEvent(
          'AccessTokenIssued',
          { accountId, sessionId, jti: randomUUID(), expiresAt: '2026-03-01T10:15:00.000Z' },
          { actor: accountId },
        ),
      ],
      2,
    );
    await put(
      `secret-key${i}`,
      [
        newEvent(
          'SecretStored',
          { name: `key${i}`, ciphertext: 'gAAAAABfakefakefakefakefakefake', keyFingerprint: 'abcd1234', kind: 'other' },
          asAdmin,
        ),
      ],
      1,
    );
    await put(
      `chat-web-3460000${i}`,
      [
        newEvent('MessageReceived', { text: 'hola' }, { actor: 'system' }),
        newEvent(
          'MessageQueued',
          { messageId: randomUUID(), to: `3460000${i}`, text: 'bot reply' },
          { actor: 'system' },
        ),
        newEvent('MessageQueued', { messageId: randomUUID(), to: `3460000${i}`, text: 'from a human' }, asAdmin),
      ],
      0,
    );
    await put(
      `process-worker-web`,
      [
        newEvent(
          i % 2 ? 'ProcessStopped' : 'ProcessStarted',
          { name: 'worker-web', instance: `host:${i}`, role: 'worker-web' },
          asAdmin,
        ),
      ],
      1,
    );
  }
  return audited;
};

/** Every column of every row, in seq order. */
const snapshot = async (db: Database) => db.knex(AUDIT_TABLE).select('*').orderBy('seq');

const rowAt = async (db: Database, seq: number): Promise<AuditEntry> => (await readAuditRows(db.knex, seq - 1, 1))[0]!;

type Env = { db: Database; store: EventStore; close(): Promise<void> };

const scenarios = (label: string, open: () => Promise<Env>) => {
  describe(`the tamper-evident audit trail (${label})`, function () {
    this.timeout(60_000);
    let env: Env;
    const runners: ProjectionRunner[] = [];
    beforeEach(async () => {
      env = await open();
    });
    afterEach(async () => {
      for (const runner of runners.splice(0)) await runner.stop();
      await env.close();
    });

    const runUntilCaughtUp = async (batchSize = 7) => {
      const runner = startProjections({
        db: env.db,
        store: env.store,
        projections: [auditLogProjection],
        logger: quiet,
        batchSize,
        lockRetryMs: 100,
        pollIntervalMs: 50,
      });
      runners.push(runner);
      await waitFor(
        async () =>
          (await projectionStatus(env.db, env.store, [auditLogProjection]))[0]!.lagEvents === 0 &&
          runner.status()[0]!.state === 'live',
        30_000,
        'audit trail caught up',
      );
      return runner;
    };

    it('records one chained entry per audited event, secrets left out, and verifies clean', async () => {
      const audited = await appendDay(env.store, 6);
      await runUntilCaughtUp();
      const rows = await snapshot(env.db);
      expect(rows.map((row) => Number(row.seq))).to.deep.equal(Array.from({ length: audited }, (_, i) => i + 1));
      expect(JSON.stringify(rows))
        .to.not.include('argon2')
        .and.not.include('gAAAAA')
        .and.not.include('bot reply')
        .and.not.include('from a human');
      const entries = await readAuditRows(env.db.knex, 0, 1000);
      entries.forEach((entry, i) => expect(entry.prev_hash).to.equal(i === 0 ? '0'.repeat(64) : entries[i - 1]!.hash));

      const result = await verifyAuditTrail({ db: env.db, store: env.store, batchSize: 5 });
      expect(result).to.deep.equal({ ok: true, entries: audited, position: await env.store.headPosition() });
    });

    it('an IP changed in the table is named: its seq, its event and the column', async () => {
      await appendDay(env.store, 3);
      await runUntilCaughtUp();
      const victim = await rowAt(env.db, 4);
      await env.db.knex(AUDIT_TABLE).where({ seq: 4 }).update({ ip: '6.6.6.6' });

      const result = await verifyAuditTrail({ db: env.db, store: env.store });
      expect(result.ok).to.equal(false);
      if (result.ok) return;
      expect(result.entries).to.equal(3);
      expect(result.divergence).to.deep.include({ seq: 4, eventId: victim.event_id, kind: 'content', columns: ['ip'] });
      expect(result.divergence.expected).to.deep.equal({ ip: victim.ip });
      expect(result.divergence.actual).to.deep.equal({ ip: '6.6.6.6' });
    });

    it('an edit whose author also recomputed every hash after it is still caught by the event store', async () => {
      await appendDay(env.store, 3);
      await runUntilCaughtUp();
      const rows = await readAuditRows(env.db.knex, 0, 1000);
      let previous = rows[1]!.hash;
      for (const row of rows.slice(2)) {
        const content = { ...row, actor: row.seq === 3 ? 'someone-else' : row.actor } as Partial<AuditEntry>;
        delete content.prev_hash;
        delete content.hash;
        const hash = chainHash(previous, content);
        await env.db
          .knex(AUDIT_TABLE)
          .where({ seq: row.seq })
          .update({ actor: content.actor, prev_hash: previous, hash });
        previous = hash;
      }

      const result = await verifyAuditTrail({ db: env.db, store: env.store });
      expect(result.ok).to.equal(false);
      if (!result.ok) expect(result.divergence).to.deep.include({ seq: 3, kind: 'content', columns: ['actor'] });
    });

    it('a deleted row is named as missing, with the event it should come from', async () => {
      await appendDay(env.store, 3);
      await runUntilCaughtUp();
      const victim = await rowAt(env.db, 5);
      await env.db.knex(AUDIT_TABLE).where({ seq: 5 }).delete();

      const result = await verifyAuditTrail({ db: env.db, store: env.store });
      expect(result.ok).to.equal(false);
      if (!result.ok) expect(result.divergence).to.deep.include({ seq: 5, eventId: victim.event_id, kind: 'missing' });
    });

    it('a forged row no event accounts for is named as unexpected', async () => {
      const audited = await appendDay(env.store, 2);
      await runUntilCaughtUp();
      const last = await rowAt(env.db, audited);
      const { prev_hash: _p, hash: _h, ...lastContent } = last;
      const forged = { ...lastContent, seq: audited + 1, event_id: randomUUID(), action: 'user.enabled', details: {} };
      await env.db
        .knex(AUDIT_TABLE)
        .insert({ ...forged, details: '{}', prev_hash: last.hash, hash: chainHash(last.hash, forged) });

      const result = await verifyAuditTrail({ db: env.db, store: env.store });
      expect(result.ok).to.equal(false);
      if (!result.ok)
        expect(result.divergence).to.deep.include({
          seq: audited + 1,
          eventId: forged.event_id,
          kind: 'unexpected_row',
        });
    });

    it('a hash overwritten on its own is a hash mismatch at that row', async () => {
      await appendDay(env.store, 2);
      await runUntilCaughtUp();
      await env.db
        .knex(AUDIT_TABLE)
        .where({ seq: 2 })
        .update({ hash: 'f'.repeat(64) });

      const result = await verifyAuditTrail({ db: env.db, store: env.store });
      expect(result.ok).to.equal(false);
      if (!result.ok) expect(result.divergence).to.deep.include({ seq: 2, kind: 'hash_mismatch', columns: ['hash'] });
    });

    it('events the projection has not reached yet are lag, not divergence', async () => {
      const audited = await appendDay(env.store, 2);
      const runner = await runUntilCaughtUp();
      const position = await env.store.headPosition();
      await runner.stop();
      await appendDay(env.store, 2);

      expect(await verifyAuditTrail({ db: env.db, store: env.store })).to.deep.equal({
        ok: true,
        entries: audited,
        position,
      });
    });

    it('a rebuilt trail is identical to the live one, every column and every hash', async () => {
      await appendDay(env.store, 8);
      const runner = await runUntilCaughtUp(3);
      await runner.stop();
      const live = await snapshot(env.db);

      const result = await rebuildProjection({
        db: env.db,
        store: env.store,
        projection: auditLogProjection,
        batchSize: 50,
      });

      expect(result.replayedBy).to.equal('this_process');
      expect(await snapshot(env.db)).to.deep.equal(live);
      expect((await verifyAuditTrail({ db: env.db, store: env.store })).ok).to.equal(true);
    });

    it('applying an event twice does not fork the chain', async () => {
      await appendDay(env.store, 1);
      const [event] = await env.store.readAll({ maxCount: 1 });
      await env.db.knex.transaction(async (trx) => {
        await auditLogProjection.apply(trx, event!);
        await auditLogProjection.apply(trx, event!);
      });
      await env.db.knex.transaction(async (trx) => auditLogProjection.apply(trx, event!));
      expect(await snapshot(env.db)).to.have.length(1);
    });
  });
};

scenarios('PostgreSQL', () => openSchemaScenario('audit'));

// Opening PGlite takes seconds: one database, one story from projection to tampering.
describe('the tamper-evident audit trail (embedded PGlite)', function () {
  this.timeout(120_000);
  it('projects, verifies, rebuilds identically and names a tampered row', async () => {
    const db = openPgliteDatabase(null);
    const store = await createPostgresEventStore({ executor: db.executor, pollIntervalMs: 50 });
    await migrateLatest(db);
    const runner = startProjections({
      db,
      store,
      projections: [auditLogProjection],
      logger: quiet,
      batchSize: 4,
      lockRetryMs: 100,
      pollIntervalMs: 50,
    });
    try {
      const audited = await appendDay(store, 4);
      await waitFor(
        async () =>
          (await projectionStatus(db, store, [auditLogProjection]))[0]!.lagEvents === 0 &&
          runner.status()[0]!.state === 'live',
        60_000,
        'caught up',
      );
      await runner.stop();
      expect(await verifyAuditTrail({ db, store })).to.deep.include({ ok: true, entries: audited });

      const live = await snapshot(db);
      await rebuildProjection({ db, store, projection: auditLogProjection, batchSize: 5 });
      expect(await snapshot(db)).to.deep.equal(live);

      await db.knex(AUDIT_TABLE).where({ seq: 6 }).update({ ip: '6.6.6.6' });
      const result = await verifyAuditTrail({ db, store });
      expect(result.ok).to.equal(false);
      if (!result.ok) expect(result.divergence).to.deep.include({ seq: 6, kind: 'content', columns: ['ip'] });
    } finally {
      await runner.stop();
      await store.close();
      await db.close();
    }
  });
});
