import type { SecretKind } from '#domain/secrets/events.js';

/**
 * Fernet with the keys of FERNET_KEYS, newest first (infrastructure/secrets/secretCipher.ts). A key is
 * named by its fingerprint only: the first 8 hex characters of sha256 of its signing half.
 */
export type SecretCipher = {
  /** fingerprint of the newest key: what encrypt and rotate produce */
  readonly currentKeyFingerprint: string;
  /** every configured key, newest first */
  readonly keyFingerprints: readonly string[];
  encrypt(plaintext: string): string;
  /** with any configured key; throws when none accepts the token */
  decrypt(ciphertext: string): string;
  /** re-encrypts under the newest key, keeping the token's timestamp */
  rotate(ciphertext: string): string;
};

/** One secret as the console sees it: never the value, never the ciphertext. */
export type SecretMetadata = {
  name: string;
  kind: SecretKind;
  keyFingerprint: string;
  /** ISO-8601 */
  updatedAt: string;
};
