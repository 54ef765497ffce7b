import type { Decider } from '#domain/shared/event.js';
import type { Command, RateLimited } from './events.js';

/**
 * Stream `ratelimit-<ip>`: the sampled record of a client refused by a rate limit. Nothing is
 * decided from the stream's history (the limiter's counters live in Redis or memory); the decider
 * exists so this write goes through the one command handler like every other.
 */
export type RecordRateLimited = Command<'RecordRateLimited', RateLimited['data']>;

export const rateLimitedDecider: Decider<null, RecordRateLimited, RateLimited> = {
  initialState: () => null,
  evolve: (state) => state,
  decide: (command) => [{ type: 'RateLimited', data: { ...command.data } }],
};
