import type { Runtime } from '#application/shared/runtime.js';

/**
 * A clock that moves only when told, and ids that count: tests advance time instead of sleeping.
 *   const rt = manualRuntime('2026-01-01T00:00:00.000Z'); rt.advance(61_000);
 */
export const manualRuntime = (start: string | Date = '2026-01-01T00:00:00.000Z') => {
  let now = new Date(start).getTime();
  let next = 0;
  const runtime = {
    clock: () => new Date(now),
    // UUID-shaped (the stores keep event ids in uuid columns), in counting order
    newId: () => `00000000-0000-4000-8000-${String(++next).padStart(12, '0')}`,
    advance: (ms: number) => {
      now += ms;
    },
    set: (at: string | Date) => {
      now = new Date(at).getTime();
    },
  };
  return runtime satisfies Runtime;
};
