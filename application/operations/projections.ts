import { handleCommand, type CommandContext } from '#application/shared/commandHandler.js';
import type { EventStore } from '#application/shared/eventStore.js';
import type { Runtime } from '#application/shared/runtime.js';
import { projectionStreamId } from '#domain/operations/events.js';
import { projectionRebuildDecider } from '#domain/operations/projectionRebuild.js';

/** Records that an admin asked for a rebuild of `projection` (the audit trail shows it); returns the event id. */
export const recordRebuildRequest = async (
  deps: { store: EventStore; runtime: Runtime },
  projection: string,
  context: CommandContext,
): Promise<string> => {
  const result = await handleCommand(
    deps.store,
    projectionStreamId(projection),
    projectionRebuildDecider,
    () => ({ type: 'RequestProjectionRebuild' as const, data: { projection, by: context.actor } }),
    context,
    { runtime: deps.runtime },
  );
  return result.eventIds[0]!;
};
