/**
 * Sliding windows at one-second granularity, as plain immutable data. Per-second buckets keep a
 * window's size bounded by its span (not by the event rate), so the fold can copy instead of mutate:
 * at 1,000 messages a second a 10 s window is still 10 buckets, never 10,000 timestamps.
 *
 * A window of span N counts the events of the current second and of the N - 1 before it.
 */

export type Bucket = {
  /** floor(epoch ms / 1000) */
  readonly second: number;
  readonly count: number;
  readonly failed: number;
  /** only the windows that need percentiles record these */
  readonly latencies: readonly number[];
};

/** Ascending by second, no two buckets for the same second. */
export type Window = readonly Bucket[];

export const emptyWindow: Window = [];

export type Sample = { failed?: boolean; latencyMs?: number | null };

const secondOf = (ms: number): number => Math.floor(ms / 1000);

/** First second still inside a window of `spanSeconds` ending at `nowMs`. */
const firstSecond = (nowMs: number, spanSeconds: number): number => secondOf(nowMs) - spanSeconds + 1;

/**
 * Records one event that happened at `atMs`. Events older than the window are dropped; events from
 * the future (another host's clock running ahead) count as now, so they can never pile up.
 */
export const windowAdd = (
  window: Window,
  atMs: number,
  nowMs: number,
  spanSeconds: number,
  sample: Sample = {},
): Window => {
  const from = firstSecond(nowMs, spanSeconds);
  const kept =
    window.length > 0 && window[0]!.second < from ? window.filter((bucket) => bucket.second >= from) : window;
  const second = secondOf(Math.min(atMs, nowMs));
  if (!Number.isFinite(second) || second < from) return kept;

  const failed = sample.failed ? 1 : 0;
  const latency = typeof sample.latencyMs === 'number' && Number.isFinite(sample.latencyMs) ? [sample.latencyMs] : [];
  // Events mostly arrive in time order: search from the newest bucket.
  let index = kept.length - 1;
  while (index >= 0 && kept[index]!.second > second) index -= 1;
  const existing = index >= 0 ? kept[index]! : undefined;
  if (existing?.second === second) {
    const updated: Bucket = {
      second,
      count: existing.count + 1,
      failed: existing.failed + failed,
      latencies: latency.length > 0 ? [...existing.latencies, ...latency] : existing.latencies,
    };
    return [...kept.slice(0, index), updated, ...kept.slice(index + 1)];
  }
  const bucket: Bucket = { second, count: 1, failed, latencies: latency };
  return [...kept.slice(0, index + 1), bucket, ...kept.slice(index + 1)];
};

export type WindowTotals = { count: number; failed: number; latencies: number[] };

/** What the window holds at `nowMs` (buckets that slid out since the last add are left out here). */
export const windowTotals = (window: Window, nowMs: number, spanSeconds: number): WindowTotals => {
  const from = firstSecond(nowMs, spanSeconds);
  const to = secondOf(nowMs);
  const totals: WindowTotals = { count: 0, failed: 0, latencies: [] };
  for (const bucket of window) {
    if (bucket.second < from || bucket.second > to) continue;
    totals.count += bucket.count;
    totals.failed += bucket.failed;
    totals.latencies.push(...bucket.latencies);
  }
  return totals;
};

/** Nearest-rank percentile (the value at rank ceil(q * n) of the sorted sample); null for no sample. */
export const percentile = (sorted: readonly number[], q: number): number | null => {
  if (sorted.length === 0) return null;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
  return sorted[rank - 1]!;
};
