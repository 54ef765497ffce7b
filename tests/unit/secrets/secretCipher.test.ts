import { createHash } from 'node:crypto';
import { expect } from 'chai';
import { Fernet, InvalidFernetKeyError } from '#infrastructure/secrets/fernet.js';
import { createSecretCipher, keyFingerprint } from '#infrastructure/secrets/secretCipher.js';

const keyA = Fernet.generateKey();
const keyB = Fernet.generateKey();

describe('secret cipher (FERNET_KEYS for the secrets context)', () => {
  it('names a key by the first 8 hex characters of sha256 of its signing half', () => {
    const signing = Buffer.from(keyA, 'base64url').subarray(0, 16);
    expect(keyFingerprint(keyA)).to.equal(createHash('sha256').update(signing).digest('hex').slice(0, 8));
    expect(keyFingerprint(keyA))
      .to.match(/^[0-9a-f]{8}$/)
      .and.not.equal(keyFingerprint(keyB));
  });

  it('encrypts under the newest key and decrypts with any', () => {
    const old = createSecretCipher([keyA]);
    const both = createSecretCipher([keyB, keyA]);
    expect(both.currentKeyFingerprint).to.equal(keyFingerprint(keyB));
    expect(both.keyFingerprints).to.deep.equal([keyFingerprint(keyB), keyFingerprint(keyA)]);
    const underA = old.encrypt('value-1');
    expect(both.decrypt(underA)).to.equal('value-1');
    expect(new Fernet(keyB).decryptToString(both.encrypt('value-2'))).to.equal('value-2');
  });

  it('rotates a token to the newest key, keeping its timestamp', () => {
    const stamped = new Fernet(keyA).encrypt('value-3', { now: new Date('2024-01-02T03:04:05Z') });
    const rotated = createSecretCipher([keyB, keyA]).rotate(stamped);
    const onlyB = new Fernet(keyB);
    expect(onlyB.decryptToString(rotated)).to.equal('value-3');
    expect(onlyB.extractTimestamp(rotated).toISOString()).to.equal('2024-01-02T03:04:05.000Z');
  });

  it('refuses a bad key by position, never echoing it', () => {
    let caught: unknown;
    try {
      createSecretCipher([keyA, 'not-a-key-but-maybe-a-password']);
    } catch (error) {
      caught = error;
    }
    expect(caught).to.be.instanceOf(InvalidFernetKeyError);
    expect((caught as InvalidFernetKeyError).keyIndex).to.equal(2);
    expect((caught as Error).message).not.to.contain('not-a-key');
    expect(() => createSecretCipher([])).to.throw(InvalidFernetKeyError);
  });
});
