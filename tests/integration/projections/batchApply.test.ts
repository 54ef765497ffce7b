import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import type { EventStore } from '#application/shared/eventStore.js';
import { type Database } from '#infrastructure/sql/database.js';
import { allProjections } from '#projections/registry.js';
import type { Projection } from '#projections/runner.js';
import { applyBatch, resetProjection, scanAfter } from '#projections/shared/checkpoints.js';
import { newEvent } from '../../support/events.js';
import { dumpTables, openPgliteScenario, openSchemaScenario } from '../../support/projections.js';
import { appendWorkload } from '../../support/replayWorkload.js';

/** Empties the projection and replays every matching event, `batchSize` at a time. */
const buildFromScratch = async (db: Database, store: EventStore, projection: Projection, batchSize: number) => {
  await resetProjection(db.knex, projection);
  let position = 0;
  for (;;) {
    const { events, scannedTo } = await scanAfter(store, position, projection.handles, batchSize);
    if (events.length === 0 && scannedTo <= position) return;
    position = await applyBatch(db.knex, projection, position, events, scannedTo);
  }
};

/** Cases the generated workload rarely reaches: locks, disables, failures, dead letters, circuits. */
const appendEdgeCases = async (store: EventStore) => {
  const accountId = randomUUID();
  const at = (s: number) => new Date(Date.UTC(2026, 0, 6, 9, 0, s)).toISOString();
  const m = (s: number) => ({ occurredAt: at(s) });
  await store.append(`account-${accountId}`, [
    newEvent('AccountCreated', { accountId, username: 'edge', role: 'viewer', createdBy: 'x' }, m(1)),
    newEvent(
      'LoginFailed',
      { accountId, reason: 'bad_password', ip: '10.0.0.9', failureCount: 3, accountFailureCount: 4 },
      m(2),
    ),
    newEvent('AccountLocked', { accountId, username: 'edge', until: at(50), lockoutCount: 1, failures: 5 }, m(3)),
    newEvent('AccountEnabled', { accountId, by: 'x' }, m(4)),
    newEvent('AccountDisabled', { accountId, by: 'x' }, m(5)),
    newEvent('AccountLocked', { accountId, username: 'edge', until: at(59), lockoutCount: 2, failures: 5 }, m(6)),
    newEvent('AccountUnlocked', { accountId, by: 'x' }, m(7)),
    newEvent('LoginFailed', { accountId, reason: 'account_locked', ip: null, failureCount: 9 }, m(8)),
    newEvent('RoleChanged', { accountId, role: 'admin', changedBy: 'x' }, m(9)),
    newEvent('PasswordChanged', { accountId, changedBy: 'x' }, m(10)),
    newEvent('LoginSucceeded', { accountId, sessionId: 's', at: at(11), ip: '10.0.0.1', userAgent: null }, m(11)),
  ]);
  const sessionId = randomUUID();
  await store.append(`session-${sessionId}`, [
    newEvent('SessionRevoked', { sessionId, accountId, reason: 'password_changed', by: 'x' }, m(12)),
    newEvent('SessionStarted', { sessionId, accountId, refreshTokenId: 'r', expiresAt: at(40) }, m(13)),
    newEvent('RefreshTokenRotated', { sessionId, previousTokenId: 'r', refreshTokenId: 'q', expiresAt: at(45) }, m(14)),
  ]);
  const other = randomUUID();
  await store.append(`session-${other}`, [
    newEvent('SessionStarted', { sessionId: other, accountId, refreshTokenId: 'r', expiresAt: at(40) }, m(15)),
    newEvent(
      'RefreshTokenRotated',
      { sessionId: other, previousTokenId: 'r', refreshTokenId: 'q', expiresAt: at(46) },
      m(16),
    ),
    newEvent('SessionRevoked', { sessionId: other, accountId, reason: 'logout', by: 'x' }, m(17)),
  ]);
  const numberId = 'edge-n';
  await store.append(`number-${numberId}`, [
    newEvent(
      'NumberAdded',
      { numberId, name: 'n', kind: 'simulator', credentialsSecret: null, phoneNumberId: null },
      m(18),
    ),
    newEvent('NumberDisabled', { numberId, by: 'x' }, m(19)),
    newEvent('NumberEnabled', { numberId, by: 'x' }, m(20)),
  ]);
  const chatId = `${numberId}:+34999`;
  const message = (messageId: string) => ({ messageId, numberId, chatId });
  const a = randomUUID();
  const b = randomUUID();
  await store.append(`chat-${chatId}`, [
    newEvent('ConversationPaused', { chatId, numberId, contact: '+34999', by: 'x' }, m(21)),
    newEvent(
      'MessageReceived',
      {
        ...message(randomUUID()),
        contact: '+34999',
        contactName: null,
        providerMessageId: 'p1',
        kind: 'image',
        text: null,
        sentAt: at(20),
      },
      m(22),
    ),
    newEvent('ConversationResumed', { chatId, numberId, contact: '+34999', by: 'x' }, m(23)),
  ]);
  await store.append(`message-${a}`, [
    newEvent(
      'MessageQueued',
      {
        ...message(a),
        to: '+34999',
        text: null,
        template: { name: 'hello', language: 'es', parameters: [] },
        source: 'operator',
      },
      m(24),
    ),
    newEvent('MessageSendAttempted', { ...message(a), attempt: 1 }, m(25)),
    newEvent(
      'MessageSendFailed',
      { ...message(a), attempt: 1, retryable: true, code: 'e1', error: 'x', nextAttemptAt: at(30) },
      m(26),
    ),
    newEvent('MessageSendAttempted', { ...message(a), attempt: 2 }, m(27)),
    newEvent(
      'MessageSendFailed',
      { ...message(a), attempt: 2, retryable: false, code: 'e2', error: 'y', nextAttemptAt: null },
      m(28),
    ),
    newEvent('MessageDeadLettered', { ...message(a), attempts: 2, reason: 'permanent_error', code: 'e2' }, m(29)),
    newEvent('MessageRequeued', { ...message(a), by: 'x' }, m(30)),
    newEvent('MessageSendAttempted', { ...message(a), attempt: 3 }, m(31)),
    newEvent('MessageSent', { ...message(a), attempt: 3, providerMessageId: 'pa', resolvedFromStatus: false }, m(32)),
    newEvent(
      'MessageStatusUpdated',
      { ...message(a), providerMessageId: 'pa', status: 'read', at: at(33), errorCode: null, errorTitle: null },
      m(33),
    ),
    newEvent(
      'MessageStatusUpdated',
      { ...message(a), providerMessageId: 'pa', status: 'delivered', at: at(34), errorCode: null, errorTitle: null },
      m(34),
    ),
  ]);
  await store.append(`message-${b}`, [
    newEvent('MessageQueued', { ...message(b), to: '+34999', text: 'hi', template: null, source: 'bot' }, m(35)),
    newEvent(
      'MessageStatusUpdated',
      { ...message(b), providerMessageId: 'pb', status: 'failed', at: at(36), errorCode: '131', errorTitle: 't' },
      m(36),
    ),
    newEvent('MessageDropped', { ...message(b), by: 'x' }, m(37)),
  ]);
  await store.append(`number-${numberId}`, [newEvent('NumberRemoved', { numberId, by: 'x' }, m(38))]);
  await store.append('llm-provider-openai', [
    newEvent('ProviderCircuitOpened', { provider: 'openai', halfOpenAfterMs: 1000 }, m(39)),
    newEvent('ProviderCircuitHalfOpened', { provider: 'openai' }, m(40)),
    newEvent('ProviderCircuitClosed', { provider: 'openai' }, m(41)),
  ]);
};

const scenarios = (label: string, open: () => Promise<{ db: Database; store: EventStore; close(): Promise<void> }>) => {
  describe(`batch apply equals applying event by event (${label})`, function () {
    this.timeout(240_000);
    let env: { db: Database; store: EventStore; close(): Promise<void> };
    before(async () => {
      env = await open();
      await appendWorkload(env.store, { events: 1_500, accounts: 20, chats: 40 });
      await appendEdgeCases(env.store);
      await appendWorkload(env.store, { events: 500, accounts: 10, chats: 15 });
    });
    after(async () => {
      await env?.close();
    });

    for (const projection of allProjections().filter((p) => p.applyBatch !== undefined)) {
      it(`${projection.name}: the same rows, whatever the batch size`, async () => {
        const perEvent: Projection = { ...projection, applyBatch: undefined };
        await buildFromScratch(env.db, env.store, perEvent, 100);
        const reference = await dumpTables(env.db.knex, projection);
        expect(Object.values(reference).some((rows) => rows.length > 0)).to.equal(true, 'the workload wrote rows');
        for (const batchSize of [13, 5_000]) {
          await buildFromScratch(env.db, env.store, projection, batchSize);
          expect(await dumpTables(env.db.knex, projection)).to.deep.equal(reference, `batches of ${batchSize}`);
        }
      });
    }
  });
};

scenarios('PostgreSQL', () => openSchemaScenario('proj_batch'));

scenarios('embedded PGlite', openPgliteScenario);
