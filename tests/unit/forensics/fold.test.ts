import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { changedPaths } from '#application/forensics/replay.js';
import { familyOf, foldEvents, plainState, stateView } from '#application/forensics/timeTravel.js';
import type { RecordedEvent } from '#application/shared/eventStore.js';

let revision = 0;
const recorded = (
  streamId: string,
  type: string,
  data: Record<string, unknown>,
  occurredAt: string,
): RecordedEvent => ({
  id: randomUUID(),
  type,
  streamId,
  revision: revision++,
  position: revision,
  recordedAt: occurredAt,
  data,
  metadata: {
    correlationId: 'unit-fold-0001',
    causationId: null,
    actor: 'system',
    ip: null,
    userAgent: null,
    occurredAt,
    schemaVersion: 1,
  },
});

describe('forensics folds (the live deciders, per stream family)', () => {
  it('names the family of a stream by prefix or whole id, and none for streams without a decider', () => {
    const kinds = [
      'account-1',
      'chat-x',
      'number-sim',
      'message-m1',
      'process-app',
      'secret-openai',
      'llm-force',
      'llm-settings',
      'llm-provider-primary',
      'llm-turn-1',
      'session-1',
      'llm-forced',
      'account-',
    ].map((id) => familyOf(id)?.kind ?? null);
    expect(kinds).to.deep.equal([
      'account',
      'chat',
      'number',
      'message',
      'process',
      'secret',
      'llm-force',
      'llm-settings',
      'llm-provider',
      null,
      null,
      null,
      null,
    ]);
  });

  it('folds a number with its decider, skipping types the decider does not evolve', () => {
    const f = familyOf('number-n1')!;
    const folded: RecordedEvent[] = [];
    const state = foldEvents(
      f,
      f.initialState(),
      [
        recorded(
          'number-n1',
          'NumberAdded',
          { numberId: 'n1', name: 'One', kind: 'simulator', credentialsSecret: null, phoneNumberId: null, by: 'a' },
          '2026-01-01T00:00:00.000Z',
        ),
        recorded('number-n1', 'SomethingElse', {}, '2026-01-01T00:00:01.000Z'),
        recorded('number-n1', 'NumberDisabled', { numberId: 'n1', by: 'a' }, '2026-01-01T00:00:02.000Z'),
      ],
      folded,
    );
    expect(state).to.include({ status: 'disabled', name: 'One' });
    expect(folded.map((e) => e.type)).to.deep.equal(['NumberAdded', 'NumberDisabled']);
    expect(f.summary(state, folded, '2026-01-01T00:00:03.000Z')).to.deep.equal({ exists: true, status: 'disabled' });
  });

  it('folds a provider circuit from its recorded transitions, with the time of each', () => {
    const f = familyOf('llm-provider-p')!;
    const state = foldEvents(f, f.initialState(), [
      recorded(
        'llm-provider-p',
        'ProviderCircuitOpened',
        { provider: 'p', halfOpenAfterMs: 30000 },
        '2026-01-01T00:00:00.000Z',
      ),
      recorded('llm-provider-p', 'ProviderCircuitHalfOpened', { provider: 'p' }, '2026-01-01T00:00:30.000Z'),
    ]);
    expect(state).to.deep.equal({ circuit: 'half_open', since: '2026-01-01T00:00:30.000Z', halfOpenAfterMs: null });
  });

  it('says whether a forced provider was in force at the instant asked about', () => {
    const f = familyOf('llm-force')!;
    const forced = [
      recorded(
        'llm-force',
        'ProviderForced',
        { provider: 'local', minutes: 10, until: '2026-01-01T00:10:00.000Z', previousProvider: null, by: 'a' },
        '2026-01-01T00:00:00.000Z',
      ),
    ];
    const state = foldEvents(f, f.initialState(), forced);
    expect(f.summary(state, forced, '2026-01-01T00:05:00.000Z')).to.deep.equal({
      forcedInForce: { provider: 'local', until: '2026-01-01T00:10:00.000Z' },
    });
    expect(f.summary(state, forced, '2026-01-01T00:11:00.000Z')).to.deep.equal({ forcedInForce: null });
  });

  it('shows Sets as arrays in insertion order (a count past 100) and redacts secrets', () => {
    expect(plainState({ running: new Set(['b', 'a']) })).to.deep.equal({ running: ['b', 'a'] });
    const many = plainState(new Set(Array.from({ length: 150 }, (_, i) => i))) as { size: number; first: number[] };
    expect(many.size).to.equal(150);
    expect(many.first).to.have.length(100);
    expect(stateView({ status: 'stored', ciphertext: 'gAAAA-x', nested: { passwordHash: 'h' } })).to.deep.equal({
      status: 'stored',
      ciphertext: '[redacted]',
      nested: { passwordHash: '[redacted]' },
    });
  });

  it('lists the JSON paths one event changed', () => {
    expect(changedPaths({ status: 'none' }, { status: 'active', lockout: { failures: [] } })).to.deep.equal([
      'lockout',
      'status',
    ]);
    expect(changedPaths({ a: { b: 1, c: [1] } }, { a: { b: 1, c: [1, 2] } })).to.deep.equal(['a.c']);
    expect(changedPaths({ a: 1 }, { a: 1 })).to.deep.equal([]);
    expect(changedPaths(null, { a: 1 })).to.deep.equal(['(state)']);
  });
});
