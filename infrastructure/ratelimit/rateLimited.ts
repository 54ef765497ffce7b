import { randomUUID } from 'node:crypto';
import { eventMetadata, type CommandContext } from '#application/shared/commandHandler.js';
import type { AppendResult, EventStore } from '#application/shared/eventStore.js';

/**
 * RateLimited is sampled: one event when a client is first refused in a window, never one per
 * refused request (a flood must not turn into a flood of appends).
 */
export const RATE_LIMITED = 'RateLimited';

export type RateLimitedData = {
  ip: string;
  /** 'POST /api/auth/login', 'GET /api/users/:id'... */
  route: string;
  /** requests allowed per window */
  limit: number;
  windowSeconds: number;
  /** from the login body, when there is one */
  username?: string;
};

/** `ratelimit-<ip>` with ':' and '.' turned into '-', so IPv4 and IPv6 give plain stream names. */
export const rateLimitStreamId = (ip: string): string => `ratelimit-${ip.replace(/[:.]/g, '-')}`;

export const recordRateLimited = (
  store: EventStore,
  data: RateLimitedData,
  context: CommandContext,
  now: Date,
): Promise<AppendResult> =>
  store.append(rateLimitStreamId(data.ip), [
    {
      id: randomUUID(),
      type: RATE_LIMITED,
      data: {
        ip: data.ip,
        route: data.route,
        limit: data.limit,
        windowSeconds: data.windowSeconds,
        ...(data.username !== undefined ? { username: data.username } : {}),
      },
      metadata: eventMetadata(context, now),
    },
  ]);
