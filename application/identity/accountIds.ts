import { createHash } from 'node:crypto';
import { normaliseUsername } from '#domain/identity/rules.js';

export { isValidUsername, normaliseUsername } from '#domain/identity/rules.js';

const NAMESPACE = Buffer.from('6f1c2d9e4b7a4c1d8e2f3a5b6c7d8e9f', 'hex');

/**
 * The account id is a name-based UUID (v5) of the normalised username. Login finds the account
 * stream without a read model, and creating the same username twice, from any number of processes,
 * collides on the stream's expected revision instead of creating two accounts.
 */
export const accountIdFor = (username: string): string => {
  const hash = createHash('sha1').update(NAMESPACE).update(normaliseUsername(username), 'utf8').digest();
  hash[6] = (hash[6]! & 0x0f) | 0x50;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
};
