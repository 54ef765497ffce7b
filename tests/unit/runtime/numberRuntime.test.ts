import { expect } from 'chai';
import type { NumberRuntimeEvent } from '#domain/runtime/events.js';
import { numberRuntimeDecider, type NumberRuntimeCommand } from '#domain/runtime/numberRuntime.js';
import { deciderSpec } from '../support/decider.js';

const spec = deciderSpec(numberRuntimeDecider);
const request = (requestId: string, action: 'start' | 'stop' | 'restart' | 'logout'): NumberRuntimeCommand => ({
  type: 'RequestRuntime',
  data: { requestId, numberId: 'sales', action, scope: 'number' },
});
const stopRequested: NumberRuntimeEvent = {
  type: 'RuntimeStopRequested',
  data: { requestId: 'r1', numberId: 'sales', scope: 'number' },
};
const done = (requestId: string, outcome: 'running' | 'stopped' | 'logged_out' = 'stopped'): NumberRuntimeCommand => ({
  type: 'RecordRuntimeOutcome',
  data: { requestId, numberId: 'sales', workerId: 'w1', ok: true, outcome },
});
const timeOut = (requestId: string): NumberRuntimeCommand => ({
  type: 'TimeOutRuntimeRequest',
  data: { requestId, numberId: 'sales', timeoutSeconds: 30 },
});

describe('number runtime decider (runtime-<numberId>)', () => {
  it('a new number runs; a request is an event per action and sets the desired state', () => {
    spec.given([]).when(request('r1', 'stop')).then([stopRequested]);
    spec
      .given([])
      .when(request('r1', 'stop'))
      .thenState((state) => {
        expect(state.desired).to.equal('stopped');
        expect(state.open.map((r) => r.requestId)).to.deep.equal(['r1']);
      });
    for (const [action, type, desired] of [
      ['start', 'RuntimeStartRequested', 'running'],
      ['restart', 'RuntimeRestartRequested', 'running'],
      ['logout', 'RuntimeLogoutRequested', 'stopped'],
    ] as const)
      spec
        .given([stopRequested])
        .when(request('r2', action))
        .thenState((state, events) => {
          expect(events.map((e) => e.type)).to.deep.equal([type]);
          expect(state.desired).to.equal(desired);
        });
  });

  it('the same request id twice decides nothing', () => {
    spec.given([stopRequested]).when(request('r1', 'stop')).thenNothing();
  });

  it('records the outcome of an open request once, with the worker and the action', () => {
    const [completed] = spec
      .given([stopRequested])
      .when(done('r1'))
      .then([
        {
          type: 'RuntimeRequestCompleted',
          data: { requestId: 'r1', numberId: 'sales', action: 'stop', workerId: 'w1', outcome: 'stopped' },
        },
      ]);
    spec.given([stopRequested, completed!]).when(done('r1')).thenNothing();
    spec.given([]).when(done('unknown')).thenNothing();
  });

  it('records a failure with the error text, bounded', () => {
    spec
      .given([stopRequested])
      .when({
        type: 'RecordRuntimeOutcome',
        data: { requestId: 'r1', numberId: 'sales', workerId: 'w1', ok: false, error: 'x'.repeat(900) },
      })
      .thenState((state, events) => {
        expect(events[0]!.type).to.equal('RuntimeRequestFailed');
        expect((events[0]!.data as { error: string }).error).to.have.length(500);
        expect(state.last?.status).to.equal('failed');
        expect(state.open).to.have.length(0);
      });
  });

  it('a pending request times out once; a late answer is still recorded; an answered one never times out', () => {
    const [timedOut] = spec
      .given([stopRequested])
      .when(timeOut('r1'))
      .then([
        {
          type: 'RuntimeRequestTimedOut',
          data: { requestId: 'r1', numberId: 'sales', action: 'stop', timeoutSeconds: 30 },
        },
      ]);
    spec.given([stopRequested, timedOut!]).when(timeOut('r1')).thenNothing();
    spec
      .given([stopRequested, timedOut!])
      .when(done('r1'))
      .thenState((state, events) => {
        expect(events.map((e) => e.type)).to.deep.equal(['RuntimeRequestCompleted']);
        expect(state.last?.status).to.equal('completed');
      });
    const completed: NumberRuntimeEvent = {
      type: 'RuntimeRequestCompleted',
      data: { requestId: 'r1', numberId: 'sales', action: 'stop', workerId: 'w1', outcome: 'stopped' },
    };
    spec.given([stopRequested, completed]).when(timeOut('r1')).thenNothing();
  });

  it('open requests stay in order, so the worker obeys them oldest first', () => {
    spec
      .given([
        stopRequested,
        { type: 'RuntimeStartRequested', data: { requestId: 'r2', numberId: 'sales', scope: 'all' } },
      ])
      .when(request('r3', 'restart'))
      .thenState((state) => {
        expect(state.open.map((r) => [r.requestId, r.action])).to.deep.equal([
          ['r1', 'stop'],
          ['r2', 'start'],
          ['r3', 'restart'],
        ]);
        expect(state.last?.requestId).to.equal('r3');
      });
  });
});
