import { DomainError } from '#domain/shared/event.js';

/** Typed rule violations of the secrets context; `kind` picks the HTTP status (interfaces/http/shared/errors.ts). */

/** The one statement of the secret name rule (checked by `isValidSecretName` in secret.ts). */
export const SECRET_NAME_RULE =
  'A secret name is 1-64 characters of a-z, 0-9, dot, dash or underscore, starting with a letter or digit.';

/** 400 */
export class InvalidSecretName extends DomainError {
  readonly kind = 'validation';
  constructor(name: string) {
    // The name is not secret, but it is user input: shown only when short enough to be a name.
    super('invalid_secret_name', SECRET_NAME_RULE, name.length <= 64 ? { name } : {});
  }
}

/** 400 */
export class InvalidSecretKind extends DomainError {
  readonly kind = 'validation';
  constructor(kind: string, kinds: readonly string[]) {
    super('invalid_secret_kind', `The secret kind must be one of ${kinds.join(', ')}.`, { kind: kind.slice(0, 64) });
  }
}

/**
 * 500: a programming error, never user input. Deliberately carries no part of the refused value: it
 * may be the plaintext someone forgot to encrypt.
 */
export class NotFernetCiphertext extends DomainError {
  readonly kind = 'internal';
  constructor(name: string) {
    super('not_fernet_ciphertext', `secret ${name}: refusing to store a value that is not a Fernet token`, { name });
  }
}

/** 500: as above, for the key fingerprint. */
export class InvalidKeyFingerprint extends DomainError {
  readonly kind = 'internal';
  constructor(name: string) {
    super('invalid_key_fingerprint', `secret ${name}: the key fingerprint must be 8 lowercase hex characters`, {
      name,
    });
  }
}

/** 404 */
export class SecretNotFound extends DomainError {
  readonly kind = 'not_found';
  constructor(name: string) {
    super('secret_not_found', `There is no secret named ${name}.`, { name });
  }
}

/** 409: the secret changed between reading it and rotating it; the command handler re-reads and retries. */
export class SecretChangedDuringRotation extends DomainError {
  readonly kind = 'conflict';
  constructor(name: string) {
    super('secret_changed', `secret ${name} changed while it was being rotated`, { name });
  }
}

/** 400: TypeScript prevents it; this guards untyped callers. */
export class UnknownSecretCommand extends DomainError {
  readonly kind = 'validation';
  constructor(type: unknown) {
    super('unknown_command', `unknown secrets command ${String(type)}`, { type: String(type) });
  }
}
