import type { Decider } from '#domain/shared/event.js';
import {
  InvalidKeyFingerprint,
  InvalidSecretKind,
  InvalidSecretName,
  NotFernetCiphertext,
  SecretChangedDuringRotation,
  SecretNotFound,
  UnknownSecretCommand,
} from './errors.js';
import {
  SECRET_KINDS,
  type RotateSecret,
  type SecretCommand,
  type SecretEvent,
  type SecretKind,
  type StoreSecret,
} from './events.js';

export type { SecretCommand, SecretEvent, SecretKind } from './events.js';

/**
 * Secret aggregate, stream `secret-<name>`. It holds ciphertext only: encryption happens outside the
 * domain (no crypto here), and the decider refuses anything that does not look like a Fernet token, so
 * a caller that forgot to encrypt cannot put a plaintext value into the event store.
 */
export type Secret =
  | Readonly<{ status: 'none' }>
  | Readonly<{ status: 'stored'; name: string; kind: SecretKind; ciphertext: string; keyFingerprint: string }>
  | Readonly<{ status: 'deleted'; name: string }>;

const SECRET_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;
/** The secret name rule (SECRET_NAME_RULE says it in words); every layer checks names with this. */
export const isValidSecretName = (name: unknown): name is string => typeof name === 'string' && SECRET_NAME.test(name);
/** Throws InvalidSecretName (a 400) unless `name` is a valid secret name. */
export const checkSecretName: (name: unknown) => asserts name is string = (name) => {
  if (!isValidSecretName(name)) throw new InvalidSecretName(String(name));
};

const KEY_FINGERPRINT = /^[0-9a-f]{8}$/;
// Version byte 0x80 and a timestamp below 2^40 encode as "gAAAAA"; the shortest token (one block of
// ciphertext) is 73 bytes, i.e. 100 characters of padded base64.
const FERNET_TOKEN = /^gAAAAA[A-Za-z0-9_-]+={0,2}$/;
export const looksLikeFernetToken = (value: unknown): value is string =>
  typeof value === 'string' && value.length >= 100 && value.length % 4 === 0 && FERNET_TOKEN.test(value);

export const initialState = (): Secret => ({ status: 'none' });

const checkCiphertext = (name: string, ciphertext: string, keyFingerprint: string): void => {
  if (!looksLikeFernetToken(ciphertext)) throw new NotFernetCiphertext(name);
  if (typeof keyFingerprint !== 'string' || !KEY_FINGERPRINT.test(keyFingerprint))
    throw new InvalidKeyFingerprint(name);
};

const store = ({ data: c }: StoreSecret): SecretEvent[] => {
  checkSecretName(c.name);
  if (!SECRET_KINDS.includes(c.kind)) throw new InvalidSecretKind(String(c.kind), SECRET_KINDS);
  checkCiphertext(c.name, c.ciphertext, c.keyFingerprint);
  // Storing is always an event, even for an equal value: Fernet ciphertexts differ on every encryption,
  // so equality is not visible here, and "who set it when" belongs in the history anyway.
  return [
    {
      type: 'SecretStored',
      data: { name: c.name, ciphertext: c.ciphertext, keyFingerprint: c.keyFingerprint, kind: c.kind },
    },
  ];
};

const rotate = ({ data: c }: RotateSecret, state: Secret): SecretEvent[] => {
  checkSecretName(c.name);
  // Deleted meanwhile, or already rotated by a concurrent run: nothing left to do (rotation is idempotent).
  if (state.status !== 'stored' || state.keyFingerprint === c.keyFingerprint) return [];
  if (c.rotatedFrom !== state.ciphertext) throw new SecretChangedDuringRotation(c.name);
  checkCiphertext(c.name, c.ciphertext, c.keyFingerprint);
  return [
    { type: 'SecretRotated', data: { name: c.name, ciphertext: c.ciphertext, keyFingerprint: c.keyFingerprint } },
  ];
};

export const decide = (command: SecretCommand, state: Secret): SecretEvent[] => {
  switch (command.type) {
    case 'StoreSecret':
      return store(command);
    case 'RotateSecret':
      return rotate(command, state);
    case 'DeleteSecret':
      checkSecretName(command.data.name);
      if (state.status !== 'stored') throw new SecretNotFound(command.data.name);
      return [{ type: 'SecretDeleted', data: { name: state.name } }];
    default: {
      const _exhaustive: never = command;
      throw new UnknownSecretCommand((_exhaustive as { type?: unknown }).type);
    }
  }
};

export const evolve = (state: Secret, event: SecretEvent): Secret => {
  switch (event.type) {
    case 'SecretStored': {
      const { name, kind, ciphertext, keyFingerprint } = event.data;
      return { status: 'stored', name, kind, ciphertext, keyFingerprint };
    }
    case 'SecretRotated':
      return state.status === 'stored'
        ? { ...state, ciphertext: event.data.ciphertext, keyFingerprint: event.data.keyFingerprint }
        : state;
    case 'SecretDeleted':
      return state.status === 'stored' ? { status: 'deleted', name: state.name } : state;
    default: {
      const _exhaustive: never = event;
      return state;
    }
  }
};

export const secretDecider: Decider<Secret, SecretCommand, SecretEvent> = { decide, evolve, initialState };
