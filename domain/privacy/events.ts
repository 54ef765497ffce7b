import type { Event } from '#domain/shared/event.js';

/**
 * The privacy context's event catalogue (crypto-shredding, docs/architecture.md "Personal data").
 *
 * Streams:
 *  - `contact-<chatId>`: what was done to one contact of one number (forgotten). The chatId, never the
 *    phone number: this event must stay readable, and hashable by the audit trail, after the contact's
 *    keys are gone.
 *  - `privacy-retention`: each run of the retention job that destroyed keys.
 */

export type ContactForgotten = Event<
  'ContactForgotten',
  {
    chatId: string;
    numberId: string;
    /** data keys destroyed (the contact's identity key and one content key per day it wrote or was written to) */
    keysDestroyed: number;
    by: string;
  }
>;

export type MessageContentExpired = Event<
  'MessageContentExpired',
  {
    /** YYYY-MM-DD (UTC): message content of every day before this one is no longer readable */
    before: string;
    retentionDays: number;
    keysDestroyed: number;
    by: string;
  }
>;

/**
 * One run of `chatbot contacts encrypt-legacy` (stream `privacy-legacy`): the personal fields of events
 * appended before crypto-shredding existed were rewritten in place, encrypted (or shredded when their key
 * was already destroyed). The only rewrite of the log; the counts say what it did.
 */
export type LegacyPersonalDataEncrypted = Event<
  'LegacyPersonalDataEncrypted',
  {
    eventsScanned: number;
    eventsRewritten: number;
    fieldsEncrypted: number;
    fieldsShredded: number;
    eventsChangedMeanwhile: number;
    keysDestroyedAgain: number;
    by: string;
  }
>;

/** The privacy events the read models apply (they erase what they copied). */
export type PrivacyEvent = ContactForgotten | MessageContentExpired;
/** Every event of the privacy context. */
export type PrivacyContextEvent = PrivacyEvent | LegacyPersonalDataEncrypted;
export const PRIVACY_EVENT_TYPES: readonly PrivacyEvent['type'][] = ['ContactForgotten', 'MessageContentExpired'];

export const CONTACT_STREAM_PREFIX = 'contact-';
export const contactStreamId = (chatId: string): string => `${CONTACT_STREAM_PREFIX}${chatId}`;
export const RETENTION_STREAM = 'privacy-retention';
export const LEGACY_STREAM = 'privacy-legacy';

/** What a destroyed data key leaves in place of a text. */
export const ERASED = '[erased]';
