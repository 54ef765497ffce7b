import { randomBytes } from 'node:crypto';
import argon2 from 'argon2';
import type { HashOptions } from 'argon2';

/**
 * Password hashing with argon2id. The decider never sees passwords: the login handler verifies
 * here and passes `passwordMatches` to RecordLoginAttempt.
 */

export type PasswordHashParams = Readonly<{
  /** KiB */
  memoryCost: number;
  /** iterations */
  timeCost: number;
  parallelism: number;
}>;

/** OWASP Password Storage Cheat Sheet's argon2id minimum: m=19 MiB, t=2, p=1. Benchmarks quote it. */
export const PASSWORD_HASH_PARAMS: PasswordHashParams = Object.freeze({
  memoryCost: 19_456,
  timeCost: 2,
  parallelism: 1,
});

export type PasswordHasher = {
  readonly params: PasswordHashParams;
  /** a PHC string: $argon2id$v=19$m=...,t=...,p=...$salt$hash */
  hashPassword(password: string): Promise<string>;
  /** false for a wrong password AND for a hash that is not a valid argon2 string: never throws on bad data */
  verifyPassword(hash: string, password: string): Promise<boolean>;
  /**
   * Always false, after spending the time of a real verify against a dummy hash made with the same
   * parameters: an unknown username then costs what a known one does, so timing does not tell them apart.
   */
  verifyAgainstDummy(password: string): Promise<false>;
  /** true when a stored hash was made with other parameters (rehash it after the next good login) */
  needsRehash(hash: string): boolean;
};

export const createPasswordHasher = (params: PasswordHashParams = PASSWORD_HASH_PARAMS): PasswordHasher => {
  const options: HashOptions & { raw?: false } = { type: argon2.argon2id, ...params };
  let dummy: Promise<string> | undefined;

  const hashPassword = (password: string): Promise<string> => argon2.hash(password, options);

  const verifyPassword = async (hash: string, password: string): Promise<boolean> => {
    if (typeof hash !== 'string' || typeof password !== 'string') return false;
    try {
      return await argon2.verify(hash, password);
    } catch (_malformed) {
      return false;
    }
  };

  const dummyHash = (): Promise<string> => {
    // Made once, on first use, from a random secret nobody knows; a failure is retried next time.
    const made =
      dummy ??
      hashPassword(randomBytes(32).toString('base64')).catch((error: unknown) => {
        dummy = undefined;
        throw error;
      });
    dummy = made;
    return made;
  };

  return {
    params,
    hashPassword,
    verifyPassword,
    verifyAgainstDummy: async (password: string): Promise<false> => {
      await verifyPassword(await dummyHash(), typeof password === 'string' ? password : '');
      return false;
    },
    needsRehash: (hash: string) => {
      try {
        return argon2.needsRehash(hash, params) || !hash.startsWith('$argon2id$');
      } catch (_malformed) {
        return true;
      }
    },
  };
};

const defaultHasher = createPasswordHasher();

/** Module-level helpers with PASSWORD_HASH_PARAMS; use createPasswordHasher for other costs. */
export const hashPassword = (password: string): Promise<string> => defaultHasher.hashPassword(password);
export const verifyPassword = (hash: string, password: string): Promise<boolean> =>
  defaultHasher.verifyPassword(hash, password);
export const verifyAgainstDummy = (password: string): Promise<false> => defaultHasher.verifyAgainstDummy(password);
export const needsRehash = (hash: string): boolean => defaultHasher.needsRehash(hash);
