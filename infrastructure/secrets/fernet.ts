// Fernet (https://github.com/fernet/spec, Spec.md) on node:crypto, byte-compatible with
// Python's `cryptography.fernet` in both directions, including MultiFernet key rotation.
import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  createSecretKey,
  randomBytes,
  timingSafeEqual,
} from 'node:crypto';
import type { KeyObject } from 'node:crypto';

const VERSION = 0x80;
const KEY_BYTES = 32;
const HALF_KEY_BYTES = 16;
const BLOCK_BYTES = 16;
const HMAC_BYTES = 32;
const HEADER_BYTES = 1 + 8 + BLOCK_BYTES; // version || timestamp || iv
const MIN_TOKEN_BYTES = HEADER_BYTES + BLOCK_BYTES + HMAC_BYTES; // PKCS7 always adds at least one block
// Python's cryptography refuses tokens stamped this far ahead of the verifier's clock (only with a TTL).
const MAX_CLOCK_SKEW_SECONDS = 60n;

/** A Fernet key is not 32 bytes of url-safe base64. The message never contains the key. */
export class InvalidFernetKeyError extends Error {
  readonly code = 'invalid_fernet_key';
  constructor(
    message = 'Fernet key must be 32 url-safe base64-encoded bytes',
    /** 1-based position in FERNET_KEYS, when the key came from there. */
    readonly keyIndex?: number,
  ) {
    super(message);
    this.name = 'InvalidFernetKeyError';
  }
}

/**
 * A token was refused. Deliberately one error with one message for every cause (encoding, version, length,
 * HMAC, padding, TTL, clock skew) so callers cannot become an oracle for an attacker.
 */
export class InvalidFernetTokenError extends Error {
  readonly code = 'invalid_token';
  constructor() {
    super('Invalid Fernet token');
    this.name = 'InvalidFernetTokenError';
  }
}

export type EncryptOptions = { now?: Date; iv?: Buffer };
export type DecryptOptions = { ttlSeconds?: number; now?: Date };

// eslint-disable-next-line security/detect-unsafe-regex -- fixed-width groups of 4 then an anchored tail: linear
const BASE64URL_PADDED = /^(?:[A-Za-z0-9_-]{4})*(?:[A-Za-z0-9_-]{2}==|[A-Za-z0-9_-]{3}=)?$/;

/**
 * Strict url-safe base64 with padding, as Python produces it. Node's own decoder silently skips bad
 * characters, so the shape is checked first and the result must re-encode to the exact input (no
 * alternative spelling of the same bytes, e.g. non-zero trailing bits).
 */
const decodeBase64Url = (text: string): Buffer | undefined => {
  if (!BASE64URL_PADDED.test(text)) return undefined;
  const bytes = Buffer.from(text, 'base64url');
  return encodeBase64Url(bytes) === text ? bytes : undefined;
};

const encodeBase64Url = (bytes: Buffer): string => {
  const unpadded = bytes.toString('base64url');
  return unpadded + '='.repeat((4 - (unpadded.length % 4)) % 4);
};

const toUnixSeconds = (date: Date): bigint => {
  const ms = date.getTime();
  if (!Number.isFinite(ms) || ms < 0) throw new RangeError('Fernet timestamps must be valid dates from 1970 on');
  return BigInt(Math.floor(ms / 1000));
};

const fromUnixSeconds = (seconds: bigint): Date => new Date(Number(seconds) * 1000);

const checkTtl = (ttlSeconds: number): bigint => {
  if (!Number.isSafeInteger(ttlSeconds) || ttlSeconds < 0)
    throw new RangeError('ttlSeconds must be a non-negative integer');
  return BigInt(ttlSeconds);
};

/** A token that decoded and has the right version and minimum length; nothing is authenticated yet. */
type UnverifiedToken = { bytes: Buffer; timestamp: bigint };

// Module-private access to a Fernet's key operations (assigned in the class's static block), so MultiFernet
// can reuse them without widening Fernet's public API.
let encryptAt: (fernet: Fernet, plaintext: string | Uint8Array, timestamp: bigint, iv?: Buffer) => string;
let decryptParsed: (fernet: Fernet, token: UnverifiedToken, opts: DecryptOptions) => Buffer;

const parseToken = (token: string): UnverifiedToken => {
  if (typeof token !== 'string') throw new InvalidFernetTokenError();
  const bytes = decodeBase64Url(token);
  if (bytes === undefined || bytes.length < MIN_TOKEN_BYTES || bytes[0] !== VERSION)
    throw new InvalidFernetTokenError();
  return { bytes, timestamp: bytes.readBigUInt64BE(1) };
};

export class Fernet {
  // Private fields (not `private`) so keys never show up in console.log, util.inspect or JSON.
  readonly #signingKey: KeyObject;
  readonly #encryptionKey: KeyObject;

  static {
    encryptAt = (fernet, plaintext, timestamp, iv) => fernet.#encryptAt(plaintext, timestamp, iv);
    decryptParsed = (fernet, token, opts) => fernet.#decryptParsed(token, opts);
  }

  constructor(key: string) {
    const bytes = typeof key === 'string' ? decodeBase64Url(key) : undefined;
    if (bytes === undefined || bytes.length !== KEY_BYTES) throw new InvalidFernetKeyError();
    this.#signingKey = createSecretKey(bytes.subarray(0, HALF_KEY_BYTES));
    this.#encryptionKey = createSecretKey(bytes.subarray(HALF_KEY_BYTES));
    bytes.fill(0);
  }

  /** A fresh random key, url-safe base64 with padding (44 characters), as Python's `Fernet.generate_key()`. */
  static generateKey(): string {
    return encodeBase64Url(randomBytes(KEY_BYTES));
  }

  encrypt(plaintext: string | Uint8Array, opts: EncryptOptions = {}): string {
    return this.#encryptAt(plaintext, toUnixSeconds(opts.now ?? new Date()), opts.iv);
  }

  /** Decrypts and authenticates; with `ttlSeconds`, also refuses expired or far-future tokens. */
  decrypt(token: string, opts: DecryptOptions = {}): Buffer {
    return this.#decryptParsed(parseToken(token), opts);
  }

  decryptToString(token: string, opts: DecryptOptions = {}): string {
    return this.decrypt(token, opts).toString('utf8');
  }

  /** When the token was made (whole seconds). The HMAC is checked first, as Python does. */
  extractTimestamp(token: string): Date {
    const parsed = parseToken(token);
    this.#verifyHmac(parsed.bytes);
    return fromUnixSeconds(parsed.timestamp);
  }

  #encryptAt(plaintext: string | Uint8Array, timestamp: bigint, iv: Buffer = randomBytes(BLOCK_BYTES)): string {
    if (iv.length !== BLOCK_BYTES) throw new RangeError('Fernet IV must be 16 bytes');
    const cipher = createCipheriv('aes-128-cbc', this.#encryptionKey, iv); // PKCS7 padding is Node's default
    const data = typeof plaintext === 'string' ? Buffer.from(plaintext, 'utf8') : plaintext;
    const ciphertext = Buffer.concat([cipher.update(data), cipher.final()]);
    const header = Buffer.alloc(9);
    header[0] = VERSION;
    header.writeBigUInt64BE(timestamp, 1);
    const signed = Buffer.concat([header, iv, ciphertext]);
    return encodeBase64Url(Buffer.concat([signed, this.#hmac(signed)]));
  }

  #decryptParsed({ bytes, timestamp }: UnverifiedToken, opts: DecryptOptions): Buffer {
    this.#verifyHmac(bytes);
    if (opts.ttlSeconds !== undefined) {
      const ttl = checkTtl(opts.ttlSeconds);
      const now = toUnixSeconds(opts.now ?? new Date());
      if (timestamp + ttl < now) throw new InvalidFernetTokenError();
      if (now + MAX_CLOCK_SKEW_SECONDS < timestamp) throw new InvalidFernetTokenError();
    }
    const ciphertext = bytes.subarray(HEADER_BYTES, bytes.length - HMAC_BYTES);
    if (ciphertext.length % BLOCK_BYTES !== 0) throw new InvalidFernetTokenError();
    try {
      const decipher = createDecipheriv('aes-128-cbc', this.#encryptionKey, bytes.subarray(9, HEADER_BYTES));
      return Buffer.concat([decipher.update(ciphertext), decipher.final()]);
    } catch {
      throw new InvalidFernetTokenError(); // bad PKCS7 padding
    }
  }

  #hmac(signed: Buffer): Buffer {
    return createHmac('sha256', this.#signingKey).update(signed).digest();
  }

  #verifyHmac(bytes: Buffer): void {
    const expected = this.#hmac(bytes.subarray(0, bytes.length - HMAC_BYTES));
    if (!timingSafeEqual(expected, bytes.subarray(bytes.length - HMAC_BYTES))) throw new InvalidFernetTokenError();
  }
}

/**
 * Several keys, newest first (Python's MultiFernet): encrypts with the newest, decrypts with any, and
 * `rotate` moves a token to the newest key. Retire an old key only after every stored token was rotated.
 */
export class MultiFernet {
  readonly #fernets: readonly [Fernet, ...Fernet[]];

  constructor(fernets: readonly Fernet[]) {
    const [newest, ...older] = fernets;
    if (newest === undefined) throw new InvalidFernetKeyError('MultiFernet requires at least one key');
    this.#fernets = [newest, ...older];
  }

  get keyCount(): number {
    return this.#fernets.length;
  }

  encrypt(plaintext: string | Uint8Array, opts: EncryptOptions = {}): string {
    return this.#fernets[0].encrypt(plaintext, opts);
  }

  decrypt(token: string, opts: DecryptOptions = {}): Buffer {
    const parsed = parseToken(token);
    return this.firstThatAccepts((f) => decryptParsed(f, parsed, opts));
  }

  decryptToString(token: string, opts: DecryptOptions = {}): string {
    return this.decrypt(token, opts).toString('utf8');
  }

  extractTimestamp(token: string): Date {
    return this.firstThatAccepts((f) => f.extractTimestamp(token));
  }

  /**
   * Re-encrypts under the newest key with a fresh IV, keeping the original timestamp so a TTL still counts
   * from when the secret was first stored. No TTL applies, as in Python.
   */
  rotate(token: string, opts: { iv?: Buffer } = {}): string {
    const parsed = parseToken(token);
    const plaintext = this.firstThatAccepts((f) => decryptParsed(f, parsed, {}));
    try {
      return encryptAt(this.#fernets[0], plaintext, parsed.timestamp, opts.iv);
    } finally {
      plaintext.fill(0);
    }
  }

  private firstThatAccepts<T>(attempt: (fernet: Fernet) => T): T {
    for (const fernet of this.#fernets) {
      try {
        return attempt(fernet);
      } catch (error) {
        if (!(error instanceof InvalidFernetTokenError)) throw error;
      }
    }
    throw new InvalidFernetTokenError();
  }
}

/**
 * Parses FERNET_KEYS: comma-separated keys, newest first, spaces around each ignored. An empty or invalid
 * entry is refused with its 1-based index, never its value, so the error is safe to log.
 */
export const multiFernetFromEnv = (value: string): MultiFernet => {
  if (value.trim() === '')
    throw new InvalidFernetKeyError('FERNET_KEYS is empty: set at least one Fernet key (newest first)');
  const fernets = value.split(',').map((raw, i) => {
    const index = i + 1;
    const key = raw.trim();
    if (key === '') throw new InvalidFernetKeyError(`FERNET_KEYS key #${index} is empty`, index);
    try {
      return new Fernet(key);
    } catch (error) {
      if (!(error instanceof InvalidFernetKeyError)) throw error;
      throw new InvalidFernetKeyError(`FERNET_KEYS key #${index} is not 32 url-safe base64-encoded bytes`, index);
    }
  });
  return new MultiFernet(fernets);
};
