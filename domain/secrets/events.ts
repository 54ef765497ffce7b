import type { Event } from '#domain/shared/event.js';

/**
 * The secrets context's event catalogue. Stream `secret-<name>`. Values only ever appear here as
 * Fernet ciphertext; `keyFingerprint` names the key that encrypted it (first 8 hex characters of
 * sha256 of the key's signing half), so rotation knows what is left to do without decrypting.
 */

/** What a secret is for: the console groups and labels them, nothing decides on it. */
export type SecretKind = 'llm_api_key' | 'whatsapp_cloud_token' | 'whatsapp_web_session' | 'other';
export const SECRET_KINDS: readonly SecretKind[] = [
  'llm_api_key',
  'whatsapp_cloud_token',
  'whatsapp_web_session',
  'other',
];

export type SecretStored = Event<
  'SecretStored',
  { name: string; ciphertext: string; keyFingerprint: string; kind: SecretKind }
>;
export type SecretRotated = Event<'SecretRotated', { name: string; ciphertext: string; keyFingerprint: string }>;
export type SecretDeleted = Event<'SecretDeleted', { name: string }>;

export type SecretEvent = SecretStored | SecretRotated | SecretDeleted;
/** Every type of the catalogue: the secrets read model's subscription filter. */
export const SECRET_EVENT_TYPES = [
  'SecretStored',
  'SecretRotated',
  'SecretDeleted',
] as const satisfies readonly SecretEvent['type'][];

export const SECRET_STREAM_PREFIX = 'secret-';
export const secretStreamId = (name: string): string => `${SECRET_STREAM_PREFIX}${name}`;

export type Command<Type extends string, Data extends Record<string, unknown>> = Readonly<{
  type: Type;
  data: Readonly<Data>;
}>;

/** The value was encrypted outside (the domain has no crypto); this records the ciphertext. */
export type StoreSecret = Command<
  'StoreSecret',
  { name: string; kind: SecretKind; ciphertext: string; keyFingerprint: string }
>;
/**
 * Re-encryption under the newest key. `rotatedFrom` is the ciphertext the new one was made from: it must
 * still be the current one, otherwise a concurrent SecretStored would be overwritten by an older value.
 */
export type RotateSecret = Command<
  'RotateSecret',
  { name: string; ciphertext: string; keyFingerprint: string; rotatedFrom: string }
>;
export type DeleteSecret = Command<'DeleteSecret', { name: string }>;

export type SecretCommand = StoreSecret | RotateSecret | DeleteSecret;
