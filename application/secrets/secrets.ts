import { handleCommand, loadAggregate, type CommandContext } from '#application/shared/commandHandler.js';
import type { EventStore } from '#application/shared/eventStore.js';
import { ValidationError } from '#application/shared/errors.js';
import type { Runtime } from '#application/shared/runtime.js';
import { secretStreamId, type SecretKind, type SecretStored } from '#domain/secrets/events.js';
import { checkSecretName, isValidSecretName, secretDecider } from '#domain/secrets/secret.js';
import { SecretsNotConfiguredError, SecretTooLargeError, SecretUndecryptableError } from './errors.js';
import type { SecretCipher } from './ports.js';

/** 64 KiB of UTF-8: room for a WhatsApp Web session's credentials, not for a file. */
export const MAX_SECRET_BYTES = 64 * 1024;

/** A winston logger fits. Only names, kinds and key fingerprints are ever passed to it. */
export type SecretsLog = {
  info(message: string, fields?: Record<string, unknown>): unknown;
  warn(message: string, fields?: Record<string, unknown>): unknown;
};

export type SecretsDeps = {
  store: EventStore;
  /** null when FERNET_KEYS is not set: every operation on values is then a 503 */
  cipher: SecretCipher | null;
  log: SecretsLog;
  runtime: Runtime;
};

const cipherOf = (deps: Pick<SecretsDeps, 'cipher'>): SecretCipher => {
  if (deps.cipher === null) throw new SecretsNotConfiguredError();
  return deps.cipher;
};

/** Encrypts `value` under the newest key and records only the ciphertext (SecretStored). */
export const storeSecret = async (
  deps: SecretsDeps,
  input: { name: string; kind: SecretKind; value: string },
  context: CommandContext,
): Promise<{ name: string; kind: SecretKind; keyFingerprint: string; version: number }> => {
  // Name and kind are the decider's rules (InvalidSecretName, InvalidSecretKind: 400s); the name is
  // checked first only so that a bad one costs no encryption.
  const { name, kind } = input;
  checkSecretName(name);
  if (typeof input.value !== 'string' || input.value.length === 0)
    throw new ValidationError('The secret value must be a non-empty string.', undefined, 'invalid_secret_value');
  if (Buffer.byteLength(input.value, 'utf8') > MAX_SECRET_BYTES) throw new SecretTooLargeError(MAX_SECRET_BYTES);
  const cipher = cipherOf(deps);
  const ciphertext = cipher.encrypt(input.value);
  const keyFingerprint = cipher.currentKeyFingerprint;
  const result = await handleCommand(
    deps.store,
    secretStreamId(name),
    secretDecider,
    () => ({ type: 'StoreSecret' as const, data: { name, kind, ciphertext, keyFingerprint } }),
    context,
    { runtime: deps.runtime },
  );
  deps.log.info('secret stored', { name, kind, keyFingerprint, by: context.actor });
  return { name, kind, keyFingerprint, version: result.nextExpectedRevision };
};

/**
 * The plaintext, for other services of this process (LLM provider keys, the Cloud API token, the
 * WhatsApp Web session); null when there is no such secret. Read from the secret's stream, not the read
 * model, so a value stored a moment ago is already there. Never log what this returns.
 */
export const readSecret = async (deps: Pick<SecretsDeps, 'store' | 'cipher'>, name: string): Promise<string | null> => {
  checkSecretName(name);
  const { state } = await loadAggregate(deps.store, secretStreamId(name), secretDecider);
  if (state.status !== 'stored') return null;
  const cipher = cipherOf(deps);
  try {
    return cipher.decrypt(state.ciphertext);
  } catch {
    // The Fernet error says nothing useful (on purpose); the fingerprint says which key is missing.
    throw new SecretUndecryptableError(name, state.keyFingerprint);
  }
};

/** SecretDeleted; 404 when there is no such secret. */
export const deleteSecret = async (deps: SecretsDeps, name: string, context: CommandContext): Promise<void> => {
  await handleCommand(
    deps.store,
    secretStreamId(name),
    secretDecider,
    () => ({ type: 'DeleteSecret' as const, data: { name } }),
    context,
    { runtime: deps.runtime },
  );
  deps.log.info('secret deleted', { name, by: context.actor });
};

export type RotationResult = {
  /** the newest key's fingerprint: every stored secret is under it when `failed` is empty */
  keyFingerprint: string;
  /** secrets (names ever stored) looked at */
  checked: number;
  /** re-encrypted by this run */
  rotated: number;
  /** already under the newest key (or rotated by a concurrent run) */
  current: number;
  /** deleted: nothing to re-encrypt */
  absent: number;
  /** no configured key opens them; they stay as they are */
  failed: Array<{ name: string; keyFingerprint: string; code: string }>;
};

export type RotateOptions = {
  /** after each secret: (done, total) */
  onProgress?: (done: number, total: number) => void;
  /** events read per page while listing secret names (default 500) */
  pageSize?: number;
};

/**
 * Every secret name ever stored, from the event store itself: the read model might lag behind or be
 * rebuilding, and a secret it missed would stay under an old key that is about to be retired.
 */
export const storedSecretNames = async (store: EventStore, pageSize = 500): Promise<string[]> => {
  const names = new Set<string>();
  for (let after = 0; ;) {
    const page = await store.readAll<SecretStored>({
      after,
      maxCount: pageSize,
      filter: { eventTypes: ['SecretStored'] satisfies SecretStored['type'][] },
    });
    for (const event of page) if (isValidSecretName(event.data.name)) names.add(event.data.name);
    if (page.length < pageSize) break;
    after = page[page.length - 1]!.position;
  }
  return [...names].sort();
};

const rotateOne = async (
  deps: SecretsDeps,
  cipher: SecretCipher,
  name: string,
  context: CommandContext,
): Promise<'rotated' | 'current' | 'absent'> => {
  const newest = cipher.currentKeyFingerprint;
  const { events, state } = await handleCommand(
    deps.store,
    secretStreamId(name),
    secretDecider,
    (current) => {
      if (current.status === 'stored' && current.keyFingerprint !== newest) {
        let ciphertext: string;
        try {
          ciphertext = cipher.rotate(current.ciphertext);
        } catch {
          throw new SecretUndecryptableError(name, current.keyFingerprint);
        }
        return {
          type: 'RotateSecret' as const,
          data: { name, ciphertext, keyFingerprint: newest, rotatedFrom: current.ciphertext },
        };
      }
      // Nothing to do: the decider sees a secret that is gone or already under `newest` and decides
      // nothing, so these placeholders are neither validated nor stored.
      return { type: 'RotateSecret' as const, data: { name, ciphertext: '', keyFingerprint: newest, rotatedFrom: '' } };
    },
    context,
    { runtime: deps.runtime },
  );
  if (events.length > 0) return 'rotated';
  return state.status === 'stored' ? 'current' : 'absent';
};

/**
 * Re-encrypts every stored secret that is not under the newest key (MultiFernet.rotate: any key
 * decrypts, the newest encrypts, the timestamp is kept), one SecretRotated each, through the command
 * handler: each decision is made on the stream as it is at append time, so two concurrent runs rotate
 * each secret once, and a SecretStored that lands in between is never overwritten with an older value.
 * Idempotent: a second run re-encrypts nothing.
 */
export const rotateAllSecrets = async (
  deps: SecretsDeps,
  context: CommandContext,
  options: RotateOptions = {},
): Promise<RotationResult> => {
  const cipher = cipherOf(deps);
  const newest = cipher.currentKeyFingerprint;
  const names = await storedSecretNames(deps.store, options.pageSize);
  const result: RotationResult = {
    keyFingerprint: newest,
    checked: names.length,
    rotated: 0,
    current: 0,
    absent: 0,
    failed: [],
  };
  options.onProgress?.(0, names.length);
  for (const [i, name] of names.entries()) {
    // A secret no key opens is reported and skipped (the others still move); anything else, such as a
    // lost database, stops the run: it can simply be run again.
    const outcome = await rotateOne(deps, cipher, name, context).catch((error: unknown) => {
      if (!(error instanceof SecretUndecryptableError)) throw error;
      return { failed: { name, keyFingerprint: error.keyFingerprint, code: error.code } };
    });
    if (typeof outcome === 'object') {
      result.failed.push(outcome.failed);
      deps.log.warn('secret not rotated', {
        name,
        keyFingerprint: outcome.failed.keyFingerprint,
        code: outcome.failed.code,
      });
    } else {
      result[outcome] += 1;
    }
    options.onProgress?.(i + 1, names.length);
  }
  deps.log.info('secrets rotated', {
    keyFingerprint: newest,
    checked: result.checked,
    rotated: result.rotated,
    current: result.current,
    absent: result.absent,
    failed: result.failed.length,
  });
  return result;
};
