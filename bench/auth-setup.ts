/**
 * Set-up and clean-up of the auth benchmark: the cost of one argon2id hash and verify, accounts
 * created through the API, and what the run left in Postgres and Redis.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import pg from 'pg';
import { hashPassword, verifyPassword } from '../infrastructure/identity/passwords.js';
import { median, round3 } from './bench-support.js';

/** Medians of `samples` sequential calls, after one untimed call that builds argon2's state. */
export const measureHashing = async (
  samples: number,
): Promise<{ single_hash_ms: number; single_verify_ms: number }> => {
  const password = randomBytes(16).toString('hex');
  const stored = await hashPassword(password);
  await verifyPassword(stored, password);
  const hashes: number[] = [];
  const verifies: number[] = [];
  for (let i = 0; i < samples; i += 1) {
    let t0 = performance.now();
    await hashPassword(password);
    hashes.push(performance.now() - t0);
    t0 = performance.now();
    if (!(await verifyPassword(stored, password))) throw new Error('argon2 verify refused its own hash');
    verifies.push(performance.now() - t0);
  }
  return { single_hash_ms: round3(median(hashes)), single_verify_ms: round3(median(verifies)) };
};

const json = async (response: Response, what: string): Promise<Record<string, unknown>> => {
  const text = await response.text();
  if (!response.ok) throw new Error(`${what}: ${response.status} ${text}`);
  return JSON.parse(text) as Record<string, unknown>;
};

export const postJson = async (
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<Record<string, unknown>> =>
  json(
    await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    }),
    `POST ${url}`,
  );

export const getJson = async (url: string, headers: Record<string, string>): Promise<Record<string, unknown>> =>
  json(await fetch(url, { headers }), `GET ${url}`);

/** `count` viewer accounts through POST /api/users, a few at a time (each one is an argon2 hash). */
export const createAccounts = async (
  baseUrl: string,
  authorization: string,
  count: number,
  password: string,
): Promise<string[]> => {
  const usernames = Array.from({ length: count }, (_, i) => `bench-user-${String(i).padStart(4, '0')}`);
  let next = 0;
  const worker = async () => {
    while (next < usernames.length) {
      const username = usernames[next]!;
      next += 1;
      await postJson(`${baseUrl}/api/users`, { username, password, role: 'viewer' }, { authorization });
    }
  };
  await Promise.all(Array.from({ length: 4 }, worker));
  return usernames;
};

/** Events by type in the benchmark's database (the app has stopped, so nothing is still appending). */
export const countEventTypes = async (databaseUrl: string): Promise<Record<string, number>> => {
  const client = new pg.Client({ connectionString: databaseUrl, application_name: 'bench-auth' });
  await client.connect();
  try {
    const { rows } = await client.query<{ type: string; n: string }>(
      'select type, count(*) as n from es_events group by type order by type',
    );
    return Object.fromEntries(rows.map((r) => [r.type, Number(r.n)]));
  } finally {
    await client.end();
  }
};

/** Removes this run's rate-limit counters from Redis. */
export const deleteRedisKeys = async (url: string, prefix: string): Promise<number> => {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  let deleted = 0;
  try {
    let cursor = '0';
    do {
      const [nextCursor, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      cursor = nextCursor;
      if (keys.length > 0) deleted += await redis.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
  return deleted;
};
