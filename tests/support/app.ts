import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import pg from 'pg';
import { loadConfig } from '#infrastructure/config/config.js';
import { createLogger } from '#infrastructure/logging/logger.js';
import { startApp, type AppProcess } from '#interfaces/process/app.js';
import type { ProcessMonitorTimings } from '#interfaces/process/runtime.js';
import type { Runtime } from '#application/shared/runtime.js';
import { systemRuntime } from '#infrastructure/shared/runtime.js';
import { TEST_DATABASE_URL, uniqueName } from './events.js';

export const TEST_JWT_SECRET = 'test-secret-that-is-long-enough-for-hs256-0123456789';
export const ADMIN_PASSWORD = 'admin-password-for-tests';
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A fresh schema in the test database; the URL points every unqualified table at it. */
export const createTestSchema = async (
  baseUrl = TEST_DATABASE_URL,
): Promise<{ schema: string; url: string; drop: () => Promise<void> }> => {
  const schema = uniqueName('app');
  const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await admin.connect();
  await admin.query(`create schema "${schema}"`);
  await admin.end();
  const separator = baseUrl.includes('?') ? '&' : '?';
  return {
    schema,
    url: `${baseUrl}${separator}options=${encodeURIComponent(`-c search_path=${schema}`)}`,
    drop: async () => {
      const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
      await client.connect();
      await client.query(`drop schema if exists "${schema}" cascade`);
      await client.end();
    },
  };
};

export type TestApp = {
  app: AppProcess;
  baseUrl: string;
  /** JSON log lines written so far */
  logs: () => Array<Record<string, unknown>>;
  rawLogs: () => string;
  databaseUrl: string;
  close: () => Promise<void>;
};

export type TestAppOptions = {
  env?: Record<string, string | undefined>;
  /** reuse a schema (several app processes on one database) instead of a fresh one */
  databaseUrl?: string;
  redis?: boolean;
  redisKeyPrefix?: string;
  /** the embedded wiring, as `npm start` runs it: PGlite in a fresh temporary DATA_DIR, no DATABASE_URL */
  embedded?: boolean;
  /** clock and ids of the app (tests/support/runtime.ts manualRuntime moves time without sleeping); default systemRuntime */
  runtime?: Runtime;
  /** liveness timings of the app's process monitor (heartbeats, crash detection, runtime request timeout) */
  processTimings?: Partial<ProcessMonitorTimings>;
  /** events per transaction of the API's blue/green rebuilds */
  projectionRebuildBatchSize?: number;
};

/** Both wirings production has, for tests that must hold on each: PostgreSQL and embedded PGlite. */
export const WIRINGS = [
  { name: 'PostgreSQL', embedded: false },
  { name: 'embedded PGlite', embedded: true },
] as const;

/** The real app process, in this process, on port 0, against the real Postgres (and Redis when asked). */
export const startTestApp = async (options: TestAppOptions = {}): Promise<TestApp> => {
  const dataDir = options.embedded ? await mkdtemp(join(tmpdir(), 'chatbot-test-')) : null;
  const schema = options.databaseUrl || options.embedded ? null : await createTestSchema();
  const databaseUrl = options.databaseUrl ?? schema?.url ?? '';
  const env = {
    NODE_ENV: 'test',
    JWT_SECRET: TEST_JWT_SECRET,
    ADMIN_PASSWORD,
    ...(dataDir ? { DATA_DIR: dataDir } : { DATABASE_URL: databaseUrl }),
    LOG_LEVEL: 'info',
    RATE_LIMIT_LOGIN_PER_MINUTE: '10000',
    RATE_LIMIT_API_PER_MINUTE: '10000',
    ...(options.redis ? { REDIS_URL: TEST_REDIS_URL } : {}),
    ...options.env,
  };
  const config = loadConfig(env);
  let captured = '';
  const stream = new PassThrough();
  stream.on('data', (chunk: Buffer) => {
    captured += chunk.toString('utf8');
  });
  const logger = createLogger({ level: config.logLevel, service: 'app', stream });
  const app = await startApp({
    config,
    logger,
    runtime: options.runtime ?? systemRuntime,
    port: 0,
    redisKeyPrefix: options.redisKeyPrefix ?? `${uniqueName('t')}:`,
    ...(options.processTimings ? { process: { timings: options.processTimings } } : {}),
    projectionRebuildBatchSize: options.projectionRebuildBatchSize,
  });
  return {
    app,
    baseUrl: `http://127.0.0.1:${app.port}`,
    databaseUrl,
    rawLogs: () => captured,
    logs: () =>
      captured
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => JSON.parse(line) as Record<string, unknown>),
    close: async () => {
      await app.close();
      await schema?.drop();
      if (dataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
};

export type JsonResponse = { status: number; headers: Headers; body: any };

export const request = async (
  baseUrl: string,
  method: string,
  path: string,
  options: { token?: string; body?: unknown; rawBody?: string; headers?: Record<string, string> } = {},
): Promise<JsonResponse> => {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  let body: string | undefined;
  if (options.rawBody !== undefined) body = options.rawBody;
  else if (options.body !== undefined) body = JSON.stringify(options.body);
  if (body !== undefined && !headers['content-type']) headers['content-type'] = 'application/json';
  const response = await fetch(`${baseUrl}${path}`, { method, headers, body });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    // not JSON: keep the text
  }
  return { status: response.status, headers: response.headers, body: parsed };
};

export const loginAs = async (
  baseUrl: string,
  username: string,
  password: string,
): Promise<{ access: string; refresh: string }> => {
  const response = await request(baseUrl, 'POST', '/api/auth/login', { body: { username, password } });
  if (response.status !== 200)
    throw new Error(`login as ${username} failed: ${response.status} ${JSON.stringify(response.body)}`);
  return { access: response.body.access_token as string, refresh: response.body.refresh_token as string };
};
