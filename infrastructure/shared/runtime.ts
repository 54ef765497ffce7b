import { randomUUID } from 'node:crypto';
import type { Runtime } from '#application/shared/runtime.js';

/** The production clock and ids: wall time and random UUIDs (v4). */
export const systemRuntime: Runtime = { clock: () => new Date(), newId: randomUUID };
