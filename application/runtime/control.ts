import { handleCommand, type CommandContext } from '#application/shared/commandHandler.js';
import type { EventStore } from '#application/shared/eventStore.js';
import type { Runtime } from '#application/shared/runtime.js';
import { activeNumber } from '#application/messaging/numbers.js';
import { runtimeStreamId, type RuntimeAction } from '#domain/runtime/events.js';
import { numberRuntimeDecider } from '#domain/runtime/numberRuntime.js';

export type RuntimeControlDeps = { store: EventStore; runtime: Runtime };

/**
 * Runtime control requests (process control as events): the request is appended on the number's
 * runtime stream, and the worker holding the number obeys it and appends the outcome. The caller gets
 * the request id at once (the API answers 202); GET /api/whatsapp/status shows the outcome.
 */
export const requestRuntime = async (
  deps: RuntimeControlDeps,
  input: { numberId: string; action: RuntimeAction; requestId?: string; scope?: 'number' | 'all' },
  context: CommandContext,
): Promise<{ requestId: string; numberId: string }> => {
  // Unknown numbers are a 404 and disabled ones a 409: no worker takes a disabled number, so nobody would obey.
  await activeNumber(deps.store, input.numberId);
  const requestId = input.requestId ?? deps.runtime.newId();
  await handleCommand(
    deps.store,
    runtimeStreamId(input.numberId),
    numberRuntimeDecider,
    () => ({
      type: 'RequestRuntime' as const,
      data: { requestId, numberId: input.numberId, action: input.action, scope: input.scope ?? 'number' },
    }),
    context,
    { runtime: deps.runtime },
  );
  return { requestId, numberId: input.numberId };
};

/** The runbook's "start the runtime": one request id for every active number (each on its own stream). */
export const requestRuntimeForAll = async (
  deps: RuntimeControlDeps,
  numberIds: readonly string[],
  action: Exclude<RuntimeAction, 'logout'>,
  context: CommandContext,
): Promise<{ requestId: string; numbers: string[] }> => {
  const requestId = deps.runtime.newId();
  const numbers: string[] = [];
  for (const numberId of numberIds) {
    await requestRuntime(deps, { numberId, action, requestId, scope: 'all' }, context);
    numbers.push(numberId);
  }
  return { requestId, numbers };
};

/** Marks a request nobody answered as timed out; true when this call recorded it (once across processes). */
export const timeOutRuntimeRequest = async (
  deps: RuntimeControlDeps,
  request: { requestId: string; numberId: string },
  timeoutSeconds: number,
  context: CommandContext,
): Promise<boolean> => {
  const result = await handleCommand(
    deps.store,
    runtimeStreamId(request.numberId),
    numberRuntimeDecider,
    () => ({ type: 'TimeOutRuntimeRequest' as const, data: { ...request, timeoutSeconds } }),
    context,
    { runtime: deps.runtime },
  );
  return result.events.length > 0;
};
