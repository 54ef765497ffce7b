import { createCipheriv, createDecipheriv, createHmac } from 'node:crypto';
import {
  InvalidAppendError,
  type EventStore,
  type NewEvent,
  type RecordedEvent,
} from '#application/shared/eventStore.js';
import type { Event } from '#domain/shared/event.js';
import { contentTime, keyPeriod, personalFieldsOf } from '#domain/privacy/personalData.js';
import type { ContactKeys } from '#infrastructure/privacy/contactKeys.js';

/**
 * Crypto-shredding at the event store boundary: a decorator of the port, the same for every adapter.
 * On append, each personal field (domain/privacy/personalData.ts) becomes `{ "$enc": <key id>, "v": <ciphertext> }`
 * under a key of the event's chat; on read and subscription it is decrypted back, and a field whose key
 * was destroyed reads as its erased value ("[erased]"); so does a field still in clear (appended before
 * crypto-shredding existed) whose chat was forgotten or whose day is past the retention cut-off. Nothing
 * else of the event changes: stream names,
 * types, metadata and the other fields stay readable (and contain no personal data by the catalogue's rule).
 *
 * Encryption is deterministic per event and field (AES-256-GCM, IV = HMAC(key, event id, field, value)):
 * a retried append with the same ids and content yields the same bytes, so the stores' idempotence check
 * (same id, same data) keeps working; the same value in another event or field yields other bytes, and
 * the event id and field name are authenticated (a ciphertext cannot be moved to another event).
 */
export type Envelope = { $enc: string; v: string };

/**
 * The key id of a field shredded without ever being readable under a key: what `chatbot contacts
 * encrypt-legacy` writes in place of a legacy plaintext field whose contact was already forgotten (or whose
 * day was already past retention). No key has this id (real ids are 16 base64url characters), so it reads as
 * the field's erased value.
 */
export const SHREDDED_KEY_ID = 'shredded';
export const shreddedEnvelope = (): Envelope => ({ $enc: SHREDDED_KEY_ID, v: '' });

const IV_BYTES = 12;
/** decrypted fields kept per process (see PlaintextCache) */
const PLAINTEXT_CACHE_SIZE = 20_000;
const TAG_BYTES = 16;

export const isEnvelope = (value: unknown): value is Envelope =>
  typeof value === 'object' &&
  value !== null &&
  typeof (value as Envelope).$enc === 'string' &&
  typeof (value as Envelope).v === 'string' &&
  Object.keys(value).length === 2;

const aad = (eventId: string, field: string) => Buffer.from(`${eventId}\u0000${field}`, 'utf8');

export const encryptField = (key: Buffer, eventId: string, field: string, value: unknown): string => {
  const plaintext = Buffer.from(JSON.stringify(value), 'utf8');
  const iv = createHmac('sha256', key)
    .update(aad(eventId, field))
    .update('\u0000')
    .update(plaintext)
    .digest()
    .subarray(0, IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(aad(eventId, field));
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([iv, ciphertext, cipher.getAuthTag()]).toString('base64url');
};

export const decryptField = (key: Buffer, eventId: string, field: string, token: string): unknown => {
  const bytes = Buffer.from(token, 'base64url');
  const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(0, IV_BYTES));
  decipher.setAAD(aad(eventId, field));
  decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
  const plaintext = Buffer.concat([
    decipher.update(bytes.subarray(IV_BYTES, bytes.length - TAG_BYTES)),
    decipher.final(),
  ]);
  return JSON.parse(plaintext.toString('utf8')) as unknown;
};

const encryptEvent = async (keys: ContactKeys, event: NewEvent, streamId: string): Promise<NewEvent> => {
  const fields = personalFieldsOf(event.type);
  if (fields.length === 0) return event;
  const present = fields.filter(([field]) => event.data[field] !== null && event.data[field] !== undefined);
  if (present.length === 0) return event;
  const chatId = event.data.chatId;
  if (typeof chatId !== 'string' || chatId === '')
    throw new InvalidAppendError(`${event.type} carries personal data and needs a chatId`, streamId);
  const data: Record<string, unknown> = { ...event.data };
  for (const [field, spec] of present) {
    const value = data[field];
    if (isEnvelope(value)) continue;
    const time = contentTime(event.type, event.data, event.metadata.occurredAt);
    const { keyId, key } = await keys.keyFor(chatId, keyPeriod(spec.class, time));
    data[field] = { $enc: keyId, v: encryptField(key, event.id, field, value) } satisfies Envelope;
  }
  return { ...event, data };
};

const keyIdsOf = (events: readonly RecordedEvent[]): string[] => {
  const ids: string[] = [];
  for (const event of events)
    for (const [field] of personalFieldsOf(event.type)) {
      const value = (event.data as Record<string, unknown>)[field];
      if (isEnvelope(value) && value.$enc !== SHREDDED_KEY_ID) ids.push(value.$enc);
    }
  return ids;
};

/**
 * Fields this process decrypted lately, by everything the decryption depends on (event id, field, key id,
 * ciphertext): every subscriber of the process (projections, the responder, the worker's feed) reads the
 * same new events, and AES-GCM per field per reader was a large share of the pipeline's CPU. Only used
 * while the key still exists (each read asks `load`, so a destroyed key reads as erased at once), only
 * for primitive values (no shared objects), bounded, and dropped whenever the key cache is.
 */
class PlaintextCache {
  private readonly values = new Map<string, unknown>();
  private generation = -1;
  constructor(private readonly limit: number) {}
  sync(generation: number) {
    if (generation === this.generation) return;
    this.generation = generation;
    this.values.clear();
  }
  decrypt(key: Buffer, eventId: string, field: string, envelope: Envelope): unknown {
    const id = `${eventId}\u0000${field}\u0000${envelope.$enc}\u0000${envelope.v}`;
    if (this.values.has(id)) return this.values.get(id);
    const value = decryptField(key, eventId, field, envelope.v);
    if (value === null || typeof value !== 'object') {
      if (this.values.size >= this.limit) this.values.delete(this.values.keys().next().value!);
      this.values.set(id, value);
    }
    return value;
  }
}

/** The chats of events holding a personal field in clear (appended before crypto-shredding existed). */
const legacyChatsOf = (events: readonly RecordedEvent[]): string[] => {
  const chats: string[] = [];
  for (const event of events) {
    const data = event.data as Record<string, unknown>;
    if (typeof data.chatId !== 'string') continue;
    for (const [field] of personalFieldsOf(event.type)) {
      const value = data[field];
      if (value !== null && value !== undefined && !isEnvelope(value)) {
        chats.push(data.chatId);
        break;
      }
    }
  }
  return chats;
};

type Redactions = { forgotten: ReadonlySet<string>; contentBefore: string | null };

/**
 * A personal field in clear reads as erased when what would have destroyed its key has happened: its
 * contact was forgotten, or (content) its day is before the retention cut-off. The redaction applies on
 * every read path because they all come through here; `chatbot contacts encrypt-legacy` removes the
 * plaintext itself from the SQL stores.
 */
const legacyErased = (event: RecordedEvent, fieldClass: string, redactions: Redactions): boolean => {
  const data = event.data as Record<string, unknown>;
  if (typeof data.chatId === 'string' && redactions.forgotten.has(data.chatId)) return true;
  if (fieldClass !== 'content' || redactions.contentBefore === null) return false;
  return contentTime(event.type, data, event.metadata.occurredAt).slice(0, 10) < redactions.contentBefore;
};

const decryptEvent = <R extends RecordedEvent>(
  event: R,
  keys: ReadonlyMap<string, Buffer>,
  redactions: Redactions | null,
  cache: PlaintextCache,
): R => {
  const fields = personalFieldsOf(event.type);
  if (fields.length === 0) return event;
  let data: Record<string, unknown> | null = null;
  for (const [field, spec] of fields) {
    const value = (event.data as Record<string, unknown>)[field];
    if (!isEnvelope(value)) {
      if (value === null || value === undefined || redactions === null) continue;
      if (!legacyErased(event, spec.class, redactions)) continue;
      data ??= { ...(event.data as Record<string, unknown>) };
      data[field] = spec.erased;
      continue;
    }
    data ??= { ...(event.data as Record<string, unknown>) };
    const key = keys.get(value.$enc);
    data[field] = key === undefined ? spec.erased : cache.decrypt(key, event.id, field, value);
  }
  return data === null ? event : { ...event, data };
};

export const withShredding = (inner: EventStore, keys: ContactKeys): EventStore => {
  const cache = new PlaintextCache(PLAINTEXT_CACHE_SIZE);
  const decryptAll = async <R extends RecordedEvent>(events: R[]): Promise<R[]> => {
    const ids = keyIdsOf(events);
    const legacyChats = legacyChatsOf(events);
    if (ids.length === 0 && legacyChats.length === 0) return events;
    const found = ids.length === 0 ? new Map<string, Buffer>() : await keys.load(ids);
    const redactions = legacyChats.length === 0 ? null : await keys.redactions(legacyChats);
    cache.sync(keys.generation());
    return events.map((event) => decryptEvent(event, found, redactions, cache));
  };
  return {
    kind: inner.kind,
    async append(streamId, events, options) {
      const encrypted: NewEvent[] = [];
      for (const event of events) encrypted.push(await encryptEvent(keys, event, streamId));
      return inner.append(streamId, encrypted, options);
    },
    async readStream<E extends Event = Event>(...args: Parameters<EventStore['readStream']>) {
      return decryptAll(await inner.readStream<E>(...args));
    },
    async readAll<E extends Event = Event>(...args: Parameters<EventStore['readAll']>) {
      return decryptAll(await inner.readAll<E>(...args));
    },
    subscribeToAll(options) {
      return inner.subscribeToAll({
        ...options,
        onEvent: async (event) => {
          const [plain] = await decryptAll([event]);
          await options.onEvent(plain!);
        },
      });
    },
    headPosition: () => inner.headPosition(),
    ping: () => inner.ping(),
    close: () => inner.close(),
  };
};
