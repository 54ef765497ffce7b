import { readdirSync, readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { expect } from 'chai';
import {
  contentTime,
  keyPeriod,
  PERSONAL_EVENT_TYPES,
  personalFieldsOf,
  retentionCutoff,
} from '#domain/privacy/personalData.js';
import { decryptField, encryptField } from '#infrastructure/eventstore/shredding.js';

/** Field names that hold a phone number, a name or a text wherever they appear (domain/messaging/events.ts). */
const PERSONAL_NAMES = new Set(['contact', 'to', 'contactName', 'text', 'template']);
/** Same names that hold no personal data, each with its reason. */
const NOT_PERSONAL: Record<string, string> = {
  'FallbackUsed.to': "the next LLM provider's name",
};

/** Every `Event<'Type', { fields }>` of domain/<context>/events.ts, with its top-level field names. */
const catalogue = (): Map<string, string[]> => {
  const found = new Map<string, string[]>();
  const root = join(process.cwd(), 'domain');
  for (const context of readdirSync(root)) {
    let source: string;
    try {
      source = readFileSync(join(root, context, 'events.ts'), 'utf8');
    } catch {
      continue;
    }
    for (const match of source.matchAll(/Event<\s*'(\w+)',\s*\{([\s\S]*?)\}\s*>;/g)) {
      const body = match[2]!.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
      // top-level fields only: drop nested braces first
      let flat = body;
      while (/\{[^{}]*\}/.test(flat)) flat = flat.replace(/\{[^{}]*\}/g, '');
      found.set(
        match[1]!,
        [...flat.matchAll(/(?:^|[;,\n])\s*(\w+)\??:/g)].map((m) => m[1]!),
      );
    }
  }
  return found;
};

describe('the personal data catalogue (domain/privacy/personalData.ts)', () => {
  it('encrypts every field of the event catalogue named like personal data', () => {
    const events = catalogue();
    expect(events.size).to.be.greaterThan(20);
    expect(events.get('MessageReceived')).to.include.members(['contact', 'text', 'chatId']);
    const missing: string[] = [];
    for (const [type, fields] of events) {
      const declared = new Set(personalFieldsOf(type).map(([name]) => name));
      for (const field of fields)
        if (PERSONAL_NAMES.has(field) && !declared.has(field) && NOT_PERSONAL[`${type}.${field}`] === undefined)
          missing.push(`${type}.${field}`);
    }
    expect(missing, 'add them to PERSONAL_FIELDS (the event needs a chatId)').to.deep.equal([]);
  });

  it('covers the messaging events that copy a contact or a text', () => {
    expect(PERSONAL_EVENT_TYPES).to.have.members([
      'MessageReceived',
      'ConversationPaused',
      'ConversationResumed',
      'MessageQueued',
      'MessageScheduled',
    ]);
    expect(personalFieldsOf('MessageQueued').map(([name, spec]) => `${name}:${spec.class}`)).to.deep.equal([
      'to:identity',
      'text:content',
      'template:content',
    ]);
    expect(personalFieldsOf('LoginSucceeded')).to.deep.equal([]);
  });

  it("a scheduled message's content is keyed by the day it goes out, not the day it was planned", () => {
    expect(contentTime('MessageScheduled', { at: '2026-05-01T09:00:00.000Z' }, '2026-03-01T10:00:00.000Z')).to.equal(
      '2026-05-01T09:00:00.000Z',
    );
    expect(contentTime('MessageQueued', { at: '2026-05-01T09:00:00.000Z' }, '2026-03-01T10:00:00.000Z')).to.equal(
      '2026-03-01T10:00:00.000Z',
    );
  });

  it('content keys are per UTC day; retention keeps exactly the last N days', () => {
    expect(keyPeriod('identity', '2026-03-01T23:59:59.999Z')).to.equal('identity');
    expect(keyPeriod('content', '2026-03-01T23:59:59.999Z')).to.equal('2026-03-01');
    expect(retentionCutoff(new Date('2026-03-31T00:30:00.000Z'), 30)).to.equal('2026-03-01');
    expect(retentionCutoff(new Date('2026-01-05T12:00:00.000Z'), 10)).to.equal('2025-12-26');
  });

  it('field encryption is deterministic per event and field, authenticated, and bound to both', () => {
    const key = randomBytes(32);
    const a = encryptField(key, 'event-1', 'text', 'hola');
    expect(encryptField(key, 'event-1', 'text', 'hola')).to.equal(a);
    expect(encryptField(key, 'event-2', 'text', 'hola')).to.not.equal(a);
    expect(encryptField(key, 'event-1', 'contactName', 'hola')).to.not.equal(a);
    expect(decryptField(key, 'event-1', 'text', a)).to.equal('hola');
    expect(() => decryptField(key, 'event-2', 'text', a)).to.throw();
    expect(() => decryptField(randomBytes(32), 'event-1', 'text', a)).to.throw();
    const template = { name: 't', language: 'es', components: [{ type: 'body' }] };
    expect(decryptField(key, 'e', 'template', encryptField(key, 'e', 'template', template))).to.deep.equal(template);
  });
});
