/**
 * A sleep that something else can cut short: `sleep(ms)` resolves after `ms`, or at once when `wake()` is
 * called while it sleeps (a wake with nobody asleep does nothing). For loops that poll on a period but
 * should run a round as soon as there is news (an event, a new due item, a stop).
 */
export const wakeableSleep = (): { sleep: (ms: number) => Promise<void>; wake: () => void } => {
  let wake: (() => void) | null = null;
  return {
    sleep: (ms) =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          wake = null;
          resolve();
        }, ms);
        wake = () => {
          clearTimeout(timer);
          wake = null;
          resolve();
        };
      }),
    wake: () => wake?.(),
  };
};
