import { randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import type { ContactKeyStore } from '#application/privacy/ports.js';
import type { SecretCipher } from '#application/secrets/ports.js';

/**
 * The contacts' data keys in the read-model database (table `contact_keys`), each 32 random bytes
 * wrapped under FERNET_KEYS (Fernet; without FERNET_KEYS, outside production, stored unwrapped and
 * marked so, and wrapped by the next `chatbot secrets rotate`). Keys are cached in memory (bounded);
 * every destruction moves `contact_keys_epoch`, and a process that sees the epoch move drops its cache,
 * so a key destroyed by another process stops decrypting within `epochCheckMs`.
 */
export type DataKey = { keyId: string; key: Buffer };

export type ContactKeys = ContactKeyStore & {
  /** the key of (chat, period), created on first use */
  keyFor(chatId: string, period: string): Promise<DataKey>;
  /** the keys that still exist among `keyIds` */
  load(keyIds: readonly string[]): Promise<Map<string, Buffer>>;
  /**
   * Moves whenever this process drops its cached keys (a destruction here, one seen through the epoch,
   * a full cache): whoever keeps what those keys opened drops it too.
   */
  generation(): number;
  /**
   * For personal data in clear (events from before crypto-shredding): which of `chatIds` were forgotten,
   * and the latest retention cut-off (YYYY-MM-DD, or null). Cached like the keys, dropped when the epoch moves.
   */
  redactions(chatIds: readonly string[]): Promise<{ forgotten: Set<string>; contentBefore: string | null }>;
  /** records chats as forgotten (tombstones) without destroying anything; how many were new */
  recordForgotten(chatIds: readonly string[]): Promise<number>;
};

const PLAIN = 'plain:';
const KEY_BYTES = 32;

export class DataKeyUnwrapError extends Error {
  readonly code = 'data_key_unwrap_failed';
  constructor(reason: string) {
    super(`a contact data key cannot be unwrapped: ${reason}`);
    this.name = 'DataKeyUnwrapError';
  }
}

/** knex answers a count on PostgreSQL, and the driver's result object on PGlite (knex-pglite). */
const affected = (result: unknown): number => {
  if (typeof result === 'number') return result;
  const counted = result as { affectedRows?: unknown; rowCount?: unknown } | null;
  const rows = counted?.affectedRows ?? counted?.rowCount;
  return typeof rows === 'number' ? rows : 0;
};

export const createContactKeys = (options: {
  knex: Knex;
  cipher: SecretCipher | null;
  /** bound of the in-memory cache (keys); default 10,000 */
  cacheSize?: number;
  /** how stale a cached key may be after another process destroyed it; default 200 ms */
  epochCheckMs?: number;
  now?: () => number;
}): ContactKeys => {
  const { knex, cipher } = options;
  const cacheSize = options.cacheSize ?? 10_000;
  const epochCheckMs = options.epochCheckMs ?? 200;
  const now = options.now ?? (() => Date.now());
  const byId = new Map<string, Buffer>();
  const idByPeriod = new Map<string, string>();
  /** chat id -> forgotten, for the chats asked about since the epoch last moved */
  const forgottenChats = new Map<string, boolean>();
  let contentBefore: string | null | undefined;
  let epoch: string | null = null;
  let checkedAt = -Infinity;
  let checking: Promise<void> | null = null;

  let generation = 0;
  const clear = () => {
    generation += 1;
    byId.clear();
    idByPeriod.clear();
    forgottenChats.clear();
    contentBefore = undefined;
  };
  const remember = (keyId: string, key: Buffer, chatPeriod?: string) => {
    if (byId.size >= cacheSize || forgottenChats.size >= cacheSize) clear(); // crude but bounded: a full cache starts over
    byId.set(keyId, key);
    if (chatPeriod !== undefined) idByPeriod.set(chatPeriod, keyId);
  };

  const checkEpoch = async (): Promise<void> => {
    if (now() - checkedAt < epochCheckMs) return;
    checking ??= (async () => {
      try {
        const row = await knex('contact_keys_epoch').where({ id: 1 }).first<{ epoch: string | number } | undefined>();
        const current = String(row?.epoch ?? 0);
        if (current !== epoch) clear();
        epoch = current;
        checkedAt = now();
      } finally {
        checking = null;
      }
    })();
    await checking;
  };

  const wrap = (key: Buffer): { wrapped_key: string; key_fingerprint: string | null } =>
    cipher === null
      ? { wrapped_key: PLAIN + key.toString('base64'), key_fingerprint: null }
      : { wrapped_key: cipher.encrypt(key.toString('base64')), key_fingerprint: cipher.currentKeyFingerprint };

  const unwrap = (wrapped: string): Buffer => {
    if (wrapped.startsWith(PLAIN)) return Buffer.from(wrapped.slice(PLAIN.length), 'base64');
    if (cipher === null) throw new DataKeyUnwrapError('it is wrapped under FERNET_KEYS, which is not set');
    try {
      return Buffer.from(cipher.decrypt(wrapped), 'base64');
    } catch {
      throw new DataKeyUnwrapError('no key of FERNET_KEYS opens it (put the key it was wrapped under back)');
    }
  };

  const destroyed = async (trx: Knex.Transaction, count: number): Promise<number> => {
    if (count > 0) await trx('contact_keys_epoch').where({ id: 1 }).increment('epoch', 1);
    return count;
  };

  /** a chat's key being fetched or created: the messages of one chat that arrive meanwhile share it */
  const fetching = new Map<string, Promise<{ keyId: string; key: Buffer }>>();
  const fetchKey = async (chatId: string, period: string, chatPeriod: string) => {
    let row = await knex('contact_keys')
      .where({ chat_id: chatId, period })
      .first<{ key_id: string; wrapped_key: string } | undefined>('key_id', 'wrapped_key');
    if (row === undefined) {
      const key = randomBytes(KEY_BYTES);
      const keyId = randomBytes(12).toString('base64url');
      await knex('contact_keys')
        .insert({ key_id: keyId, chat_id: chatId, period, ...wrap(key) })
        .onConflict(['chat_id', 'period'])
        .ignore();
      // another process may have won the race: everyone uses the stored one
      row = await knex('contact_keys')
        .where({ chat_id: chatId, period })
        .first<{ key_id: string; wrapped_key: string }>('key_id', 'wrapped_key');
    }
    const key = unwrap(row.wrapped_key);
    remember(row.key_id, key, chatPeriod);
    return { keyId: row.key_id, key };
  };

  return {
    generation: () => generation,
    async keyFor(chatId, period) {
      await checkEpoch();
      const chatPeriod = `${chatId}|${period}`;
      const cachedId = idByPeriod.get(chatPeriod);
      const cached = cachedId === undefined ? undefined : byId.get(cachedId);
      if (cachedId !== undefined && cached !== undefined) return { keyId: cachedId, key: cached };
      let pending = fetching.get(chatPeriod);
      if (pending === undefined) {
        pending = fetchKey(chatId, period, chatPeriod).finally(() => fetching.delete(chatPeriod));
        fetching.set(chatPeriod, pending);
      }
      return pending;
    },

    async load(keyIds) {
      await checkEpoch();
      const found = new Map<string, Buffer>();
      const missing: string[] = [];
      for (const keyId of new Set(keyIds)) {
        const cached = byId.get(keyId);
        if (cached === undefined) missing.push(keyId);
        else found.set(keyId, cached);
      }
      if (missing.length > 0) {
        const rows = await knex('contact_keys')
          .whereIn('key_id', missing)
          .select<{ key_id: string; wrapped_key: string }[]>('key_id', 'wrapped_key');
        for (const row of rows) {
          const key = unwrap(row.wrapped_key);
          remember(row.key_id, key);
          found.set(row.key_id, key);
        }
      }
      return found;
    },

    async destroyChat(chatId) {
      const count = await knex.transaction(async (trx) => {
        const deleted = affected(await trx('contact_keys').where({ chat_id: chatId }).delete());
        // the tombstone erases what no key covers (legacy plaintext); the epoch moves even with no key
        await trx('forgotten_chats').insert({ chat_id: chatId }).onConflict('chat_id').merge(['forgotten_at']);
        await trx('contact_keys_epoch').where({ id: 1 }).increment('epoch', 1);
        return deleted;
      });
      clear();
      return count;
    },

    async destroyContentBefore(day) {
      const count = await knex.transaction(async (trx) => {
        const deleted = affected(
          await trx('contact_keys').whereNot('period', 'identity').andWhere('period', '<', day).delete(),
        );
        const moved = affected(
          await trx('contact_keys_epoch')
            .where({ id: 1 })
            .andWhere((w) => w.whereNull('content_expired_before').orWhere('content_expired_before', '<', day))
            .update({ content_expired_before: day }),
        );
        await destroyed(trx, deleted + moved);
        return { keysDestroyed: deleted, cutoffMoved: moved > 0 };
      });
      clear();
      return count;
    },

    async recordForgotten(chatIds) {
      if (chatIds.length === 0) return 0;
      const added = await knex.transaction(async (trx) => {
        const rows = await trx('forgotten_chats')
          .insert([...new Set(chatIds)].map((chatId) => ({ chat_id: chatId })))
          .onConflict('chat_id')
          .ignore()
          .returning('chat_id');
        return destroyed(trx, rows.length);
      });
      clear();
      return added;
    },

    async redactions(chatIds) {
      await checkEpoch();
      const unknown = [...new Set(chatIds)].filter((chatId) => !forgottenChats.has(chatId));
      if (unknown.length > 0) {
        const rows = await knex('forgotten_chats').whereIn('chat_id', unknown).select<{ chat_id: string }[]>('chat_id');
        const found = new Set(rows.map((row) => row.chat_id));
        for (const chatId of unknown) forgottenChats.set(chatId, found.has(chatId));
      }
      if (contentBefore === undefined) {
        const row = await knex('contact_keys_epoch')
          .where({ id: 1 })
          .first<{ content_expired_before: string | null } | undefined>('content_expired_before');
        contentBefore = row?.content_expired_before ?? null;
      }
      return {
        forgotten: new Set(chatIds.filter((chatId) => forgottenChats.get(chatId) === true)),
        contentBefore,
      };
    },

    async rewrap() {
      if (cipher === null) throw new DataKeyUnwrapError('FERNET_KEYS is not set');
      let checked = 0;
      let rewrapped = 0;
      let failed = 0;
      let after = '';
      for (;;) {
        const rows = await knex('contact_keys')
          .where('key_id', '>', after)
          .orderBy('key_id')
          .limit(1000)
          .select<{ key_id: string; wrapped_key: string; key_fingerprint: string | null }[]>(
            'key_id',
            'wrapped_key',
            'key_fingerprint',
          );
        if (rows.length === 0) break;
        for (const row of rows) {
          checked += 1;
          if (row.key_fingerprint === cipher.currentKeyFingerprint) continue;
          try {
            const fresh = wrap(unwrap(row.wrapped_key));
            // compare-and-set: a concurrent rotation or destruction wins
            rewrapped += affected(
              await knex('contact_keys').where({ key_id: row.key_id, wrapped_key: row.wrapped_key }).update(fresh),
            );
          } catch (error) {
            if (!(error instanceof DataKeyUnwrapError)) throw error;
            failed += 1;
          }
        }
        after = rows[rows.length - 1]!.key_id;
      }
      return { checked, rewrapped, failed };
    },
  };
};
