import { expect } from 'chai';
import type { RecordedEvent as EsdbRecordedEvent } from '@eventstore/db-client';
import { DuplicateEventIdError } from '#application/shared/eventStore.js';
import { retryOutcome, sameJson } from '#infrastructure/eventstore/eventStoreDbMapping.js';
import { newEvent } from '../../support/events.js';

/** What the client hands back for a stored JSON event (the fields retryOutcome reads). */
const stored = (event: { id: string; type: string; data: unknown }, revision: number): EsdbRecordedEvent =>
  ({
    streamId: 's',
    id: event.id,
    type: event.type,
    data: event.data,
    metadata: {},
    isJson: true,
    revision: BigInt(revision),
    created: new Date(),
    position: { commit: BigInt(1000 + revision), prepare: BigInt(1000 + revision) },
  }) as unknown as EsdbRecordedEvent;

describe('EventStoreDB adapter: recognising a retry among the stream’s last events', () => {
  const [a, b, c] = [newEvent('A', { n: 1, tags: ['x'] }), newEvent('B', { n: 2 }), newEvent('C')];
  // Newest first, as a backwards read returns them: a and b at 4 and 5, then c at 6.
  const recent = [stored(c, 6), stored(b, 5), stored(a, 4)];

  it('none of the ids there: append it', () => {
    expect(retryOutcome([newEvent('D')], recent)).to.equal(null);
  });

  it('all of them, in order, same content: nothing written, the original revision and position', () => {
    expect(retryOutcome([a, b], recent)).to.deep.equal({ nextExpectedRevision: 5, position: 1005, idempotent: true });
    // Key order does not make another event.
    expect(retryOutcome([{ ...a, data: { tags: ['x'], n: 1 } }], recent)).to.deep.include({ idempotent: true });
  });

  it('some of them, another order, or other content: a duplicate id', () => {
    expect(retryOutcome([a, newEvent('D')], recent)).to.be.instanceOf(DuplicateEventIdError);
    expect(retryOutcome([b, a], recent)).to.be.instanceOf(DuplicateEventIdError);
    const changed = retryOutcome([{ ...b, data: { n: 3 } }], recent);
    expect(changed).to.be.instanceOf(DuplicateEventIdError);
    expect((changed as DuplicateEventIdError).eventId).to.equal(b.id);
    expect(retryOutcome([{ ...c, type: 'Other' }], recent)).to.be.instanceOf(DuplicateEventIdError);
  });

  it('compares JSON values, not their spelling', () => {
    expect(sameJson({ a: [1, { b: null }] }, { a: [1, { b: null }] })).to.equal(true);
    expect(sameJson({ a: 1 }, { a: 1, b: 2 })).to.equal(false);
    expect(sameJson([1, 2], { 0: 1, 1: 2 })).to.equal(false);
    expect(sameJson({ a: '1' }, { a: 1 })).to.equal(false);
  });
});
