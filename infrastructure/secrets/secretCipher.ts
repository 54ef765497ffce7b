import { createHash } from 'node:crypto';
import type { SecretCipher } from '#application/secrets/ports.js';
import { Fernet, InvalidFernetKeyError, MultiFernet } from './fernet.js';

/**
 * Names a key without revealing it: the first 8 hex characters of sha256 of its signing half (the HMAC
 * key). 32 bits of a hash of a 128-bit key tell an attacker nothing useful and an operator which key
 * of FERNET_KEYS a secret is under.
 */
export const keyFingerprint = (key: string): string => {
  new Fernet(key); // validates shape and length with the same rules (and error) as encryption
  const bytes = Buffer.from(key.trim(), 'base64url');
  try {
    return createHash('sha256').update(bytes.subarray(0, 16)).digest('hex').slice(0, 8);
  } finally {
    bytes.fill(0);
  }
};

/** FERNET_KEYS (already split, newest first) as the secrets context's cipher. */
export const createSecretCipher = (keys: readonly string[]): SecretCipher => {
  const trimmed = keys.map((key) => key.trim());
  if (trimmed.length === 0)
    throw new InvalidFernetKeyError('FERNET_KEYS is empty: set at least one Fernet key (newest first)');
  const fingerprints = trimmed.map((key, i) => {
    try {
      return keyFingerprint(key);
    } catch (error) {
      if (!(error instanceof InvalidFernetKeyError)) throw error;
      throw new InvalidFernetKeyError(`FERNET_KEYS key #${i + 1} is not 32 url-safe base64-encoded bytes`, i + 1);
    }
  });
  const multi = new MultiFernet(trimmed.map((key) => new Fernet(key)));
  return {
    currentKeyFingerprint: fingerprints[0]!,
    keyFingerprints: fingerprints,
    encrypt: (plaintext) => multi.encrypt(plaintext),
    decrypt: (ciphertext) => multi.decryptToString(ciphertext),
    rotate: (ciphertext) => multi.rotate(ciphertext),
  };
};

/** null when FERNET_KEYS is unset (allowed outside production): the secrets API then answers 503. */
export const optionalSecretCipher = (keys: readonly string[]): SecretCipher | null =>
  keys.length === 0 ? null : createSecretCipher(keys);
