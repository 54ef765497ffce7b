import { createHash } from 'node:crypto';

/**
 * Name-based (v5-shaped) UUIDs. A chat's id comes from (number, contact), so every process finds the
 * same stream without a lookup and no phone number appears in a stream name. A message id derived from
 * an idempotency key or from the inbound event it answers makes a second attempt land on the same
 * stream, where the decider queues nothing new.
 */
const NAMESPACE = Buffer.from('4a1f7c2e9b3d4e8fa6c1d2e3f4a5b6c7', 'hex');

const nameBased = (...parts: string[]): string => {
  const hash = createHash('sha1').update(NAMESPACE);
  for (const part of parts) hash.update(part, 'utf8').update('\u0000');
  const bytes = hash.digest();
  bytes[6] = (bytes[6]! & 0x0f) | 0x50;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
};

export const chatIdFor = (numberId: string, contact: string): string => nameBased('chat', numberId, contact);
/** Idempotency keys are per caller: two users choosing the same key do not collide. */
export const messageIdForKey = (actor: string, key: string): string => nameBased('idempotency', actor, key);
/** The bot's reply to an inbound message: one per MessageReceived event, whoever computes it. */
export const replyMessageIdFor = (inboundEventId: string): string => nameBased('reply', inboundEventId);
/** Part 2, 3... of a reply split at the channel's text limit (part 1 is `replyMessageIdFor`). */
export const replyPartMessageIdFor = (inboundEventId: string, index: number): string =>
  index === 0 ? replyMessageIdFor(inboundEventId) : nameBased('reply', inboundEventId, String(index));
/** An inbound message's id from its provider id: the same delivery twice is the same message. */
export const inboundMessageIdFor = (numberId: string, providerMessageId: string): string =>
  nameBased('inbound', numberId, providerMessageId);
/** The outbound message a scheduled message becomes: whoever fires it, and however often, queues this one. */
export const scheduledMessageIdFor = (scheduleId: string): string => nameBased('scheduled', scheduleId);
/** A scheduled message created with an Idempotency-Key (per caller, like messageIdForKey). */
export const scheduleIdForKey = (actor: string, key: string): string => nameBased('schedule-key', actor, key);
/**
 * The MessageReceived event's id for one provider delivery: a webhook retried by Meta lands on the same
 * event id, which the store's idempotent append writes once (the chat decider keeps no set of ids).
 */
export const inboundEventIdFor = (numberId: string, providerMessageId: string): string =>
  nameBased('inbound-event', numberId, providerMessageId);
