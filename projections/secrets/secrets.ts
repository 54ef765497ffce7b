import type { Knex } from 'knex';
import type { SecretMetadata } from '#application/secrets/ports.js';
import { hasTypeIn } from '#application/shared/eventTypes.js';
import { SECRET_EVENT_TYPES, type SecretKind } from '#domain/secrets/events.js';
import type { Projection } from '#projections/runner.js';

const TABLE = 'secrets';
const isSecretEvent = hasTypeIn(SECRET_EVENT_TYPES);

/**
 * One row per stored secret: name, kind, the Fernet ciphertext and the fingerprint of its key. Never a
 * plaintext value: there is none in the events. `version` is the stream revision of the last event
 * folded, so re-applying an event that is already in (a replayed batch) changes nothing.
 */
export const secretsProjection: Projection = {
  name: 'secrets',
  version: 1,
  tables: [TABLE],
  handles: SECRET_EVENT_TYPES,
  async apply(trx, event) {
    if (!isSecretEvent(event)) return;
    const version = event.revision;
    const updatedAt = event.metadata.occurredAt;
    switch (event.type) {
      case 'SecretStored': {
        const { data } = event;
        await trx.raw(
          `insert into ${TABLE} (name, kind, ciphertext, key_fingerprint, updated_at, version) values (?, ?, ?, ?, ?, ?)
           on conflict (name) do update set kind = excluded.kind, ciphertext = excluded.ciphertext, key_fingerprint = excluded.key_fingerprint,
             updated_at = excluded.updated_at, version = excluded.version
           where ${TABLE}.version < excluded.version`,
          [data.name, data.kind, data.ciphertext, data.keyFingerprint, updatedAt, version],
        );
        return;
      }
      case 'SecretRotated':
        await trx(TABLE).where({ name: event.data.name }).andWhere('version', '<', version).update({
          ciphertext: event.data.ciphertext,
          key_fingerprint: event.data.keyFingerprint,
          updated_at: updatedAt,
          version,
        });
        return;
      case 'SecretDeleted':
        await trx(TABLE).where({ name: event.data.name }).andWhere('version', '<', version).delete();
        return;
      default: {
        const _exhaustive: never = event;
        return;
      }
    }
  },
};

export type SecretRow = {
  name: string;
  kind: SecretKind;
  ciphertext: string;
  key_fingerprint: string;
  updated_at: string;
  version: number;
};

/** The table as the driver returns it: timestamps as Date (pg) or text (PGlite), bigint-safe version. */
type StoredRow = Omit<SecretRow, 'updated_at' | 'version'> & { updated_at: Date | string; version: number | string };

/** Every row, ciphertext included: for tests and maintenance tooling, never for an API response. */
export const secretRows = async (knex: Knex): Promise<SecretRow[]> =>
  (
    await knex<StoredRow>(TABLE)
      .select('name', 'kind', 'ciphertext', 'key_fingerprint', 'updated_at', 'version')
      .orderBy('name')
  ).map((row) => ({ ...row, updated_at: new Date(row.updated_at).toISOString(), version: Number(row.version) }));

/** What the console and `chatbot secrets list` show: the ciphertext is not even selected. */
export const listSecretMetadata = async (knex: Knex): Promise<SecretMetadata[]> =>
  (await knex<StoredRow>(TABLE).select('name', 'kind', 'key_fingerprint', 'updated_at').orderBy('name')).map((row) => ({
    name: row.name,
    kind: row.kind,
    keyFingerprint: row.key_fingerprint,
    updatedAt: new Date(row.updated_at).toISOString(),
  }));
