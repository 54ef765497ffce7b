import { expect } from 'chai';
import {
  InvalidAppendError,
  type AppendResult,
  type EventStore,
  type ExpectedRevision,
  type NewEvent,
} from '#application/shared/eventStore.js';
import { newEvent } from '../support/events.js';

type Subject = () => { store: EventStore; stream: (suffix: string) => string };

const refused = async (promise: Promise<unknown>): Promise<InvalidAppendError> => {
  try {
    await promise;
  } catch (error) {
    expect(error).to.be.instanceOf(InvalidAppendError);
    expect((error as InvalidAppendError).kind).to.equal('validation');
    expect((error as InvalidAppendError).code).to.equal('invalid_append');
    return error as InvalidAppendError;
  }
  throw new Error('expected an InvalidAppendError');
};

const circular = (): Record<string, unknown> => {
  const data: Record<string, unknown> = { name: 'loop' };
  data.self = data;
  return data;
};

class Money {
  constructor(readonly cents: number) {}
}

/** Data PostgreSQL would refuse, or that JSON would silently change on the way back. */
const badData: Array<[string, () => Record<string, unknown>]> = [
  ['a NUL in a string', () => ({ name: 'a\u0000b' })],
  ['a NUL in a key', () => ({ ['a\u0000b']: 1 })],
  ['a lone high surrogate', () => ({ name: 'x\uD800y' })],
  ['a lone low surrogate in a nested key', () => ({ nested: { ['\uDC00']: true } })],
  ['a BigInt', () => ({ amount: 10n })],
  ['circular data', circular],
  ['an undefined value', () => ({ name: undefined })],
  ['NaN', () => ({ ratio: Number.NaN })],
  ['Infinity', () => ({ ratio: Number.POSITIVE_INFINITY })],
  ['a function', () => ({ fn: () => 1 })],
  ['a Map', () => ({ map: new Map([['a', 1]]) })],
  ['a Set', () => ({ set: new Set([1]) })],
  ['a Date (JSON turns it into a string)', () => ({ at: new Date(0) })],
  ['a class instance', () => ({ price: new Money(100) })],
  ['a sparse array', () => ({ list: [1, , 3] })], // eslint-disable-line no-sparse-arrays
  ['undefined in an array', () => ({ list: [1, undefined] })],
];

/**
 * Appends every store refuses before anything is written (issue 7.12): the same answer everywhere,
 * InvalidAppendError with kind 'validation', and nothing stored.
 */
export const appendValidationContract = (subject: Subject): void => {
  describe('refused appends (validated before they join a batch)', () => {
    // One test for the table (a fresh store per test is slow on PGlite); each row names itself on failure.
    it(`refuses data PostgreSQL would refuse or JSON would change (${badData.length} cases)`, async () => {
      const { store, stream } = subject();
      for (const [what, data] of badData) {
        const error = await refused(store.append(stream('bad'), [newEvent('Fine'), newEvent('Bad', data())])).catch(
          (failure: Error) => {
            throw new Error(`${what}: ${failure.message}`);
          },
        );
        expect(error.message, what).to.match(/events\[1\]/);
      }
      expect(await store.readStream(stream('bad'))).to.deep.equal([]);
    });

    it('refuses undefined data and a NUL or lone surrogate in the type', async () => {
      const { store, stream } = subject();
      const base = newEvent('Fine');
      await refused(store.append(stream('bad'), [{ ...base, data: undefined } as unknown as NewEvent]));
      await refused(store.append(stream('bad'), [{ ...base, type: 'Bad\u0000Type' }]));
      await refused(store.append(stream('bad'), [{ ...base, type: 'Bad\uDBFF' }]));
      expect(await store.readStream(stream('bad'))).to.deep.equal([]);
    });

    it('refuses a NUL or a lone surrogate in a stream id, so two ids can never merge', async () => {
      const { store, stream } = subject();
      await refused(store.append(`${stream('s')}\u0000x`, [newEvent('A')]));
      await refused(store.append(`${stream('s')}\uD800`, [newEvent('A')]));
      // What a lone surrogate would have become: a different, valid stream, untouched.
      await store.append(`${stream('s')}\uFFFD`, [newEvent('A')]);
      expect(await store.readStream(`${stream('s')}\uFFFD`)).to.have.length(1);
    });

    it('refuses an expected revision below 0 or not an integer', async () => {
      const { store, stream } = subject();
      await store.append(stream('r'), [newEvent('A')]);
      for (const expectedRevision of [-5, -1, 0.5, Number.NaN, Number.POSITIVE_INFINITY, '1']) {
        await refused(
          store.append(stream('r'), [newEvent('B')], { expectedRevision: expectedRevision as ExpectedRevision }),
        );
      }
      expect(await store.readStream(stream('r'))).to.have.length(1);
    });

    it('a bad append made together with many good ones fails alone', async () => {
      const { store, stream } = subject();
      const good = Array.from({ length: 80 }, (_, i) =>
        store.append(stream(`good-${i}`), [newEvent('LoginFailed', { i })], { expectedRevision: 'no_stream' }),
      );
      const bad = store.append(stream('poison'), [newEvent('LoginFailed', { username: 'ad\u0000min' })]);
      const more = Array.from({ length: 20 }, (_, i) => store.append(stream(`later-${i}`), [newEvent('Late', { i })]));
      const settled = await Promise.allSettled([...good, bad, ...more]);
      const rejected = settled.filter((s): s is PromiseRejectedResult => s.status === 'rejected');
      expect(rejected).to.have.length(1);
      expect(rejected[0]!.reason).to.be.instanceOf(InvalidAppendError);
      const results = settled.filter((s): s is PromiseFulfilledResult<AppendResult> => s.status === 'fulfilled');
      expect(results).to.have.length(100);
      expect(new Set(results.map((r) => r.value.position)).size).to.equal(100);
      expect(await store.readStream(stream('good-79'))).to.have.length(1);
    });
  });
};
