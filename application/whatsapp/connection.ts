import { handleCommand, loadAggregate, type CommandContext } from '#application/shared/commandHandler.js';
import type { EventStore } from '#application/shared/eventStore.js';
import type { Runtime } from '#application/shared/runtime.js';
import { activeNumber } from '#application/messaging/numbers.js';
import { connectionDecider, type ConnectionCommand, type ConnectionState } from '#domain/whatsapp/connection.js';
import { whatsappStreamId, type WhatsAppEvent } from '#domain/whatsapp/events.js';
import { WebNumberRequired } from '#domain/whatsapp/errors.js';

export type ConnectionDeps = { store: EventStore; runtime: Runtime };

/** Appends what the decider makes of one connection command on the number's `whatsapp-<id>` stream. */
export const recordConnection = async (
  deps: ConnectionDeps,
  command: ConnectionCommand,
  context: CommandContext,
): Promise<{ events: WhatsAppEvent[]; state: ConnectionState; position: number }> => {
  const result = await handleCommand(
    deps.store,
    whatsappStreamId(command.data.numberId),
    connectionDecider,
    () => command,
    context,
    { runtime: deps.runtime },
  );
  return { events: result.events, state: result.state, position: result.position };
};

export const loadConnection = async (store: EventStore, numberId: string) =>
  loadAggregate(store, whatsappStreamId(numberId), connectionDecider);

/**
 * An admin asks the worker that holds a Web number to pair by phone-number code: the request is an
 * event (audited) that the worker obeys; the code then appears in WhatsAppPairingCodeIssued.
 */
export const requestPairingCode = async (
  deps: ConnectionDeps,
  input: { numberId: string; phone: string },
  context: CommandContext,
): Promise<{ requestId: string }> => {
  const number = await activeNumber(deps.store, input.numberId);
  if (number.kind !== 'web') throw new WebNumberRequired(input.numberId, number.kind);
  const requestId = deps.runtime.newId();
  await recordConnection(
    deps,
    {
      type: 'RequestPairingCode',
      data: { numberId: input.numberId, requestId, phone: input.phone, by: context.actor },
    },
    context,
  );
  return { requestId };
};
