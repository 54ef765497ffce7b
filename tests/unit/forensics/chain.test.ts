import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { buildChain, redactData, relativesOf, type ChainNode } from '#application/forensics/eventQuery.js';
import type { RecordedEvent } from '#application/shared/eventStore.js';

let position = 0;
const event = (type: string, causationId: string | null, occurredMs: number, id = randomUUID()): RecordedEvent => ({
  id,
  type,
  streamId: 'process-test',
  revision: position,
  position: ++position,
  recordedAt: new Date(occurredMs).toISOString(),
  data: {},
  metadata: {
    correlationId: 'unit-chain-0001',
    causationId,
    actor: 'system',
    ip: null,
    userAgent: null,
    occurredAt: new Date(occurredMs).toISOString(),
    schemaVersion: 1,
  },
});
const shape = (nodes: ChainNode[]): unknown[] =>
  nodes.map((node) => [node.event.type, node.gapMs, ...(node.children.length ? [shape(node.children)] : [])]);

describe('causal chains', () => {
  it('nests events under their cause in position order, whatever order they come in, with the gap from the parent', () => {
    const root = event('Root', null, 1_000);
    const a = event('A', root.id, 1_040);
    const b = event('B', root.id, 1_010);
    const a1 = event('A1', a.id, 2_040);
    expect(shape(buildChain([a1, b, root, a]))).to.deep.equal([
      [
        'Root',
        null,
        [
          ['A', 40, [['A1', 1_000]]],
          ['B', 10],
        ],
      ],
    ]);
  });

  it('makes an event whose cause is missing, itself or a cycle a root instead of losing it', () => {
    const orphan = event('Orphan', randomUUID(), 0);
    const selfId = randomUUID();
    const self = event('Self', selfId, 0, selfId);
    const xId = randomUUID();
    const yId = randomUUID();
    const x = event('X', yId, 0, xId);
    const y = event('Y', xId, 5, yId);
    const chain = buildChain([orphan, self, x, y]);
    const count = (nodes: ChainNode[]): number => nodes.reduce((n, node) => n + 1 + count(node.children), 0);
    expect(count(chain)).to.equal(4);
    expect(chain.map((node) => node.event.type)).to.include.members(['Orphan', 'Self']);
  });

  it('finds the ancestors (nearest first) and the descendants of one event', () => {
    const root = event('Root', null, 0);
    const a = event('A', root.id, 1);
    const a1 = event('A1', a.id, 2);
    const b = event('B', root.id, 3);
    const { ancestors, descendants } = relativesOf(a1, [root, a, a1, b]);
    expect(ancestors.map((e) => e.type)).to.deep.equal(['A', 'Root']);
    expect(descendants).to.deep.equal([]);
    expect(relativesOf(root, [b, a1, a, root]).descendants.map((e) => e.type)).to.deep.equal(['A', 'A1', 'B']);
  });
});

describe('event data redaction', () => {
  it('replaces password hashes, ciphertexts, tokens and keys at any depth, and keeps the rest', () => {
    expect(
      redactData({
        accountId: 'a',
        passwordHash: '$argon2id$x',
        nested: [{ ciphertext: 'gAAAA', keyFingerprint: 'ab', token: 't', refreshTokenId: 'rt-1' }],
        credentials: { accessToken: 'x' },
        text: 'hello',
      }),
    ).to.deep.equal({
      accountId: 'a',
      passwordHash: '[redacted]',
      nested: [{ ciphertext: '[redacted]', keyFingerprint: 'ab', token: '[redacted]', refreshTokenId: 'rt-1' }],
      credentials: '[redacted]',
      text: 'hello',
    });
  });
});
