import { expect } from 'chai';
import {
  InvalidKeyFingerprint,
  InvalidSecretKind,
  InvalidSecretName,
  NotFernetCiphertext,
  SecretChangedDuringRotation,
  SecretNotFound,
} from '#domain/secrets/errors.js';
import type { SecretEvent, SecretKind } from '#domain/secrets/events.js';
import { isValidSecretName, looksLikeFernetToken, secretDecider } from '#domain/secrets/secret.js';
import { Fernet } from '#infrastructure/secrets/fernet.js';
import { deciderSpec } from '../support/decider.js';

const spec = deciderSpec(secretDecider);
const keyA = new Fernet(Fernet.generateKey());
const keyB = new Fernet(Fernet.generateKey());
const now = new Date('2025-03-01T12:00:00Z');
const underA = keyA.encrypt('sk-test-value', { now });
const underA2 = keyA.encrypt('sk-other-value', { now });
const underB = keyB.encrypt('sk-test-value', { now });

const stored = (ciphertext = underA, keyFingerprint = 'aaaaaaaa', kind: SecretKind = 'llm_api_key'): SecretEvent => ({
  type: 'SecretStored',
  data: { name: 'openai', ciphertext, keyFingerprint, kind },
});
const store = (ciphertext: string, keyFingerprint = 'aaaaaaaa', name = 'openai', kind: SecretKind = 'llm_api_key') => ({
  type: 'StoreSecret' as const,
  data: { name, kind, ciphertext, keyFingerprint },
});
const rotate = (rotatedFrom: string, ciphertext = underB, keyFingerprint = 'bbbbbbbb') => ({
  type: 'RotateSecret' as const,
  data: { name: 'openai', ciphertext, keyFingerprint, rotatedFrom },
});
const rotated: SecretEvent = {
  type: 'SecretRotated',
  data: { name: 'openai', ciphertext: underB, keyFingerprint: 'bbbbbbbb' },
};
const deleted: SecretEvent = { type: 'SecretDeleted', data: { name: 'openai' } };

describe('secret aggregate', () => {
  describe('storing', () => {
    it('records the Fernet ciphertext, its key fingerprint and kind', () => {
      spec.given([]).when(store(underA)).then([stored()]);
    });

    it('records a new value over an existing one', () => {
      spec
        .given([stored()])
        .when(store(underA2))
        .then([stored(underA2)]);
    });

    it('stores again after a delete', () => {
      spec
        .given([stored(), deleted])
        .when(store(underA2))
        .thenState((state) => {
          expect(state).to.deep.include({ status: 'stored', ciphertext: underA2 });
        });
    });

    it('refuses a plaintext value: nothing but a Fernet token gets into an event', () => {
      const error = spec
        .given([])
        .when(store('sk-live-1234567890abcdef'))
        .thenThrows(NotFernetCiphertext, { name: 'openai' });
      expect(JSON.stringify({ message: error.message, details: error.details })).not.to.contain('sk-live');
    });

    it('refuses something that starts like a token but is not one (too short, bad characters)', () => {
      spec.given([]).when(store('gAAAAAshort')).thenThrows(NotFernetCiphertext);
      spec
        .given([])
        .when(store(`${underA.slice(0, 50)}+/${underA.slice(52)}`))
        .thenThrows(NotFernetCiphertext);
    });

    it('refuses a key fingerprint that is not 8 lowercase hex characters', () => {
      spec.given([]).when(store(underA, 'ABCDEF12')).thenThrows(InvalidKeyFingerprint);
      spec.given([]).when(store(underA, 'abc')).thenThrows(InvalidKeyFingerprint);
    });

    it('refuses names outside [a-z0-9][a-z0-9._-]{0,63}', () => {
      for (const name of ['', '-lead', '.hidden', 'Upper', 'has space', 'slash/y', 'a'.repeat(65)]) {
        spec
          .given([])
          .when(store(underA, 'aaaaaaaa', name))
          .thenThrows(InvalidSecretName);
      }
      for (const name of ['a', '0', 'openai.key_2-prod', 'a'.repeat(64)])
        expect(isValidSecretName(name), name).to.equal(true);
    });

    it('refuses an unknown kind', () => {
      spec
        .given([])
        .when(store(underA, 'aaaaaaaa', 'openai', 'password' as SecretKind))
        .thenThrows(InvalidSecretKind);
    });
  });

  describe('rotating', () => {
    it('records the re-encrypted value under the new key', () => {
      spec.given([stored()]).when(rotate(underA)).then([rotated]);
    });

    it('does nothing when the secret is already under that key (a second or concurrent run)', () => {
      spec.given([stored(), rotated]).when(rotate(underB)).thenNothing();
      spec
        .given([stored(underB, 'bbbbbbbb')])
        .when(rotate(underB))
        .thenNothing();
    });

    it('does nothing for a secret that is gone or never was', () => {
      spec.given([stored(), deleted]).when(rotate(underA)).thenNothing();
      spec.given([]).when(rotate(underA)).thenNothing();
    });

    it('refuses to overwrite a value that changed since it was read', () => {
      spec
        .given([stored(), stored(underA2)])
        .when(rotate(underA))
        .thenThrows(SecretChangedDuringRotation, { name: 'openai' });
    });

    it('refuses a rotated value that is not a Fernet token', () => {
      spec.given([stored()]).when(rotate(underA, 'plaintext')).thenThrows(NotFernetCiphertext);
    });

    it('keeps the kind and takes the new ciphertext and fingerprint', () => {
      spec
        .given([stored(underA, 'aaaaaaaa', 'whatsapp_cloud_token')])
        .when(rotate(underA))
        .thenState((state) => {
          expect(state).to.deep.equal({
            status: 'stored',
            name: 'openai',
            kind: 'whatsapp_cloud_token',
            ciphertext: underB,
            keyFingerprint: 'bbbbbbbb',
          });
        });
    });
  });

  describe('deleting', () => {
    it('records the deletion of a stored secret', () => {
      spec
        .given([stored()])
        .when({ type: 'DeleteSecret', data: { name: 'openai' } })
        .then([deleted]);
    });

    it('refuses to delete what is not there', () => {
      spec
        .given([])
        .when({ type: 'DeleteSecret', data: { name: 'openai' } })
        .thenThrows(SecretNotFound, { name: 'openai' });
      spec
        .given([stored(), deleted])
        .when({ type: 'DeleteSecret', data: { name: 'openai' } })
        .thenThrows(SecretNotFound);
    });
  });

  it('recognises real Fernet tokens and nothing shorter', () => {
    expect(looksLikeFernetToken(underA)).to.equal(true);
    const long = keyB.encrypt('x'.repeat(1000));
    expect(looksLikeFernetToken(long)).to.equal(true);
    expect(looksLikeFernetToken(long.slice(0, -4))).to.equal(true); // shape only: the HMAC is checked on decrypt
    expect(looksLikeFernetToken(underA.slice(0, 96))).to.equal(false);
    expect(looksLikeFernetToken(undefined)).to.equal(false);
  });
});
