import type { EventStore, RecordedEvent } from '#application/shared/eventStore.js';
import type { LegacyEncryptionCounts, LegacyPersonalData } from '#application/privacy/ports.js';
import { contentTime, keyPeriod, PERSONAL_EVENT_TYPES, personalFieldsOf } from '#domain/privacy/personalData.js';
import { encryptField, isEnvelope, shreddedEnvelope, type Envelope } from '#infrastructure/eventstore/shredding.js';
import type { ContactKeys } from './contactKeys.js';

/** The event store cannot rewrite an event (EventStoreDB): its legacy plaintext cannot be encrypted in place. */
export class LegacyRewriteUnsupportedError extends Error {
  readonly code = 'legacy_rewrite_unsupported';
  constructor(kind: string) {
    super(
      `the ${kind} event store cannot rewrite an event: personal data appended before crypto-shredding stays stored in clear there; that of every contact forgotten so far now reads as [erased] (docs/architecture.md "Personal data")`,
    );
    this.name = 'LegacyRewriteUnsupportedError';
  }
}

/** What the privacy events say was destroyed: a legacy field under it is shredded, not encrypted. */
type Destroyed = {
  /** chat id -> position of its last ContactForgotten */
  forgottenAt: Map<string, number>;
  /** YYYY-MM-DD: content of every day before it has expired (retention), or '' */
  contentBefore: string;
};

const pages = async function* (store: Pick<EventStore, 'readAll'>, eventTypes: string[], upTo: number, size: number) {
  let after = 0;
  for (;;) {
    const page = (await store.readAll({ after, maxCount: size, filter: { eventTypes } })).filter(
      (event) => event.position <= upTo,
    );
    if (page.length > 0) yield page;
    if (page.length < size) return;
    after = page[page.length - 1]!.position;
  }
};

const destroyedBy = async (store: Pick<EventStore, 'readAll'>, after: number, upTo: number): Promise<Destroyed> => {
  const forgottenAt = new Map<string, number>();
  let contentBefore = '';
  for await (const page of pages(store, ['ContactForgotten', 'MessageContentExpired'], upTo, 1000))
    for (const event of page) {
      if (event.position <= after) continue;
      const data = event.data as Record<string, unknown>;
      if (event.type === 'ContactForgotten' && typeof data.chatId === 'string')
        forgottenAt.set(data.chatId, event.position);
      if (event.type === 'MessageContentExpired' && typeof data.before === 'string' && data.before > contentBefore)
        contentBefore = data.before;
    }
  return { forgottenAt, contentBefore };
};

/**
 * Crypto-shredding for the events appended before it existed (commit 95a4e6c and earlier: their phone
 * numbers, names and texts are plain JSON in the log, and destroying a contact's keys does nothing to them).
 * Reads the raw store (not through the decorator), and for each event of a catalogued type
 * (domain/privacy/personalData.ts) with a personal field not yet an envelope, writes the field in place:
 *  - encrypted exactly as the decorator would have at append time (same key of the chat and period, same
 *    deterministic IV from event id, field and value), so the event then reads back unchanged;
 *  - or, when the privacy events already destroyed that key (the chat was forgotten after the event, or the
 *    content's day is before a retention run's cut-off), as a `shredded` envelope that reads as "[erased]".
 * Each rewrite is a compare-and-set on the whole data (an event changed meanwhile is counted, not touched).
 * Idempotent: a second run finds nothing to do. A chat forgotten while this ran may have had a key
 * re-created for its legacy events: its keys are destroyed again at the end (what that forget asked for).
 */
export const createLegacyPersonalData = (options: {
  /** the raw store, not the crypto-shredding decorator */
  store: EventStore;
  keys: ContactKeys;
  batchSize?: number;
}): LegacyPersonalData => ({
  async encryptAll(): Promise<LegacyEncryptionCounts> {
    const { store, keys } = options;
    const batchSize = options.batchSize ?? 500;
    const head = await store.headPosition();
    const destroyed = await destroyedBy(store, 0, head);
    // contacts forgotten before forgotten_chats existed: their legacy plaintext reads as [erased] from now on
    await keys.recordForgotten([...destroyed.forgottenAt.keys()]);
    const rewrite = store.rewriteEventData?.bind(store);
    if (rewrite === undefined) throw new LegacyRewriteUnsupportedError(store.kind);
    const counts: LegacyEncryptionCounts = {
      eventsScanned: 0,
      eventsRewritten: 0,
      fieldsEncrypted: 0,
      fieldsShredded: 0,
      eventsChangedMeanwhile: 0,
      keysDestroyedAgain: 0,
    };
    const encryptedChats = new Set<string>();

    // the key store's own record of what was destroyed (forgotten_chats, the retention cut-off) counts too
    let recorded: Awaited<ReturnType<ContactKeys['redactions']>> = { forgotten: new Set(), contentBefore: null };
    const shredded = (event: RecordedEvent, chatId: string, fieldClass: string, time: string): boolean => {
      const forgotten = destroyed.forgottenAt.get(chatId);
      if ((forgotten !== undefined && forgotten > event.position) || recorded.forgotten.has(chatId)) return true;
      const before = [destroyed.contentBefore, recorded.contentBefore ?? ''].sort().at(-1)!;
      return fieldClass === 'content' && before !== '' && time.slice(0, 10) < before;
    };

    for await (const page of pages(store, [...PERSONAL_EVENT_TYPES], head, batchSize)) {
      recorded = await keys.redactions(
        page
          .map((event) => (event.data as Record<string, unknown>).chatId)
          .filter((c): c is string => typeof c === 'string'),
      );
      for (const event of page) {
        counts.eventsScanned += 1;
        const data = event.data as Record<string, unknown>;
        const legacy = personalFieldsOf(event.type).filter(([field]) => {
          const value = data[field];
          return value !== null && value !== undefined && !isEnvelope(value);
        });
        const chatId = data.chatId;
        if (legacy.length === 0 || typeof chatId !== 'string' || chatId === '') continue;
        const time = contentTime(event.type, data, event.metadata.occurredAt);
        const next: Record<string, unknown> = { ...data };
        let encrypted = 0;
        for (const [field, spec] of legacy) {
          if (shredded(event, chatId, spec.class, time)) {
            next[field] = shreddedEnvelope();
            continue;
          }
          const { keyId, key } = await keys.keyFor(chatId, keyPeriod(spec.class, time));
          next[field] = { $enc: keyId, v: encryptField(key, event.id, field, data[field]) } satisfies Envelope;
          encrypted += 1;
        }
        if (await rewrite(event.id, data, next)) {
          counts.eventsRewritten += 1;
          counts.fieldsEncrypted += encrypted;
          counts.fieldsShredded += legacy.length - encrypted;
          if (encrypted > 0) encryptedChats.add(chatId);
        } else counts.eventsChangedMeanwhile += 1;
      }
    }

    // a forget that ran while we re-created keys for its chat: destroy them again
    const meanwhile = await destroyedBy(store, head, await store.headPosition());
    for (const chatId of meanwhile.forgottenAt.keys())
      if (encryptedChats.has(chatId)) counts.keysDestroyedAgain += await keys.destroyChat(chatId);
    if (meanwhile.contentBefore !== '')
      counts.keysDestroyedAgain += (await keys.destroyContentBefore(meanwhile.contentBefore)).keysDestroyed;
    return counts;
  },
});
