import type { AppEvent } from '#domain/events.js';
import { ERASED } from './events.js';

/**
 * THE list of personal data in the event catalogue: which fields of which event types are encrypted
 * with the contact's keys (infrastructure/eventstore/shredding.ts), and what each reads as once its key
 * is destroyed. A field's class picks its key:
 *  - `identity` (who: phone number, name) is under the contact's identity key, destroyed when the contact
 *    is forgotten;
 *  - `content` (what: message text, template) is under a key of the contact and the UTC day of the event,
 *    destroyed when the contact is forgotten or when that day falls out of MESSAGE_RETENTION_DAYS.
 * Every catalogued type carries the `chatId` the keys belong to. A new event type or field holding a
 * phone number, a name or a text must be added here (tests/unit/privacy checks the known ones).
 */
export type PersonalFieldClass = 'identity' | 'content';
export type PersonalField<V> = { readonly class: PersonalFieldClass; readonly erased: V };

type WithChat = Extract<AppEvent, { data: { chatId: string } }>;
type DataOf<T extends WithChat['type']> = Extract<WithChat, { type: T }>['data'];
export type PersonalFields = {
  readonly [T in WithChat['type']]?: { readonly [K in keyof DataOf<T>]?: PersonalField<DataOf<T>[K]> };
};

const identity = { class: 'identity', erased: ERASED } as const;
const content = { class: 'content', erased: ERASED } as const;

export const PERSONAL_FIELDS = {
  MessageReceived: { contact: identity, contactName: identity, text: content },
  ConversationPaused: { contact: identity },
  ConversationResumed: { contact: identity },
  MessageQueued: {
    to: identity,
    text: content,
    template: { class: 'content', erased: { name: ERASED, language: ERASED } },
  },
  MessageScheduled: {
    to: identity,
    text: content,
    template: { class: 'content', erased: { name: ERASED, language: ERASED } },
  },
} as const satisfies PersonalFields;

/**
 * Content is keyed by the day it is sent or received: the event's occurredAt, or for a message
 * scheduled ahead its `at` (retention counts from when it goes out, not from when it was planned).
 */
export const CONTENT_TIME_FIELD: Partial<Record<PersonalEventType, string>> = { MessageScheduled: 'at' };

/** The instant whose UTC day keys an event's content. */
export const contentTime = (type: string, data: Readonly<Record<string, unknown>>, occurredAt: string): string => {
  const field = Object.hasOwn(CONTENT_TIME_FIELD, type) ? CONTENT_TIME_FIELD[type as PersonalEventType] : undefined;
  const value = field === undefined ? undefined : data[field];
  return typeof value === 'string' && !Number.isNaN(Date.parse(value)) ? new Date(value).toISOString() : occurredAt;
};

export type PersonalEventType = keyof typeof PERSONAL_FIELDS;
export const PERSONAL_EVENT_TYPES: readonly PersonalEventType[] = Object.keys(PERSONAL_FIELDS) as PersonalEventType[];

/** The fields of one event type, as [name, spec] pairs (empty for a type without personal data). */
export const personalFieldsOf = (type: string): readonly (readonly [string, PersonalField<unknown>])[] =>
  Object.hasOwn(PERSONAL_FIELDS, type)
    ? Object.entries(PERSONAL_FIELDS[type as PersonalEventType] as Record<string, PersonalField<unknown>>)
    : [];

/** The key period of a field: 'identity', or the UTC day (YYYY-MM-DD) of the event for content. */
export const keyPeriod = (fieldClass: PersonalFieldClass, occurredAt: string): string =>
  fieldClass === 'identity' ? 'identity' : occurredAt.slice(0, 10);

/** YYYY-MM-DD of the UTC day `days` before `now`: content of days before it has expired. */
export const retentionCutoff = (now: Date, days: number): string =>
  new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() - days)).toISOString().slice(0, 10);
