import { expect } from 'chai';
import { DomainError } from '#domain/shared/event.js';
import type { Decider, Event } from '#domain/shared/event.js';

/**
 * given/when/then for deciders:
 *
 *   const spec = deciderSpec(accountDecider);
 *   spec.given([created]).when(command).then([expectedEvents]);
 *   spec.given([created]).when(command).thenThrows(AccountNotFound, { accountId: 'a1' });
 *   spec.given([created]).when(command).thenState((state, events) => { ... });
 *
 * Each `when` decides twice and insists on the same answer: a decider that reads the clock or
 * a random source on its own fails here, whatever the test asserts.
 */

type ErrorClass<E extends Error> = abstract new (...args: never[]) => E;

export type DeciderThen<S, E extends Event> = {
  /** decide returns exactly these events (deep equality, order included); returns them */
  then: (expected: readonly E[]) => E[];
  /** decide returns no events */
  thenNothing: () => void;
  /** decide throws an instance of errorClass; `details` are checked as a subset of DomainError.details */
  thenThrows: <X extends Error>(errorClass: ErrorClass<X>, details?: Record<string, unknown>) => X;
  /** hand the decided events and the state after evolving them to an assertion */
  thenState: (assert: (state: S, events: E[]) => void) => void;
};

export const deciderSpec = <S, C, E extends Event>(decider: Decider<S, C, E>) => ({
  given: (history: readonly E[] = []) => ({
    when: (command: C): DeciderThen<S, E> => {
      const fold = (events: readonly E[], from: S) => events.reduce((state, e) => decider.evolve(state, e), from);
      const before = () => fold(history, decider.initialState());
      const decide = (): E[] => {
        const first = decider.decide(command, before());
        expect(decider.decide(command, before()), 'decide is not deterministic').to.deep.equal(first);
        return first;
      };
      return {
        then: (expected) => {
          const actual = decide();
          expect(actual).to.deep.equal(expected);
          return actual;
        },
        thenNothing: () => {
          expect(decide()).to.deep.equal([]);
        },
        thenThrows: <X extends Error>(errorClass: ErrorClass<X>, details?: Record<string, unknown>): X => {
          let caught: unknown;
          try {
            decider.decide(command, before());
          } catch (error) {
            caught = error;
          }
          expect(caught, `expected ${errorClass.name} to be thrown`).to.be.instanceOf(errorClass);
          if (details) {
            expect(caught, 'details need a DomainError').to.be.instanceOf(DomainError);
            expect((caught as DomainError).details).to.deep.include(details);
          }
          return caught as X;
        },
        thenState: (assert) => {
          const events = decide();
          assert(fold(events, before()), events);
        },
      };
    },
  }),
});
