import { expect } from 'chai';
import { emptyWindow, percentile, windowAdd, windowTotals, type Window } from '#projections/metrics/windows.js';

const NOW = 1_700_000_000_000;

describe('sliding windows', () => {
  it('keeps one bucket per second in time order, even when events arrive out of order', () => {
    const window = [3_000, 1_000, 2_800, 2_000, 1_500].reduce<Window>(
      (w, ago) => windowAdd(w, NOW - ago, NOW, 10),
      emptyWindow,
    );
    expect(window.map((b) => [NOW / 1000 - b.second, b.count])).to.deep.equal([
      [3, 2],
      [2, 2],
      [1, 1],
    ]);
  });

  it('stays bounded by its span however many events come in', () => {
    let window: Window = emptyWindow;
    for (let i = 0; i < 5_000; i++) window = windowAdd(window, NOW + i * 50, NOW + i * 50, 10);
    expect(window.length).to.be.at.most(10);
    expect(windowTotals(window, NOW + 4_999 * 50, 10).count).to.equal(200); // the last 10 seconds, 20 events each
  });

  it('sums counts, failures and latencies of the buckets still inside the window', () => {
    let window: Window = emptyWindow;
    window = windowAdd(window, NOW - 30_000, NOW, 60, { latencyMs: 5 });
    window = windowAdd(window, NOW - 10_000, NOW, 60, { failed: true });
    window = windowAdd(window, NOW, NOW, 60, { latencyMs: 7 });
    expect(windowTotals(window, NOW, 60)).to.deep.equal({ count: 3, failed: 1, latencies: [5, 7] });
    expect(windowTotals(window, NOW + 40_000, 60)).to.deep.equal({ count: 2, failed: 1, latencies: [7] });
  });

  it('takes nearest-rank percentiles, and none of an empty sample', () => {
    const sorted = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    expect([0.5, 0.9, 0.95, 0.99].map((q) => percentile(sorted, q))).to.deep.equal([5, 9, 10, 10]);
    expect(percentile([], 0.5)).to.equal(null);
  });
});
