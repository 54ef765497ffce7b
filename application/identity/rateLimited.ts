import { rateLimitStreamId, type RateLimited } from '#domain/identity/events.js';
import { rateLimitedDecider } from '#domain/identity/rateLimited.js';
import { printable } from '#domain/identity/rules.js';
import { handleCommand, type CommandContext } from '#application/shared/commandHandler.js';
import type { EventStore } from '#application/shared/eventStore.js';
import type { Runtime } from '#application/shared/runtime.js';

/**
 * Records that a client was refused by a rate limit (sampled by the caller: once per client and
 * window), on `ratelimit-<ip>`, through the one command handler.
 */
export const recordRateLimited = async (
  store: EventStore,
  data: RateLimited['data'],
  context: CommandContext,
  runtime: Runtime,
): Promise<void> => {
  const { ip, route, limit, windowSeconds, username } = data;
  await handleCommand(
    store,
    rateLimitStreamId(ip),
    rateLimitedDecider,
    () => ({
      type: 'RecordRateLimited' as const,
      data: { ip, route, limit, windowSeconds, ...(username !== undefined ? { username: printable(username) } : {}) },
    }),
    context,
    { runtime },
  );
};
