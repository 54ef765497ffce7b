import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { eventMetadata } from '#application/shared/commandHandler.js';
import type { EventStore } from '#application/shared/eventStore.js';
import { newCorrelationId } from '#infrastructure/logging/context.js';

export type ProcessName = 'app' | 'worker-web' | 'scheduler';

/** ProcessStarted / ProcessStopped on `process-<name>`: the dashboard's process states come from these. */
export const recordProcessEvent = async (
  store: EventStore,
  name: ProcessName,
  type: 'ProcessStarted' | 'ProcessStopped',
  extra: Record<string, unknown> = {},
): Promise<void> => {
  await store.append(`process-${name}`, [
    {
      id: randomUUID(),
      type,
      data: { name, instance: `${os.hostname()}:${process.pid}`, ...extra },
      metadata: eventMetadata({ correlationId: newCorrelationId(), actor: 'system' }, new Date()),
    },
  ]);
};
