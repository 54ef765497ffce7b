import { AppError, UnavailableError } from '#application/shared/errors.js';

/** 413: the value is larger than MAX_SECRET_BYTES. The message never quotes the value. */
export class SecretTooLargeError extends AppError {
  constructor(maxBytes: number) {
    super(413, 'secret_too_large', `A secret value is at most ${maxBytes} bytes (UTF-8).`, { maxBytes });
  }
}

/** 503: FERNET_KEYS is not set, so nothing can be encrypted or decrypted. */
export class SecretsNotConfiguredError extends UnavailableError {
  constructor() {
    super(
      'Secrets are unavailable: set FERNET_KEYS (one Fernet key, or several newest first) and restart.',
      'secrets_not_configured',
    );
  }
}

/**
 * 503: no key of FERNET_KEYS opens the stored ciphertext (a key was retired before every secret was
 * rotated off it). Names the key the secret is under, so the operator knows which one to put back.
 */
export class SecretUndecryptableError extends AppError {
  constructor(
    readonly secretName: string,
    readonly keyFingerprint: string,
  ) {
    super(
      503,
      'secret_undecryptable',
      `Secret ${secretName} is encrypted under key ${keyFingerprint}, which is not in FERNET_KEYS.`,
      { name: secretName, keyFingerprint },
    );
  }
}
