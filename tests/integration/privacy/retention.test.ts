import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { chatIdFor } from '#application/messaging/ids.js';
import { expireMessageContent } from '#application/privacy/privacy.js';
import { loadConfig } from '#infrastructure/config/config.js';
import { createLogger } from '#infrastructure/logging/logger.js';
import { Fernet } from '#infrastructure/secrets/fernet.js';
import { retentionJob } from '#interfaces/process/retention.js';
import { startScheduler, type Scheduler } from '#interfaces/process/scheduler.js';
import {
  ADMIN_PASSWORD,
  TEST_JWT_SECRET,
  createTestSchema,
  loginAs,
  request,
  startTestApp,
  type TestApp,
} from '../../support/app.js';
import { runCliIn } from '../../support/cli.js';
import { waitFor } from '../../support/events.js';
import { manualRuntime } from '../../support/runtime.js';

const CONTACT = '34633333333';
const CHAT = chatIdFor('simulator', CONTACT);

describe('message retention (MESSAGE_RETENTION_DAYS) by the scheduler, with a manual clock', function () {
  this.timeout(120_000);
  const fernetKey = Fernet.generateKey();
  const runtime = manualRuntime('2026-01-01T10:00:00.000Z');
  let schema: Awaited<ReturnType<typeof createTestSchema>>;
  let t: TestApp;
  let token: string;
  let scheduler: Scheduler | null = null;
  let cwd: string;
  let appClosed = false;
  const env = {
    NODE_ENV: 'test',
    JWT_SECRET: TEST_JWT_SECRET,
    ADMIN_PASSWORD,
    FERNET_KEYS: fernetKey,
    LOG_LEVEL: 'error',
  };
  const inbound = async (text: string) => {
    const response = await request(t.baseUrl, 'POST', '/api/simulator/messages', {
      token,
      body: { from: CONTACT, name: 'Carla Retenida', text },
    });
    expect(response.status, JSON.stringify(response.body)).to.equal(202);
  };
  const messages = async () => {
    const response = await request(t.baseUrl, 'GET', `/api/chats/${CHAT}/messages?limit=200`, { token });
    return (response.body.messages ?? []) as { direction: string; text: string | null }[];
  };
  const streamData = async (streamId: string) => {
    const response = await request(t.baseUrl, 'GET', `/api/streams/${streamId}`, { token });
    return ((response.body.events ?? []) as { type: string; data: Record<string, unknown> }[]).map(
      (e): Record<string, unknown> => ({ type: e.type, ...e.data }),
    );
  };

  before(async () => {
    cwd = await mkdtemp(join(tmpdir(), 'chatbot-retention-'));
    schema = await createTestSchema();
    t = await startTestApp({ databaseUrl: schema.url, env: { FERNET_KEYS: fernetKey }, runtime });
    token = (await loginAs(t.baseUrl, 'admin', ADMIN_PASSWORD)).access;
  });
  after(async () => {
    await scheduler?.stop();
    if (!appClosed) await t?.close();
    await schema?.drop();
    await rm(cwd, { recursive: true, force: true });
  });

  it('a setting outside 1-36500 days is refused at start with the fix; unset keeps content', () => {
    expect(() => loadConfig({ ...env, MESSAGE_RETENTION_DAYS: '0' })).to.throw(/MESSAGE_RETENTION_DAYS/);
    expect(() => loadConfig({ ...env, MESSAGE_RETENTION_DAYS: 'a year' })).to.throw(/whole number of days/);
    expect(loadConfig(env).privacy.messageRetentionDays).to.equal(null);
    expect(loadConfig({ ...env, MESSAGE_RETENTION_DAYS: '30' }).privacy.messageRetentionDays).to.equal(30);
  });

  it('content older than the window reads as [erased] everywhere; newer content and the contact stay; audited once', async () => {
    await inbound('OLD-CONTENT-JANUARY');
    runtime.set('2026-02-15T10:00:00.000Z');
    token = (await loginAs(t.baseUrl, 'admin', ADMIN_PASSWORD)).access; // the old token expired with the clock
    await inbound('NEW-CONTENT-FEBRUARY');
    await waitFor(async () => (await messages()).filter((m) => m.direction === 'in').length === 2, 20_000, 'both');

    const logger = createLogger({ level: 'error', service: 'scheduler' });
    const { store, contactKeys } = t.app.infra;
    scheduler = startScheduler({
      store,
      db: t.app.infra.db,
      logger,
      runtime,
      jobs: [retentionJob({ store, keys: contactKeys, runtime, logger, days: 30, intervalMs: 50 })],
    });
    await waitFor(
      async () => (await streamData('privacy-retention')).length === 1,
      20_000,
      'the retention run recorded',
    );
    const [run] = await streamData('privacy-retention');
    // January 1st's content key (the inbound text and the bot's answer of that day); February's stays
    expect(run).to.deep.include({
      type: 'MessageContentExpired',
      before: '2026-01-16',
      retentionDays: 30,
      keysDestroyed: 1,
      by: 'system',
    });

    const chat = (await streamData(`chat-${CHAT}`)).filter((e) => e.type === 'MessageReceived');
    expect(chat.map((e) => e.text)).to.deep.equal(['[erased]', 'NEW-CONTENT-FEBRUARY']);
    // retention is about content: who wrote stays (forgetting the contact erases that)
    expect(chat.map((e) => e.contact)).to.deep.equal([CONTACT, CONTACT]);
    await waitFor(
      async () => {
        const texts = (await messages()).filter((m) => m.direction === 'in').map((m) => m.text);
        return texts.includes('[erased]') && texts.includes('NEW-CONTENT-FEBRUARY');
      },
      20_000,
      'the read model erased the old text',
    );
    expect(JSON.stringify(await messages())).to.not.include('OLD-CONTENT-JANUARY');
    await waitFor(
      async () => {
        const audit = await request(t.baseUrl, 'GET', '/api/audit?action=messages.content_expired', { token });
        return (audit.body.entries as unknown[]).length === 1;
      },
      20_000,
      'the audit entry',
    );

    // a later run with nothing left to destroy records nothing
    const again = await expireMessageContent({ store: t.app.infra.store, keys: t.app.infra.contactKeys, runtime }, 30, {
      correlationId: 'retention-test-again',
      actor: 'system',
    });
    expect(again).to.deep.equal({ before: '2026-01-16', keysDestroyed: 0 });
    expect(await streamData('privacy-retention')).to.have.length(1);
  });

  it('a rebuild of the read models gives back exactly the rows the live projections wrote', async () => {
    await scheduler?.stop();
    scheduler = null;
    await t.app.close();
    appClosed = true;
    const knexRows = async () => {
      const { openPostgresDatabase } = await import('#infrastructure/sql/database.js');
      const db = openPostgresDatabase(schema.url);
      try {
        return {
          chats: await db.knex('chats').orderBy('chat_id').select('*'),
          messages: await db.knex('chat_messages').orderBy('message_id').select('*'),
          queue: await db.knex('outbound_queue').orderBy('message_id').select('*'),
        };
      } finally {
        await db.close();
      }
    };
    const live = await knexRows();
    expect(JSON.stringify(live)).to.not.include('OLD-CONTENT-JANUARY');
    const rebuilt = await runCliIn({ env: { ...env, DATABASE_URL: schema.url }, cwd }, [
      'projections',
      'rebuild',
      '--all',
    ]);
    expect(rebuilt.code, rebuilt.err).to.equal(0);
    expect(await knexRows()).to.deep.equal(live);
  });
});
