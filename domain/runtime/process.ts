import type { Decider } from '#domain/shared/event.js';
import type { ProcessEvent, ProcessName, ProcessRole } from './events.js';

/**
 * A process's lifecycle, stream `process-<name>`: which of its instances are running. Recording a
 * start or a stop is a command like any other, so it goes through the one command handler.
 */
export type ProcessLifecycle = Readonly<{ running: ReadonlySet<string> }>;

type Instance = Readonly<{ name: ProcessName; instance: string; role: ProcessRole }>;
export type ProcessCommand =
  | Readonly<{ type: 'RecordProcessStarted'; data: Instance }>
  | Readonly<{ type: 'RecordProcessStopped'; data: Instance }>
  /** another process saw this instance stop reporting: recorded once, and only for a running instance */
  | Readonly<{ type: 'RecordProcessCrashed'; data: { name: ProcessName; instance: string; reason: string } }>;

export const initialState = (): ProcessLifecycle => ({ running: new Set() });

export const decide = (command: ProcessCommand, state: ProcessLifecycle): ProcessEvent[] => {
  switch (command.type) {
    case 'RecordProcessStarted':
      return [{ type: 'ProcessStarted', data: { ...command.data } }];
    case 'RecordProcessStopped':
      // An instance that never recorded its start has nothing to stop (and a stop is recorded once).
      return state.running.has(command.data.instance) ? [{ type: 'ProcessStopped', data: { ...command.data } }] : [];
    case 'RecordProcessCrashed':
      // Two detectors race: the second one decides on the stream the first one extended, and finds nothing to do.
      return state.running.has(command.data.instance) ? [{ type: 'ProcessCrashed', data: { ...command.data } }] : [];
    default: {
      const _exhaustive: never = command;
      return [];
    }
  }
};

export const evolve = (state: ProcessLifecycle, event: ProcessEvent): ProcessLifecycle => {
  switch (event.type) {
    case 'ProcessStarted':
      return { running: new Set(state.running).add(event.data.instance) };
    case 'ProcessStopped':
    case 'ProcessCrashed': {
      if (!state.running.has(event.data.instance)) return state;
      const running = new Set(state.running);
      running.delete(event.data.instance);
      return { running };
    }
    default: {
      const _exhaustive: never = event;
      return state;
    }
  }
};

export const processDecider: Decider<ProcessLifecycle, ProcessCommand, ProcessEvent> = {
  decide,
  evolve,
  initialState,
};
