/**
 * A wake-up with a generation counter: read `generation`, do the work, then `wait(generation, ms)`.
 * A fire that happened in between makes the wait return at once, so no wake-up is lost to the race
 * between "found nothing" and "started waiting".
 */
export class Signal {
  private gen = 0;
  private waiters = new Set<() => void>();

  get generation(): number {
    return this.gen;
  }

  fire(): void {
    this.gen += 1;
    const waiters = this.waiters;
    this.waiters = new Set();
    for (const wake of waiters) wake();
  }

  wait(since: number, timeoutMs: number): Promise<void> {
    if (since !== this.gen) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.waiters.add(done);
    });
  }
}

/** Retry delay: 250 ms doubling up to `maxMs`, with jitter so several processes do not retry in step. */
export const backoffMs = (attempt: number, maxMs: number): number => {
  const base = Math.min(maxMs, 250 * 2 ** Math.min(Math.max(attempt - 1, 0), 10));
  return Math.round(base * (0.75 + Math.random() * 0.5));
};
