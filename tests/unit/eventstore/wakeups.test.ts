import { expect } from 'chai';
import type { RecordedEvent } from '#application/shared/eventStore.js';
import { Wakeup } from '#infrastructure/eventstore/notifier.js';
import { pollingSubscription } from '#infrastructure/eventstore/subscription.js';
import { waitFor } from '../../support/events.js';

/** Local appends wake only the subscriptions whose type filter they concern; the poll still bounds every wait. */
describe('subscription wake-ups by event type', () => {
  const subscribe = (wakeup: Wakeup, eventTypes: string[] | undefined, pollIntervalMs = 60_000) => {
    let reads = 0;
    const subscription = pollingSubscription({
      wakeup,
      pollIntervalMs,
      filter: eventTypes === undefined ? undefined : { eventTypes },
      onEvent: () => undefined,
      readBatch: () => {
        reads += 1;
        return Promise.resolve({ events: [] as RecordedEvent[], scannedTo: 0 });
      },
    });
    return { subscription, reads: () => reads };
  };

  it('a local append of other types does not make a filtered subscription read; one of its types does', async () => {
    const wakeup = new Wakeup();
    const received = subscribe(wakeup, ['MessageReceived']);
    const everything = subscribe(wakeup, undefined);
    await waitFor(() => received.reads() === 1 && everything.reads() === 1, 5_000, 'the first reads');
    wakeup.signalAppended(10, new Set(['MessageQueued', 'MessageSent']));
    await waitFor(() => everything.reads() === 2, 5_000, 'the unfiltered read');
    expect(received.reads()).to.equal(1);
    wakeup.signalAppended(11, new Set(['MessageReceived']));
    await waitFor(() => received.reads() === 2, 5_000, 'the filtered read');
    // a wake-up of unknown content (another process's NOTIFY) wakes everyone
    wakeup.signal();
    await waitFor(() => received.reads() === 3 && everything.reads() === 4, 5_000, 'the reads after a NOTIFY');
    await Promise.all([received.subscription.stop(), everything.subscription.stop()]);
  });

  it('the poll interval still bounds the wait through unrelated appends', async () => {
    const wakeup = new Wakeup();
    const received = subscribe(wakeup, ['MessageReceived'], 300);
    await waitFor(() => received.reads() === 1, 5_000, 'the first read');
    const timer = setInterval(() => wakeup.signalAppended(Math.random(), new Set(['MessageQueued'])), 20);
    try {
      await waitFor(() => received.reads() >= 3, 10_000, 'polls despite unrelated wake-ups');
    } finally {
      clearInterval(timer);
      await received.subscription.stop();
    }
  });
});
