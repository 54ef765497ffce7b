import { createHash } from 'node:crypto';
import { expect } from 'chai';
import {
  auditChainHash,
  canonicalAuditJson,
  canonicalJson,
  chain,
  chainHash,
  findChainBreak,
  GENESIS_HASH,
  NotCanonicalisableError,
} from '#projections/audit/hashChain.js';

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

describe('audit hash chain', () => {
  describe('canonical JSON', () => {
    it('sorts object keys at every depth and leaves no whitespace', () => {
      expect(canonicalJson({ b: 1, a: { d: [3, { z: true, y: null }], c: 'x' } })).to.equal(
        '{"a":{"c":"x","d":[3,{"y":null,"z":true}]},"b":1}',
      );
    });

    it('gives the same text for the same content whatever the key order', () => {
      expect(canonicalJson({ seq: 1, actor: 'a', details: { x: 1, y: 2 } })).to.equal(
        canonicalJson({ details: { y: 2, x: 1 }, actor: 'a', seq: 1 }),
      );
    });

    it('escapes strings like JSON and keeps non-ASCII text as is', () => {
      expect(canonicalJson({ t: 'quote " slash \\ newline \n ñ 😀' })).to.equal(
        `{"t":${JSON.stringify('quote " slash \\ newline \n ñ 😀')}}`,
      );
    });

    it('refuses values that would not survive a round trip through the database', () => {
      expect(() => canonicalJson({ a: undefined })).to.throw(NotCanonicalisableError, /a/);
      expect(() => canonicalJson({ n: Number.NaN })).to.throw(NotCanonicalisableError);
      expect(() => canonicalJson({ n: Infinity })).to.throw(NotCanonicalisableError);
      expect(() => canonicalJson({ d: new Date() })).to.throw(NotCanonicalisableError, /plain objects/);
    });
  });

  describe('chaining', () => {
    it('hashes the previous hash followed by the canonical content with SHA-256', () => {
      const content = { seq: 1, action: 'login.failed' };
      expect(chainHash(GENESIS_HASH, content)).to.equal(sha256(`${'0'.repeat(64)}{"action":"login.failed","seq":1}`));
    });

    it('links each entry to the previous one, the first to 64 zeros', () => {
      const linked = chain([{ seq: 1 }, { seq: 2 }, { seq: 3 }]);
      expect(linked[0]!.prevHash).to.equal(GENESIS_HASH);
      expect(linked[1]!.prevHash).to.equal(linked[0]!.hash);
      expect(linked[2]!.prevHash).to.equal(linked[1]!.hash);
      expect(new Set(linked.map((entry) => entry.hash)).size).to.equal(3);
      expect(findChainBreak(linked)).to.equal(null);
    });

    it('changing one entry changes its hash and every hash after it', () => {
      const original = chain([
        { seq: 1, ip: '10.0.0.1' },
        { seq: 2, ip: '10.0.0.2' },
        { seq: 3, ip: '10.0.0.3' },
      ]);
      const altered = chain([
        { seq: 1, ip: '10.0.0.1' },
        { seq: 2, ip: '6.6.6.6' },
        { seq: 3, ip: '10.0.0.3' },
      ]);
      expect(altered[0]!.hash).to.equal(original[0]!.hash);
      expect(altered[1]!.hash).to.not.equal(original[1]!.hash);
      expect(altered[2]!.hash).to.not.equal(original[2]!.hash);
    });

    it('finds an entry whose content was edited without recomputing its hash', () => {
      const linked = chain([{ seq: 1 }, { seq: 2, ip: 'a' }, { seq: 3 }]);
      const tampered = linked.map((entry, i) => (i === 1 ? { ...entry, content: { seq: 2, ip: 'b' } } : entry));
      expect(findChainBreak(tampered)).to.deep.equal({ index: 1, kind: 'hash_mismatch' });
    });

    it('finds a removed entry as a broken link', () => {
      const linked = chain([{ seq: 1 }, { seq: 2 }, { seq: 3 }]);
      expect(findChainBreak([linked[0]!, linked[2]!])).to.deep.equal({ index: 1, kind: 'broken_link' });
    });
  });

  describe('canonical JSON of an audit entry (the fast path)', () => {
    const entry = {
      seq: 7,
      event_id: '0b6f1c1e-6a51-4c52-9e0f-1d2c3b4a5f60',
      position: 123456,
      occurred_at: '2026-01-05T08:00:00.007Z',
      actor: 'user-ñ-\u00e9-"quoted"\\',
      action: 'login.failed',
      target: null,
      ip: '10.0.0.1',
      outcome: 'failure',
      correlation_id: null,
      details: { username: 'ada', failureCount: 3, lockedUntil: null, nested: { b: [1, 'x'], a: true } },
    };

    it('gives the same bytes, and so the same hash, as canonicalJson', () => {
      const variants: Array<Record<string, unknown>> = [
        entry,
        { ...entry, target: 'acc-1', correlation_id: 'c-1', details: {} },
        { ...entry, actor: '\u{1F600} emoji \u2028 line sep \n', position: 0, seq: 1 },
        // other shapes fall back to the generic serialiser
        { ...entry, extra: 1 },
        { ...entry, target: 5 },
        (({ ip: _ip, ...rest }) => rest)(entry),
      ];
      for (const content of variants) {
        expect(canonicalAuditJson(content)).to.equal(canonicalJson(content));
        expect(auditChainHash(GENESIS_HASH, content)).to.equal(chainHash(GENESIS_HASH, content));
      }
    });

    it('refuses what canonicalJson refuses', () => {
      expect(() => canonicalAuditJson({ ...entry, position: Number.NaN })).to.throw(NotCanonicalisableError);
      expect(() => canonicalAuditJson({ ...entry, details: { x: undefined } })).to.throw(NotCanonicalisableError);
    });
  });
});
