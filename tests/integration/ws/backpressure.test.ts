import { setImmediate as nextTurn } from 'node:timers/promises';
import { expect } from 'chai';
import type { Socket } from 'node:net';
import { ADMIN_PASSWORD, loginAs, startTestApp, type TestApp } from '../../support/app.js';
import { authenticated, sampleEvent, sampleSnapshot, startWsServer, subjectFeed, waitFor, wsToken } from './harness.js';

describe('GET /ws/metrics: a client that does not read (backpressure)', function () {
  this.timeout(60_000);
  let t: TestApp;
  before(async () => {
    t = await startTestApp();
  });
  after(async () => {
    await t.close();
  });

  it('loses snapshots first, is then closed with 1013 slow_consumer, and neither slows the others nor grows memory past the limit', async () => {
    const limits = {
      dropSnapshotsAboveBytes: 64 * 1024,
      maxBufferedBytes: 512 * 1024,
      maxDroppedSnapshots: 10_000,
      closeGraceMs: 10_000,
    };
    const feed = subjectFeed();
    const server = await startWsServer(t.app.identity, feed, { limits });
    try {
      const { access } = await loginAs(t.baseUrl, 'admin', ADMIN_PASSWORD);
      const fast = await authenticated(server.url, await wsToken(t.baseUrl, access));
      const slow = await authenticated(server.url, await wsToken(t.baseUrl, access));
      const slowSocket = (slow.ws as unknown as { _socket: Socket })._socket;
      slowSocket.pause(); // stops reading: the kernel buffers fill, then the server's send queue grows

      const padding = 'x'.repeat(1_000);
      let position = 0;
      let snapshots = 0;
      let maxBuffered = 0;
      let droppedBeforeClose = 0;
      // Push until the slow client is cut (the kernel absorbs a few MB first); bounded so a bug cannot loop forever.
      while (server.socket.stats().slowConsumerDisconnects === 0 && position < 100_000) {
        for (let i = 0; i < 50; i++) feed.events.next(sampleEvent(++position, padding));
        feed.snapshots.next(sampleSnapshot(position));
        snapshots += 1;
        const stats = server.socket.stats();
        maxBuffered = Math.max(maxBuffered, stats.bufferedBytes);
        if (stats.slowConsumerDisconnects === 0) droppedBeforeClose = stats.droppedSnapshots;
        await nextTurn();
      }
      const stats = server.socket.stats();
      expect(stats.slowConsumerDisconnects, 'slow client disconnected').to.equal(1);
      expect(droppedBeforeClose, 'snapshots dropped before the close').to.be.greaterThan(0);
      // One message of slack: the check runs before each send.
      expect(maxBuffered).to.be.at.most(limits.maxBufferedBytes + 2 * 1024);
      expect(stats.clients).to.equal(1);

      // The reading client got everything, in order, promptly.
      await waitFor(
        () => fast.messages.filter((m) => m.type === 'event').length === position,
        5_000,
        'every event at the fast client',
      );
      const events = fast.messages.flatMap((m) => (m.type === 'event' ? [m.data.position] : []));
      expect(events).to.deep.equal(Array.from({ length: position }, (_, i) => i + 1));
      expect(fast.messages.filter((m) => m.type === 'snapshot')).to.have.length(snapshots);
      expect(fast.invalid).to.deep.equal([]);

      // Once it reads again, the slow client finds the notice and the close code behind what was queued.
      slowSocket.resume();
      expect(await slow.closed).to.deep.equal({ code: 1013, reason: 'slow_consumer' });
      expect(slow.messages.at(-1)).to.include({ type: 'closing', reason: 'slow_consumer', closeCode: 1013 });
      expect(slow.messages.filter((m) => m.type === 'snapshot').length).to.be.lessThan(snapshots);
      expect(server.logs().some((l) => l.message === 'ws client too slow, disconnected')).to.equal(true);
      fast.ws.close();
    } finally {
      await server.close();
    }
  });
});
