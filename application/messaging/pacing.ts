import type { ChannelLimits } from './channel.js';

/**
 * Pacing, per number (a token bucket at the channel's messages per second, bursting up to one
 * second's worth) and per recipient (one message in flight, then a minimum gap plus a random jitter of
 * 0..limits.jitterMs drawn per message), so a burst does not trip the provider's rate limits and a Web
 * number does not send with a machine-regular rhythm: a message that may not go yet stays queued
 * instead of failing. `random` is injected (Math.random by default) so tests are deterministic.
 * In memory is enough: exactly one worker holds a number's lease, so one process paces each number.
 */
export type Pacer = {
  /** takes a slot when the message may go now */
  tryAcquire(numberId: string, recipient: string, limits: ChannelLimits, nowMs: number): boolean;
  done(numberId: string, recipient: string, nowMs: number): void;
};

export const createPacer = (options: { random?: () => number } = {}): Pacer => {
  const random = options.random ?? Math.random;
  const buckets = new Map<string, { tokens: number; at: number }>();
  /** recipient key -> the gap to keep after this send (drawn when the slot is taken) */
  const inFlight = new Map<string, number>();
  const lastSent = new Map<string, { at: number; gapMs: number }>();
  const key = (numberId: string, recipient: string) => `${numberId}\u0000${recipient}`;
  return {
    tryAcquire(numberId, recipient, limits, nowMs) {
      const k = key(numberId, recipient);
      if (inFlight.has(k)) return false;
      const last = lastSent.get(k);
      if (last !== undefined && nowMs - last.at < last.gapMs) return false;
      const rate = Math.max(limits.messagesPerSecond, 0.001);
      const bucket = buckets.get(numberId) ?? { tokens: Math.max(1, rate), at: nowMs };
      bucket.tokens = Math.min(Math.max(1, rate), bucket.tokens + ((nowMs - bucket.at) * rate) / 1000);
      bucket.at = nowMs;
      buckets.set(numberId, bucket);
      if (bucket.tokens < 1) return false;
      bucket.tokens -= 1;
      const jitterMs = Math.max(0, limits.jitterMs ?? 0);
      inFlight.set(k, limits.minGapPerRecipientMs + (jitterMs > 0 ? Math.round(random() * jitterMs) : 0));
      return true;
    },
    done(numberId, recipient, nowMs) {
      const k = key(numberId, recipient);
      const gapMs = inFlight.get(k) ?? 0;
      inFlight.delete(k);
      lastSent.set(k, { at: nowMs, gapMs });
      // Forget recipients long past any gap, so the map does not grow with every contact ever served.
      if (lastSent.size > 10_000)
        for (const [other, last] of lastSent) if (nowMs - last.at > 60_000 + last.gapMs) lastSent.delete(other);
    },
  };
};

/** Exponential backoff with full jitter (between half and all of base * 2^(attempt-1)), capped. */
export const backoffDelayMs = (
  attempt: number,
  options: { baseMs: number; maxMs: number },
  random: () => number,
  retryAfterMs?: number,
): number => {
  const exponential = Math.min(options.maxMs, options.baseMs * 2 ** Math.max(0, attempt - 1));
  const jittered = Math.round(exponential * (0.5 + random() * 0.5));
  return Math.max(jittered, retryAfterMs ?? 0);
};
