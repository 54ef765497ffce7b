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
 * Appended by another live process when an instance stops reporting heartbeats (application/runtime/
 * processMonitor.ts), through the process decider: recorded once even when several processes notice.
 */
export type ProcessCrashed = Event<'ProcessCrashed', { name: ProcessName; instance: string; reason: string }>;

export type ProcessEvent = ProcessStarted | ProcessStopped | ProcessCrashed;
export type RuntimeEvent = ProcessEvent | NumberRuntimeEvent;

export const PROCESS_STREAM_PREFIX = 'process-';
export const processStreamId = (name: ProcessName): string => `${PROCESS_STREAM_PREFIX}${name}`;

// ---- runtime control of a number (process control), stream `runtime-<numberId>` -------------------

/** What an admin asks of a number's runtime (the channel's connection in the worker holding it). */
export type RuntimeAction = 'start' | 'stop' | 'restart' | 'logout';
export const RUNTIME_ACTIONS = ['start', 'stop', 'restart', 'logout'] as const satisfies readonly RuntimeAction[];

type RuntimeRequestData = {
  /** one admin request; `POST /api/admin/runtime/...` gives every number it covers the same id */
  requestId: string;
  numberId: string;
  /** a request for this number alone, or for all numbers at once (the runbook's admin endpoint) */
  scope: 'number' | 'all';
};
export type RuntimeStartRequested = Event<'RuntimeStartRequested', RuntimeRequestData>;
export type RuntimeStopRequested = Event<'RuntimeStopRequested', RuntimeRequestData>;
export type RuntimeRestartRequested = Event<'RuntimeRestartRequested', RuntimeRequestData>;
export type RuntimeLogoutRequested = Event<'RuntimeLogoutRequested', RuntimeRequestData>;
export type RuntimeRequested =
  RuntimeStartRequested | RuntimeStopRequested | RuntimeRestartRequested | RuntimeLogoutRequested;

/** The number's runtime after the worker obeyed: running, stopped, or logged out (stopped, session ended). */
export type RuntimeOutcome = 'running' | 'stopped' | 'logged_out';
/** The worker holding the number's lease did what was asked. */
export type RuntimeRequestCompleted = Event<
  'RuntimeRequestCompleted',
  { requestId: string; numberId: string; action: RuntimeAction; workerId: string; outcome: RuntimeOutcome }
>;
/** The worker tried and the channel refused (the error text is the adapter's, free of secrets). */
export type RuntimeRequestFailed = Event<
  'RuntimeRequestFailed',
  { requestId: string; numberId: string; action: RuntimeAction; workerId: string; outcome: 'failed'; error: string }
>;
/** No worker obeyed within the timeout (no live worker-web holds the number); a later obedience still records. */
export type RuntimeRequestTimedOut = Event<
  'RuntimeRequestTimedOut',
  { requestId: string; numberId: string; action: RuntimeAction; timeoutSeconds: number }
>;

export type NumberRuntimeEvent =
  RuntimeRequested | RuntimeRequestCompleted | RuntimeRequestFailed | RuntimeRequestTimedOut;

export const RUNTIME_REQUEST_TYPES = {
  start: 'RuntimeStartRequested',
  stop: 'RuntimeStopRequested',
  restart: 'RuntimeRestartRequested',
  logout: 'RuntimeLogoutRequested',
} as const satisfies Record<RuntimeAction, RuntimeRequested['type']>;

export const RUNTIME_STREAM_PREFIX = 'runtime-';
export const runtimeStreamId = (numberId: string): string => `${RUNTIME_STREAM_PREFIX}${numberId}`;
