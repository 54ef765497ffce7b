import { expect } from 'chai';
import {
  InvalidScheduleTime,
  ScheduledMessageAlreadyFired,
  ScheduledMessageExists,
  ScheduledMessageNotFound,
} from '#domain/scheduling/errors.js';
import type { SchedulingEvent } from '#domain/scheduling/events.js';
import { scheduleDecider } from '#domain/scheduling/schedule.js';
import { deciderSpec } from '../support/decider.js';

const spec = deciderSpec(scheduleDecider);
const NOW = '2026-06-01T10:00:00.000Z';
const AT = '2026-06-01T12:00:00.000Z';

const request = {
  scheduleId: 's1',
  numberId: 'simulator',
  chatId: 'c1',
  to: '34600000001',
  text: 'hola',
  template: null,
  at: '2026-06-01T14:00:00+02:00',
  by: 'admin-1',
};
const scheduleCmd = (overrides: Partial<typeof request> & { now?: string } = {}) => ({
  type: 'ScheduleMessage' as const,
  data: { ...request, now: NOW, ...overrides },
});
const scheduled: SchedulingEvent = { type: 'MessageScheduled', data: { ...request, at: AT } };
const fired: SchedulingEvent = {
  type: 'ScheduledMessageFired',
  data: { scheduleId: 's1', numberId: 'simulator', messageId: 'm1', firedAt: AT, lateMs: 0 },
};
const cancelled: SchedulingEvent = {
  type: 'ScheduledMessageCancelled',
  data: { scheduleId: 's1', numberId: 'simulator', by: 'admin-1' },
};
const fire = (now: string) => ({ type: 'FireScheduledMessage' as const, data: { messageId: 'm1', now } });
const cancel = { type: 'CancelScheduledMessage' as const, data: { scheduleId: 's1', by: 'op-1' } };

describe('scheduled message decider', () => {
  it('schedules a message for later, its time stored in UTC', () => {
    spec.given().when(scheduleCmd()).then([scheduled]);
  });

  it('refuses a time that is not in the future, or beyond the horizon', () => {
    spec
      .given()
      .when(scheduleCmd({ at: NOW }))
      .thenThrows(InvalidScheduleTime);
    spec
      .given()
      .when(scheduleCmd({ at: '2026-06-01T09:59:59Z' }))
      .thenThrows(InvalidScheduleTime);
    spec
      .given()
      .when(scheduleCmd({ at: '2027-06-03T10:00:00Z' }))
      .thenThrows(InvalidScheduleTime, { horizonDays: 366 });
  });

  it('the same request again (same id and content) schedules nothing, even once its time has passed; another is refused', () => {
    spec
      .given([scheduled])
      .when(scheduleCmd({ now: '2026-06-02T00:00:00Z' }))
      .thenNothing();
    spec.given([scheduled, fired]).when(scheduleCmd()).thenNothing();
    spec
      .given([scheduled])
      .when(scheduleCmd({ text: 'otra cosa' }))
      .thenThrows(ScheduledMessageExists);
  });

  it('fires once when due, with how late it was; not before its time, never twice, never after a cancel', () => {
    spec
      .given([scheduled])
      .when(fire('2026-06-01T12:00:00.250Z'))
      .then([{ ...fired, data: { ...fired.data, firedAt: '2026-06-01T12:00:00.250Z', lateMs: 250 } }]);
    spec.given([scheduled]).when(fire('2026-06-01T11:59:59.999Z')).thenNothing();
    spec.given([scheduled, fired]).when(fire('2026-06-01T12:00:01Z')).thenNothing();
    spec.given([scheduled, cancelled]).when(fire('2026-06-01T12:00:01Z')).thenNothing();
    spec.given().when(fire('2026-06-01T12:00:01Z')).thenNothing();
  });

  it('cancels a pending message; again is nothing; a fired one is a conflict; an unknown one is not found', () => {
    spec
      .given([scheduled])
      .when(cancel)
      .then([{ ...cancelled, data: { ...cancelled.data, by: 'op-1' } }]);
    spec.given([scheduled, cancelled]).when(cancel).thenNothing();
    spec.given([scheduled, fired]).when(cancel).thenThrows(ScheduledMessageAlreadyFired, { state: 'fired' });
    spec.given().when(cancel).thenThrows(ScheduledMessageNotFound);
  });

  it('records why a fired message could not be queued, only for a fired one', () => {
    const failure = { type: 'RecordFireFailure' as const, data: { code: 'number_disabled', error: 'disabled' } };
    spec
      .given([scheduled, fired])
      .when(failure)
      .thenState((state, events) => {
        expect(events).to.deep.equal([
          {
            type: 'ScheduledMessageFailed',
            data: {
              scheduleId: 's1',
              numberId: 'simulator',
              messageId: 'm1',
              code: 'number_disabled',
              error: 'disabled',
            },
          },
        ]);
        expect(state.status).to.equal('failed');
      });
    spec.given([scheduled]).when(failure).thenNothing();
    spec.given([scheduled, fired]).when(cancel).thenThrows(ScheduledMessageAlreadyFired);
  });
});
