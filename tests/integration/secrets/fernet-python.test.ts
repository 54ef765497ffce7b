import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { Fernet, MultiFernet } from '#infrastructure/secrets/fernet.js';

// Interop with Python's `cryptography` Fernet, the reference implementation. Keys, tokens and plaintexts go
// through environment variables only; the Python program below is a constant, never built from data.
const PYTHON_PROGRAM = `
import os, sys
from cryptography.fernet import Fernet, MultiFernet
env = os.environ
op = sys.argv[1]
if op == "decrypt":
    print(Fernet(env["FERNET_KEY"]).decrypt(env["FERNET_TOKEN"]).hex())
elif op == "decrypt_at_time":
    f = Fernet(env["FERNET_KEY"])
    print(f.decrypt_at_time(env["FERNET_TOKEN"], int(env["FERNET_TTL"]), int(env["FERNET_NOW"])).hex())
elif op == "extract_timestamp":
    print(Fernet(env["FERNET_KEY"]).extract_timestamp(env["FERNET_TOKEN"]))
elif op == "encrypt":
    print(Fernet(env["FERNET_KEY"]).encrypt(bytes.fromhex(env["FERNET_PLAINTEXT_HEX"])).decode())
elif op == "encrypt_from_parts":
    # Private API, used only to pin the IV so both implementations must produce the same bytes.
    f = Fernet(env["FERNET_KEY"])
    token = f._encrypt_from_parts(bytes.fromhex(env["FERNET_PLAINTEXT_HEX"]), int(env["FERNET_NOW"]), bytes.fromhex(env["FERNET_IV_HEX"]))
    print(token.decode())
elif op == "rotate":
    keys = env["FERNET_KEYS"].split(",")
    print(MultiFernet([Fernet(k) for k in keys]).rotate(env["FERNET_TOKEN"]).decode())
elif op == "generate_key":
    print(Fernet.generate_key().decode())
else:
    sys.exit("unknown op " + op)
`;

const python = (op: string, env: Record<string, string>): string => {
  const result = spawnSync('python3', ['-c', PYTHON_PROGRAM, op], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: 15_000,
  });
  if (result.error) throw result.error;
  if (result.status !== 0) throw new Error(`python3 ${op} exited with ${result.status}: ${result.stderr.trim()}`);
  return result.stdout.trim();
};

const cryptographyImportable = (): boolean => {
  const probe = spawnSync('python3', ['-c', 'import cryptography.fernet'], { stdio: 'ignore', timeout: 15_000 });
  return probe.error === undefined && probe.status === 0;
};

describe('Fernet interop with Python cryptography', function () {
  before(function () {
    if (!cryptographyImportable()) {
      console.log('SKIPPED: Python cryptography interop (module not importable)');
      this.skip();
    }
  });

  const plaintext = Buffer.concat([Buffer.from('contraseña 🔐 ', 'utf8'), randomBytes(40), Buffer.from([0, 0])]);

  it('python3 decrypts a token made by our Fernet', () => {
    const key = Fernet.generateKey();
    const token = new Fernet(key).encrypt(plaintext);
    expect(python('decrypt', { FERNET_KEY: key, FERNET_TOKEN: token })).to.equal(plaintext.toString('hex'));
  });

  it('python3 applies its TTL to our token using the timestamp we wrote', () => {
    const key = Fernet.generateKey();
    const now = new Date('2024-02-29T10:00:00Z');
    const token = new Fernet(key).encrypt('ttl', { now });
    const seconds = String(now.getTime() / 1000);
    expect(python('extract_timestamp', { FERNET_KEY: key, FERNET_TOKEN: token })).to.equal(seconds);
    const env = { FERNET_KEY: key, FERNET_TOKEN: token, FERNET_TTL: '60' };
    expect(python('decrypt_at_time', { ...env, FERNET_NOW: String(Number(seconds) + 60) })).to.equal(
      Buffer.from('ttl').toString('hex'),
    );
    expect(() => python('decrypt_at_time', { ...env, FERNET_NOW: String(Number(seconds) + 61) })).to.throw(
      /InvalidToken/,
    );
  });

  it("with the same key, time and IV, our token and python3's are identical byte for byte", () => {
    const key = Fernet.generateKey();
    const iv = randomBytes(16);
    const now = new Date('2031-07-04T00:00:07Z');
    for (const data of [Buffer.alloc(0), Buffer.alloc(16, 9), plaintext]) {
      const ours = new Fernet(key).encrypt(data, { now, iv });
      const theirs = python('encrypt_from_parts', {
        FERNET_KEY: key,
        FERNET_PLAINTEXT_HEX: data.toString('hex'),
        FERNET_NOW: String(now.getTime() / 1000),
        FERNET_IV_HEX: iv.toString('hex'),
      });
      expect(ours).to.equal(theirs);
    }
  });

  it("our Fernet decrypts a token made by python3's Fernet, and reads the same timestamp", () => {
    const key = Fernet.generateKey();
    const token = python('encrypt', { FERNET_KEY: key, FERNET_PLAINTEXT_HEX: plaintext.toString('hex') });
    const fernet = new Fernet(key);
    expect(fernet.decrypt(token).equals(plaintext)).to.equal(true);
    expect(String(fernet.extractTimestamp(token).getTime() / 1000)).to.equal(
      python('extract_timestamp', { FERNET_KEY: key, FERNET_TOKEN: token }),
    );
  });

  it("our Fernet decrypts a token rotated by python3's MultiFernet.rotate, with the original timestamp", () => {
    const [oldKey, newKey] = [Fernet.generateKey(), Fernet.generateKey()];
    const created = new Date('2020-01-01T00:00:00Z');
    const original = new Fernet(oldKey).encrypt(plaintext, { now: created });
    const rotated = python('rotate', { FERNET_KEYS: `${newKey},${oldKey}`, FERNET_TOKEN: original });
    const newest = new Fernet(newKey);
    expect(newest.decrypt(rotated).equals(plaintext)).to.equal(true);
    expect(newest.extractTimestamp(rotated).getTime()).to.equal(created.getTime());
    expect(() => new Fernet(oldKey).decrypt(rotated)).to.throw('Invalid Fernet token');
  });

  it('python3 decrypts a token rotated by our MultiFernet, with the original timestamp', () => {
    const [oldKey, newKey] = [Fernet.generateKey(), Fernet.generateKey()];
    const created = new Date('2020-01-01T00:00:00Z');
    const original = new Fernet(oldKey).encrypt(plaintext, { now: created });
    const rotated = new MultiFernet([new Fernet(newKey), new Fernet(oldKey)]).rotate(original);
    expect(python('decrypt', { FERNET_KEY: newKey, FERNET_TOKEN: rotated })).to.equal(plaintext.toString('hex'));
    expect(python('extract_timestamp', { FERNET_KEY: newKey, FERNET_TOKEN: rotated })).to.equal(
      String(created.getTime() / 1000),
    );
  });

  it('keys are interchangeable: python3 accepts our generated key and we accept its key', () => {
    const ourKey = Fernet.generateKey();
    const pythonKey = python('generate_key', {});
    const fromPython = python('encrypt', { FERNET_KEY: ourKey, FERNET_PLAINTEXT_HEX: '6b6579' });
    expect(new Fernet(ourKey).decryptToString(fromPython)).to.equal('key');
    expect(python('decrypt', { FERNET_KEY: pythonKey, FERNET_TOKEN: new Fernet(pythonKey).encrypt('key') })).to.equal(
      '6b6579',
    );
  });
});
