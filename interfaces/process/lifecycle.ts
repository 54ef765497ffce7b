import os from 'node:os';
import { handleCommand } from '#application/shared/commandHandler.js';
import type { EventStore } from '#application/shared/eventStore.js';
import type { Runtime } from '#application/shared/runtime.js';
import {
  processStreamId,
  type ProcessName,
  type ProcessRole,
  type ProcessStarted,
  type ProcessStopped,
} from '#domain/runtime/events.js';
import { processDecider } from '#domain/runtime/process.js';
import { newCorrelationId } from '#infrastructure/logging/context.js';

/** This process as the runtime events name it: `<host>:<pid>`. */
export const processInstance = (): string => `${os.hostname()}:${process.pid}`;

/** ProcessStarted / ProcessStopped on `process-<name>`: the dashboard's process states come from these. */
export const recordProcessEvent = async (
  store: EventStore,
  runtime: Runtime,
  type: (ProcessStarted | ProcessStopped)['type'],
  process: { name: ProcessName; role: ProcessRole },
): Promise<void> => {
  const data = { name: process.name, instance: processInstance(), role: process.role };
  await handleCommand(
    store,
    processStreamId(process.name),
    processDecider,
    () => ({ type: type === 'ProcessStarted' ? 'RecordProcessStarted' : 'RecordProcessStopped', data }) as const,
    { correlationId: newCorrelationId(), actor: 'system' },
    { runtime },
  );
};
