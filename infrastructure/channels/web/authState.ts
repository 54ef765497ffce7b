import {
  BufferJSON,
  initAuthCreds,
  proto,
  type AuthenticationCreds,
  type AuthenticationState,
  type SignalDataSet,
  type SignalDataTypeMap,
} from 'baileys';
import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import type { SecretCipher } from '#application/secrets/ports.js';

const TABLE = 'whatsapp_auth';
const CREDS = 'creds';

export type WebAuthState = {
  state: AuthenticationState;
  /** writes the creds (baileys' `creds.update`) */
  saveCreds: () => Promise<void>;
  /** true when the creds were read back from the database (a paired or pairing session) */
  resumed: boolean;
};

export type WebAuthStore = {
  /** the number's session, or fresh creds when there is none */
  load(): Promise<WebAuthState>;
  /** forgets the whole session (logged out: the next connection pairs anew) */
  clear(): Promise<void>;
  /** true when the stored creds belong to a paired device (`me` is set) */
  isPaired(): Promise<boolean>;
};

/**
 * Key ids are stored hashed: some are phone numbers or JIDs (device lists, LID mappings of contacts),
 * and stream names, columns and indexes are never encrypted. The value is what is secret (encrypted);
 * the hash only keeps the ids from being read off the table.
 */
const storedId = (category: string, id: string): string =>
  createHash('sha256').update(`${category}\u0000${id}`).digest('base64url');

const serialise = (value: unknown): string => JSON.stringify(value, BufferJSON.replacer);
// BufferJSON.reviver is typed `any` by baileys; this keeps the parse result `unknown`.
const deserialise = (text: string): unknown =>
  JSON.parse(text, BufferJSON.reviver as (k: string, v: unknown) => unknown);

/**
 * A number's baileys session in PostgreSQL: the creds and every signal key family, each row
 * Fernet-encrypted with the newest key of FERNET_KEYS (the row says which key). One `keys.set` call is
 * one database transaction: baileys' transaction capability collects a whole message's key changes and
 * hands them over at once, so a crash never leaves half a ratchet step written. Never files.
 */
export const pgWebAuthStore = (knex: Knex, cipher: SecretCipher, numberId: string, clock: () => Date): WebAuthStore => {
  const encrypt = (value: unknown) => cipher.encrypt(serialise(value));
  /** rows of `ids` (their clear ids back), in one query */
  const readRows = async (category: string, ids: string[]) => {
    if (ids.length === 0) return [];
    const byStored = new Map(ids.map((id) => [storedId(category, id), id]));
    const rows = await knex(TABLE)
      .where({ number_id: numberId, category })
      .whereIn('key_id', [...byStored.keys()])
      .select<{ key_id: string; ciphertext: string }[]>('key_id', 'ciphertext');
    return rows.map((row) => ({ id: byStored.get(row.key_id)!, ciphertext: row.ciphertext }));
  };

  const readCreds = async (): Promise<AuthenticationCreds | null> => {
    const row = await knex(TABLE)
      .where({ number_id: numberId, category: CREDS, key_id: '' })
      .first<{ ciphertext: string } | undefined>('ciphertext');
    return row === undefined ? null : (deserialise(cipher.decrypt(row.ciphertext)) as AuthenticationCreds);
  };

  return {
    async load() {
      const stored = await readCreds();
      const creds = stored ?? initAuthCreds();
      const saveCreds = async () => {
        await knex(TABLE)
          .insert({
            number_id: numberId,
            category: CREDS,
            key_id: '',
            ciphertext: encrypt(creds),
            key_fingerprint: cipher.currentKeyFingerprint,
            updated_at: clock(),
          })
          .onConflict(['number_id', 'category', 'key_id'])
          .merge();
      };
      // Fresh creds are stored at once: the QR shown next is derived from them.
      if (stored === null) await saveCreds();
      const state: AuthenticationState = {
        creds,
        keys: {
          get: async <T extends keyof SignalDataTypeMap>(type: T, ids: string[]) => {
            const rows = await readRows(type, ids);
            const out: { [id: string]: SignalDataTypeMap[T] } = {};
            for (const row of rows) {
              let value = deserialise(cipher.decrypt(row.ciphertext));
              if (type === 'app-state-sync-key' && value !== null)
                value = proto.Message.AppStateSyncKeyData.fromObject(value as Record<string, unknown>);
              out[row.id] = value as SignalDataTypeMap[T];
            }
            return out;
          },
          set: async (data: SignalDataSet) => {
            const upserts: Record<string, unknown>[] = [];
            const deletes: Array<{ category: string; id: string }> = [];
            const now = clock();
            for (const [category, entries] of Object.entries(data)) {
              for (const [id, value] of Object.entries(entries ?? {})) {
                if (value === null || value === undefined) deletes.push({ category, id });
                else
                  upserts.push({
                    number_id: numberId,
                    category,
                    key_id: storedId(category, id),
                    ciphertext: encrypt(value),
                    key_fingerprint: cipher.currentKeyFingerprint,
                    updated_at: now,
                  });
              }
            }
            if (upserts.length === 0 && deletes.length === 0) return;
            await knex.transaction(async (trx) => {
              for (let i = 0; i < upserts.length; i += 500)
                await trx(TABLE)
                  .insert(upserts.slice(i, i + 500))
                  .onConflict(['number_id', 'category', 'key_id'])
                  .merge();
              for (const { category, id } of deletes)
                await trx(TABLE)
                  .where({ number_id: numberId, category, key_id: storedId(category, id) })
                  .delete();
            });
          },
          clear: async () => {
            await knex(TABLE).where({ number_id: numberId }).whereNot({ category: CREDS }).delete();
          },
        },
      };
      return { state, saveCreds, resumed: stored !== null };
    },
    async clear() {
      await knex(TABLE).where({ number_id: numberId }).delete();
    },
    async isPaired() {
      const creds = await readCreds();
      return creds?.me?.id !== undefined;
    },
  };
};

export type AuthRotation = { checked: number; rotated: number; current: number; failed: number };

type AuthRow = { number_id: string; category: string; key_id: string; ciphertext: string; key_fingerprint: string };

/**
 * `chatbot secrets rotate` for the Web sessions: every row not under the newest key is re-encrypted
 * (Fernet rotate keeps the token's timestamp), 200 rows per transaction, locked (FOR UPDATE) so that a
 * socket writing the same row meanwhile is not overwritten with an older value. Rows under a key that
 * is no longer in FERNET_KEYS are counted as failed and left as they are.
 */
export const rotateWebAuthState = async (knex: Knex, cipher: SecretCipher): Promise<AuthRotation> => {
  const count = async (query: Knex.QueryBuilder) =>
    Number(((await query.count<{ n: string }[]>({ n: '*' }))[0] as { n: string | number } | undefined)?.n ?? 0);
  const checked = await count(knex(TABLE));
  const unreadable = new Set<string>();
  let rotated = 0;
  for (;;) {
    const seen = await knex.transaction(async (trx) => {
      const rows = await trx(TABLE)
        .whereNot({ key_fingerprint: cipher.currentKeyFingerprint })
        .whereNotIn('key_fingerprint', [...unreadable])
        .orderBy(['number_id', 'category', 'key_id'])
        .limit(200)
        .forUpdate()
        .select<AuthRow[]>('*');
      for (const row of rows) {
        let ciphertext: string;
        try {
          ciphertext = cipher.rotate(row.ciphertext);
        } catch {
          unreadable.add(row.key_fingerprint);
          continue;
        }
        await trx(TABLE)
          .where({ number_id: row.number_id, category: row.category, key_id: row.key_id })
          .update({ ciphertext, key_fingerprint: cipher.currentKeyFingerprint });
        rotated += 1;
      }
      return rows.length;
    });
    if (seen === 0) break;
  }
  const failed = unreadable.size === 0 ? 0 : await count(knex(TABLE).whereIn('key_fingerprint', [...unreadable]));
  return { checked, rotated, current: checked - rotated - failed, failed };
};
