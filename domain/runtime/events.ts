import type { Event } from '#domain/shared/event.js';

/**
 * The runtime (process control) context's event catalogue. Stream `process-<name>`. Later issues add
 * the WhatsApp connection events here.
 */

/** The processes of the design (`embedded` runs all three in one). */
export type ProcessName = 'app' | 'worker-web' | 'scheduler';
export const PROCESS_NAMES = ['app', 'worker-web', 'scheduler'] as const satisfies readonly ProcessName[];

/** How the process was started: as itself, or as part of the embedded all-in-one process. */
export type ProcessRole = ProcessName | 'embedded';

type ProcessData = {
  name: ProcessName;
  /** `<host>:<pid>`: tells two instances of one process apart */
  instance: string;
  role: ProcessRole;
};

export type ProcessStarted = Event<'ProcessStarted', ProcessData>;
export type ProcessStopped = Event<'ProcessStopped', ProcessData>;
/**
 * Appended by another process when an instance stops reporting (the heartbeat monitor of the WhatsApp
 * Web / runtime-control issue); nothing emits it yet, the metrics and the audit trail already read it.
 */
export type ProcessCrashed = Event<'ProcessCrashed', { name: ProcessName; instance: string; reason: string }>;

export type RuntimeEvent = ProcessStarted | ProcessStopped | ProcessCrashed;

export const PROCESS_STREAM_PREFIX = 'process-';
export const processStreamId = (name: ProcessName): string => `${PROCESS_STREAM_PREFIX}${name}`;
