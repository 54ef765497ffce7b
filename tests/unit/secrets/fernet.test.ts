import { readFileSync } from 'node:fs';
import { inspect } from 'node:util';
import { expect } from 'chai';
import {
  Fernet,
  InvalidFernetKeyError,
  InvalidFernetTokenError,
  MultiFernet,
  multiFernetFromEnv,
} from '#infrastructure/secrets/fernet.js';

// The published spec vectors, copied unchanged into the repo (tests/fixtures/fernet/).
type GenerateVector = { token: string; now: string; iv: number[]; src: string; secret: string };
type VerifyVector = { token: string; now: string; ttl_sec: number; src: string; secret: string };
type InvalidVector = VerifyVector & { desc: string };
const fixture = <T>(name: string): T[] => {
  const vectors = JSON.parse(readFileSync(new URL(`../../fixtures/fernet/${name}`, import.meta.url), 'utf8')) as T[];
  expect(vectors, name).to.be.an('array').that.is.not.empty;
  return vectors;
};
const generateVectors = fixture<GenerateVector>('generate.json');
const verifyVectors = fixture<VerifyVector>('verify.json');
const invalidVectors = fixture<InvalidVector>('invalid.json');

const SPEC_KEY = 'cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=';
const SPEC_TOKEN = generateVectors[0]!.token; // made at 1985-10-26T08:20:00Z
const SPEC_TIME = new Date('1985-10-26T08:20:00Z');
const at = (date: Date, seconds: number) => new Date(date.getTime() + seconds * 1000);

const expectInvalidToken = (fn: () => unknown) => {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  expect(caught).to.be.instanceOf(InvalidFernetTokenError);
  const error = caught as InvalidFernetTokenError;
  expect(error.code).to.equal('invalid_token');
  expect(error.message).to.equal('Invalid Fernet token'); // identical whatever the cause
};

const keyError = (fn: () => unknown): InvalidFernetKeyError => {
  try {
    fn();
  } catch (error) {
    expect(error).to.be.instanceOf(InvalidFernetKeyError);
    expect((error as InvalidFernetKeyError).code).to.equal('invalid_fernet_key');
    return error as InvalidFernetKeyError;
  }
  expect.fail('expected an InvalidFernetKeyError');
};

// Re-encode the token's bytes after changing them, so the damage is inside a well-formed token.
const tamper = (token: string, change: (bytes: Buffer) => Buffer): string => {
  const s = change(Buffer.from(token, 'base64url')).toString('base64url');
  return s + '='.repeat((4 - (s.length % 4)) % 4);
};

describe('Fernet: spec vectors', () => {
  for (const v of generateVectors) {
    it(`encrypting "${v.src}" with the vector's iv and time gives the published token byte for byte`, () => {
      const token = new Fernet(v.secret).encrypt(v.src, { now: new Date(v.now), iv: Buffer.from(v.iv) });
      expect(token).to.equal(v.token);
    });
  }

  for (const v of verifyVectors) {
    it(`decrypts the published token to "${v.src}" within its ${v.ttl_sec}s TTL`, () => {
      const plaintext = new Fernet(v.secret).decrypt(v.token, { ttlSeconds: v.ttl_sec, now: new Date(v.now) });
      expect(plaintext.toString('utf8')).to.equal(v.src);
    });
  }

  for (const v of invalidVectors) {
    it(`rejects the invalid vector "${v.desc}" with InvalidFernetTokenError`, () => {
      expectInvalidToken(() => new Fernet(v.secret).decrypt(v.token, { ttlSeconds: v.ttl_sec, now: new Date(v.now) }));
    });
  }

  // Both vectors hold a valid, empty plaintext: only their timestamps make them invalid.
  it('the "expired TTL" vector is refused only because of its age: it decrypts earlier, or without a TTL', () => {
    const v = invalidVectors.find((x) => x.desc === 'expired TTL')!;
    const fernet = new Fernet(v.secret);
    expect(fernet.decrypt(v.token, { ttlSeconds: v.ttl_sec, now: fernet.extractTimestamp(v.token) })).to.have.length(0);
    expect(fernet.decrypt(v.token)).to.have.length(0);
  });

  it('the far-future vector is refused only with a TTL, exactly like Python (clock skew is checked with the TTL)', () => {
    const v = invalidVectors.find((x) => x.desc.startsWith('far-future'))!;
    const fernet = new Fernet(v.secret);
    expect(fernet.extractTimestamp(v.token).getTime() - new Date(v.now).getTime()).to.be.greaterThan(60_000);
    expect(fernet.decrypt(v.token)).to.have.length(0);
    expect(fernet.decrypt(v.token, { ttlSeconds: v.ttl_sec, now: fernet.extractTimestamp(v.token) })).to.have.length(0);
  });
});

describe('Fernet: time limits', () => {
  const fernet = new Fernet(SPEC_KEY);

  it('a token is accepted up to exactly ttlSeconds after it was made, and refused one second later', () => {
    expect(fernet.decryptToString(SPEC_TOKEN, { ttlSeconds: 60, now: at(SPEC_TIME, 60) })).to.equal('hello');
    expectInvalidToken(() => fernet.decrypt(SPEC_TOKEN, { ttlSeconds: 60, now: at(SPEC_TIME, 61) }));
  });

  it("a token stamped up to 60 s in the verifier's future is accepted, 61 s is refused", () => {
    expect(fernet.decryptToString(SPEC_TOKEN, { ttlSeconds: 10, now: at(SPEC_TIME, -60) })).to.equal('hello');
    expectInvalidToken(() => fernet.decrypt(SPEC_TOKEN, { ttlSeconds: 10, now: at(SPEC_TIME, -61) }));
  });

  it('without a TTL an old token still decrypts (secrets at rest do not expire)', () => {
    expect(fernet.decryptToString(SPEC_TOKEN)).to.equal('hello');
  });

  it('extractTimestamp returns the creation time in whole seconds', () => {
    const token = fernet.encrypt('x', { now: new Date('2024-05-01T12:34:56.789Z') });
    expect(fernet.extractTimestamp(token).toISOString()).to.equal('2024-05-01T12:34:56.000Z');
    expect(fernet.extractTimestamp(SPEC_TOKEN).getTime()).to.equal(SPEC_TIME.getTime());
  });

  it('extractTimestamp refuses a token whose HMAC does not verify', () => {
    expectInvalidToken(() => new Fernet(Fernet.generateKey()).extractTimestamp(SPEC_TOKEN));
  });

  it('refuses a negative TTL, an invalid date and a pre-1970 date as programming errors', () => {
    expect(() => fernet.decrypt(SPEC_TOKEN, { ttlSeconds: -1 })).to.throw(RangeError);
    expect(() => fernet.decrypt(SPEC_TOKEN, { ttlSeconds: 60, now: new Date('nope') })).to.throw(RangeError);
    expect(() => fernet.encrypt('x', { now: new Date(-1000) })).to.throw(RangeError);
  });
});

describe('Fernet: round trips', () => {
  const fernet = new Fernet(Fernet.generateKey());

  const cases: [string, string | Buffer][] = [
    ['an empty string', ''],
    ['UTF-8 text with accents and emoji', 'contraseña: ñandú 🔐 ¿sí?'],
    ['exactly one block (PKCS7 adds a full padding block)', '0123456789abcdef'],
    ['binary bytes including zeros', Buffer.from([0, 255, 0, 128, 7, 0])],
    ['a 100 kB secret', Buffer.alloc(100_000, 0xab)],
  ];
  for (const [name, plaintext] of cases) {
    it(`${name} comes back unchanged`, () => {
      const token = fernet.encrypt(plaintext);
      const expected = typeof plaintext === 'string' ? Buffer.from(plaintext, 'utf8') : plaintext;
      expect(fernet.decrypt(token).equals(expected)).to.equal(true);
    });
  }

  it('tokens are padded url-safe base64 starting with the version byte 0x80 ("gAAAAA")', () => {
    const token = fernet.encrypt('hello');
    expect(token).to.match(/^gAAAAA[A-Za-z0-9_-]+={0,2}$/);
    expect(token.length % 4).to.equal(0);
  });

  it('encrypting the same secret twice gives different tokens (random IV)', () => {
    const now = new Date();
    expect(fernet.encrypt('same', { now })).to.not.equal(fernet.encrypt('same', { now }));
  });

  it('refuses an IV that is not 16 bytes', () => {
    expect(() => fernet.encrypt('x', { iv: Buffer.alloc(15) })).to.throw(RangeError);
  });
});

describe('Fernet: tampered and malformed tokens', () => {
  const fernet = new Fernet(SPEC_KEY);
  const malformed: [string, string][] = [
    ['a token made with another key', new Fernet(Fernet.generateKey()).encrypt('hello')],
    ['a flipped ciphertext bit', tamper(SPEC_TOKEN, (b) => ((b[30] = b[30]! ^ 1), b))],
    ['a changed timestamp', tamper(SPEC_TOKEN, (b) => ((b[8] = b[8]! ^ 1), b))],
    ['a wrong version byte', tamper(SPEC_TOKEN, (b) => ((b[0] = 0x81), b))],
    ['a truncated HMAC', tamper(SPEC_TOKEN, (b) => b.subarray(0, b.length - 1))],
    ['only a header', tamper(SPEC_TOKEN, (b) => b.subarray(0, 9))],
    ['an empty string', ''],
    ['missing base64 padding', SPEC_TOKEN.replace(/=+$/, '')],
    ['the standard base64 alphabet (+ and /)', Buffer.from(SPEC_TOKEN, 'base64url').toString('base64')],
    ['a trailing newline', `${SPEC_TOKEN}\n`],
    ['non-zero unused trailing bits (a second spelling of the same bytes)', SPEC_TOKEN.replace(/A==$/, 'B==')],
  ];
  for (const [name, token] of malformed) {
    it(`rejects ${name}`, () => {
      expect(token).to.not.equal(SPEC_TOKEN);
      expectInvalidToken(() => fernet.decrypt(token));
    });
  }

  it('rejects a non-string token from untyped callers with the same error', () => {
    expectInvalidToken(() => fernet.decrypt(undefined as unknown as string));
  });
});

describe('Fernet: keys', () => {
  it('generateKey gives 44 characters of padded url-safe base64 for 32 random bytes', () => {
    const key = Fernet.generateKey();
    expect(key).to.match(/^[A-Za-z0-9_-]{43}=$/);
    expect(Buffer.from(key, 'base64url')).to.have.length(32);
    expect(Fernet.generateKey()).to.not.equal(key);
  });

  const badKeys: [string, string][] = [
    ['an empty string', ''],
    ['31 bytes', Buffer.alloc(31, 1).toString('base64url') + '='],
    ['33 bytes', Buffer.alloc(33, 1).toString('base64url')],
    ['a key without its padding', SPEC_KEY.slice(0, -1)],
    ['a key in the standard base64 alphabet', Buffer.from(SPEC_KEY, 'base64url').toString('base64')],
    ['a key with surrounding spaces', ` ${SPEC_KEY}`],
    ['a hex string', 'a'.repeat(64)],
  ];
  for (const [name, key] of badKeys) {
    it(`refuses ${name} with InvalidFernetKeyError, without echoing the key`, () => {
      const error = keyError(() => new Fernet(key));
      if (key !== '') expect(error.message).to.not.include(key.trim());
    });
  }

  it('never shows key material when logged or serialised', () => {
    const fernet = new Fernet(SPEC_KEY);
    const shown = `${inspect(fernet, { showHidden: true, depth: 5 })} ${JSON.stringify(fernet)}`;
    const raw = Buffer.from(SPEC_KEY, 'base64url');
    for (const part of [SPEC_KEY, raw.subarray(0, 16).toString('hex'), raw.subarray(16).toString('base64url')]) {
      expect(shown).to.not.include(part);
    }
  });
});

describe('MultiFernet', () => {
  const oldKey = Fernet.generateKey();
  const newKey = Fernet.generateKey();
  const oldFernet = new Fernet(oldKey);
  const newFernet = new Fernet(newKey);
  const multi = new MultiFernet([newFernet, oldFernet]);

  it('encrypts with the first (newest) key only', () => {
    const token = multi.encrypt('secret');
    expect(newFernet.decryptToString(token)).to.equal('secret');
    expectInvalidToken(() => oldFernet.decrypt(token));
  });

  it('decrypts a token made with an older key', () => {
    expect(multi.decryptToString(oldFernet.encrypt('legacy'))).to.equal('legacy');
  });

  it('applies the TTL whichever key matches', () => {
    const token = oldFernet.encrypt('legacy', { now: SPEC_TIME });
    expect(multi.decryptToString(token, { ttlSeconds: 60, now: at(SPEC_TIME, 30) })).to.equal('legacy');
    expectInvalidToken(() => multi.decrypt(token, { ttlSeconds: 60, now: at(SPEC_TIME, 61) }));
  });

  it('rejects a token that no key can open', () => {
    expectInvalidToken(() => multi.decrypt(SPEC_TOKEN));
    expectInvalidToken(() => multi.extractTimestamp(SPEC_TOKEN));
    expectInvalidToken(() => multi.rotate(SPEC_TOKEN));
  });

  it('rotate re-encrypts under the newest key and keeps the original timestamp', () => {
    const original = oldFernet.encrypt('to rotate', { now: SPEC_TIME });
    const rotated = multi.rotate(original);
    expect(rotated).to.not.equal(original);
    expect(newFernet.decryptToString(rotated)).to.equal('to rotate');
    expectInvalidToken(() => oldFernet.decrypt(rotated));
    expect(newFernet.extractTimestamp(rotated).getTime()).to.equal(SPEC_TIME.getTime());
  });

  it('rotating a token already under the newest key keeps its content and timestamp, with a fresh IV', () => {
    const original = newFernet.encrypt('current', { now: SPEC_TIME });
    const rotated = multi.rotate(original);
    expect(rotated).to.not.equal(original);
    expect(multi.decryptToString(rotated)).to.equal('current');
    expect(multi.extractTimestamp(rotated).getTime()).to.equal(SPEC_TIME.getTime());
  });

  it('needs at least one key', () => {
    keyError(() => new MultiFernet([]));
  });
});

describe('multiFernetFromEnv (FERNET_KEYS)', () => {
  const k1 = Fernet.generateKey();
  const k2 = Fernet.generateKey();

  it('reads comma-separated keys newest first, ignoring spaces around them', () => {
    const multi = multiFernetFromEnv(` ${k1} ,  ${k2}`);
    expect(multi.keyCount).to.equal(2);
    const token = multi.encrypt('x');
    expect(new Fernet(k1).decryptToString(token)).to.equal('x');
    expect(multi.decryptToString(new Fernet(k2).encrypt('older'))).to.equal('older');
  });

  it('accepts a single key', () => {
    expect(multiFernetFromEnv(k1).keyCount).to.equal(1);
  });

  it('refuses an empty or blank variable', () => {
    for (const value of ['', '   '])
      expect(keyError(() => multiFernetFromEnv(value)).message).to.include('FERNET_KEYS is empty');
  });

  const badLists: [string, string, number][] = [
    ['an empty first entry', `,${k1}`, 1],
    ['an empty entry in the middle', `${k1}, ,${k2}`, 2],
    ['a trailing comma', `${k1},${k2},`, 3],
    ['an invalid second key', `${k1},${k2.slice(0, 20)}`, 2],
  ];
  for (const [name, value, index] of badLists) {
    it(`names key #${index} for ${name}, without echoing any key`, () => {
      const error = keyError(() => multiFernetFromEnv(value));
      expect(error.keyIndex).to.equal(index);
      expect(error.message).to.include(`#${index}`);
      for (const secret of [k1, k2, k2.slice(0, 20)]) expect(error.message).to.not.include(secret);
    });
  }
});
