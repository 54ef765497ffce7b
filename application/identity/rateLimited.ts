import { randomUUID } from 'node:crypto';
import { rateLimitStreamId, type RateLimited } from '#domain/identity/events.js';
import { rateLimitedDecider } from '#domain/identity/rateLimited.js';
import { printable } from '#domain/identity/rules.js';
import { handleCommand, type CommandContext } from '#application/shared/commandHandler.js';
import type { EventStore } from '#application/shared/eventStore.js';

/**
 * Records that a client was refused by a rate limit (sampled by the caller: once per client and
 * window), on `ratelimit-<ip>`, through the one command handler.
 */
export const recordRateLimited = async (
  store: EventStore,
  data: RateLimited['data'],
  context: CommandContext,
  now: Date,
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
    // sampled appends: the limiter's clock for the time, a random id for the event
    { runtime: { clock: () => now, newId: randomUUID } },
  );
};
