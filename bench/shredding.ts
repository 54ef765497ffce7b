/**
 * Crypto-shredding cost: reading and appending messaging events through the shredding decorator
 * (infrastructure/eventstore/shredding.ts) against the same PostgreSQL store without it.
 *
 *   npx tsx bench/shredding.ts            # writes bench/results/shredding.json
 *   options: BENCH_PG_URL (default postgres://postgres@127.0.0.1:5432/test), BENCH_EVENTS (default 20000)
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import pg from 'pg';
import type { EventStore, NewEvent } from '../application/shared/eventStore.js';
import { createPostgresEventStore } from '../infrastructure/eventstore/postgres.js';
import { withShredding } from '../infrastructure/eventstore/shredding.js';
import { createContactKeys } from '../infrastructure/privacy/contactKeys.js';
import { Fernet } from '../infrastructure/secrets/fernet.js';
import { createSecretCipher } from '../infrastructure/secrets/secretCipher.js';
import { openPostgresDatabase } from '../infrastructure/sql/database.js';
import { migrateLatest } from '../infrastructure/sql/migrate.js';

const URL_BASE = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const EVENTS = Number(process.env.BENCH_EVENTS ?? 20_000);
const CHATS = 1_000;
const BATCH = 100;

const received = (chat: number, n: number): NewEvent => ({
  id: randomUUID(),
  type: 'MessageReceived',
  data: {
    messageId: randomUUID(),
    numberId: 'bench',
    chatId: `00000000-0000-4000-8000-${String(chat).padStart(12, '0')}`,
    contact: `346${String(chat).padStart(8, '0')}`,
    contactName: `Contact ${chat}`,
    providerMessageId: randomUUID(),
    kind: 'text',
    text: `message ${n} of a benchmark conversation, about as long as a real one`,
    sentAt: new Date().toISOString(),
  },
  metadata: {
    correlationId: randomUUID(),
    causationId: null,
    actor: 'system',
    ip: null,
    userAgent: null,
    occurredAt: new Date().toISOString(),
    schemaVersion: 1,
  },
});

const measure = async (store: EventStore, label: string) => {
  const events = Array.from({ length: EVENTS }, (_, n) => received(n % CHATS, n));
  let started = performance.now();
  for (let i = 0; i < events.length; i += BATCH) {
    const batch = events.slice(i, i + BATCH);
    // one stream per chat within a batch, as the chat decider appends
    const byChat = new Map<string, NewEvent[]>();
    for (const e of batch) byChat.set(e.data.chatId as string, [...(byChat.get(e.data.chatId as string) ?? []), e]);
    await Promise.all([...byChat].map(([chatId, list]) => store.append(`chat-${label}-${chatId}`, list)));
  }
  const appendSeconds = (performance.now() - started) / 1000;
  started = performance.now();
  let read = 0;
  let after = 0;
  for (;;) {
    const page = await store.readAll({ after, maxCount: 1000, filter: { streamPrefixes: [`chat-${label}-`] } });
    read += page.length;
    if (page.length < 1000) break;
    after = page[page.length - 1]!.position;
  }
  const readSeconds = (performance.now() - started) / 1000;
  return {
    appendEventsPerSecond: Math.round(EVENTS / appendSeconds),
    readEventsPerSecond: Math.round(read / readSeconds),
  };
};

const main = async () => {
  const schema = `bench_shred_${randomUUID().slice(0, 8)}`;
  const admin = new pg.Client({ connectionString: URL_BASE });
  await admin.connect();
  await admin.query(`create schema "${schema}"`);
  const url = `${URL_BASE}?options=${encodeURIComponent(`-c search_path=${schema}`)}`;
  const db = openPostgresDatabase(url);
  try {
    await migrateLatest(db);
    if (db.kind !== 'postgres') throw new Error('PostgreSQL only');
    const raw = await createPostgresEventStore({ executor: db.executor });
    const keys = createContactKeys({ knex: db.knex, cipher: createSecretCipher([Fernet.generateKey()]) });
    const shredded = withShredding(raw, keys);
    const plain = await measure(raw, 'plain');
    const withKeys = await measure(shredded, 'shredded');
    const result = {
      when: new Date().toISOString(),
      machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model ?? 'unknown' },
      events: EVENTS,
      chats: CHATS,
      batch: BATCH,
      plain,
      shredded: withKeys,
      note: 'MessageReceived events (3 personal fields each) on the local PostgreSQL; read = readAll pages of 1,000 with decryption; shared machine, figures are indicative',
    };
    console.log(JSON.stringify(result, null, 2));
    mkdirSync('bench/results', { recursive: true });
    writeFileSync('bench/results/shredding.json', `${JSON.stringify(result, null, 2)}\n`);
    await raw.close();
  } finally {
    await db.close();
    await admin.query(`drop schema if exists "${schema}" cascade`);
    await admin.end();
  }
};

await main();
