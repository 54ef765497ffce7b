import { expect } from 'chai';
import type { ProcessStarted, ProcessStopped } from '#domain/runtime/events.js';
import { processDecider, type ProcessCommand } from '#domain/runtime/process.js';
import { deciderSpec } from '../support/decider.js';

const spec = deciderSpec(processDecider);
const instance: ProcessStarted['data'] = { name: 'worker-web', instance: 'host:1', role: 'embedded' };
const other = { ...instance, instance: 'host:2' };
const start = (data = instance): ProcessCommand => ({ type: 'RecordProcessStarted', data });
const stop = (data = instance): ProcessCommand => ({ type: 'RecordProcessStopped', data });
const started = (data = instance): ProcessStarted => ({ type: 'ProcessStarted', data });
const stopped = (data = instance): ProcessStopped => ({ type: 'ProcessStopped', data });

describe('process lifecycle decider', () => {
  it('records a start with the instance and the role it runs as', () => {
    spec.given([]).when(start()).then([started()]);
  });

  it('records the stop of a running instance, once', () => {
    spec.given([started()]).when(stop()).then([stopped()]);
    spec.given([started(), stopped()]).when(stop()).thenNothing();
  });

  it('a stop names its own instance: another instance of the same process is not stopped by it', () => {
    spec
      .given([started(other)])
      .when(stop())
      .thenNothing();
    spec
      .given([started(other), started()])
      .when(stop())
      .thenState((state) => expect([...state.running]).to.deep.equal(['host:2']));
  });

  it('a crashed instance is no longer running', () => {
    spec
      .given([
        started(),
        { type: 'ProcessCrashed', data: { name: 'worker-web', instance: 'host:1', reason: 'silent' } },
      ])
      .when(stop())
      .thenNothing();
  });
});

describe('process lifecycle decider: crashes seen by another process', () => {
  const crash = (data = { name: 'worker-web' as const, instance: 'host:1', reason: 'no heartbeat for 31 s' }) =>
    ({ type: 'RecordProcessCrashed', data }) as const;
  it('records a running instance as crashed, once (a second detector finds nothing to do)', () => {
    spec
      .given([started()])
      .when(crash())
      .then([
        { type: 'ProcessCrashed', data: { name: 'worker-web', instance: 'host:1', reason: 'no heartbeat for 31 s' } },
      ]);
    spec
      .given([started(), { type: 'ProcessCrashed', data: { name: 'worker-web', instance: 'host:1', reason: 'x' } }])
      .when(crash())
      .thenNothing();
  });
  it('an instance that stopped cleanly, or never started, is not recorded as crashed', () => {
    spec.given([started(), stopped()]).when(crash()).thenNothing();
    spec
      .given([started(other)])
      .when(crash())
      .thenNothing();
  });
});
