// The process configuration, validated once at startup. Entry points pass `process.env` in; nothing else
// reads the environment. A bad environment fails with every problem listed at once, each with its fix.
import { inspect } from 'node:util';
import { z } from 'zod';
import { Fernet, InvalidFernetKeyError } from '#infrastructure/secrets/fernet.js';
import type { Env } from './fields.js';
import { eventStoreUrl } from './eventStoreUrl.js';
import { redactedConfigSummary } from './summary.js';
import { llmProviders } from './llm.js';
import {
  boolean,
  deepFreeze,
  envVar,
  integer,
  list,
  normaliseEnv,
  oneOf,
  optionalText,
  parseInteger,
  parseUrl,
  shown,
  text,
} from './fields.js';

export const NODE_ENVS = ['development', 'production', 'test'] as const;
export const LOG_LEVELS = ['error', 'warn', 'info', 'http', 'debug'] as const;
export const WHATSAPP_MODES = ['web', 'cloud', 'both'] as const;
export const EVENT_STORE_KINDS = ['pglite', 'postgres', 'eventstoredb'] as const;

export type NodeEnv = (typeof NODE_ENVS)[number];
export type LogLevel = (typeof LOG_LEVELS)[number];
export type WhatsAppMode = (typeof WHATSAPP_MODES)[number];

export type EventStoreConfig =
  | { readonly kind: 'eventstoredb'; readonly url: string }
  | { readonly kind: 'postgres'; readonly url: string }
  | { readonly kind: 'pglite'; readonly dataDir: string };
export type DatabaseConfig =
  { readonly kind: 'postgres'; readonly url: string } | { readonly kind: 'pglite'; readonly dataDir: string };
/** `url` already carries REDIS_PASSWORD when the URL had none, so `new Redis(config.redis.url)` just works. */
export type RedisConfig = { readonly url: string; readonly password: string | null };

export type ConfigIssue = { readonly variable: string; readonly problem: string; readonly fix: string };

/** The environment is incomplete or wrong. `issues` lists every problem; no message contains a secret value. */
export class ConfigError extends Error {
  readonly code = 'invalid_config';
  constructor(readonly issues: readonly ConfigIssue[]) {
    const lines = issues.map((issue) => `  - ${issue.variable}: ${issue.problem}. ${issue.fix}`);
    const count = issues.length === 1 ? '1 problem' : `${issues.length} problems`;
    super(`Invalid configuration (${count}); fix the environment or .env and start again:\n${lines.join('\n')}`);
    this.name = 'ConfigError';
  }
}

const JWT_SECRET_MIN_BYTES = 32;
const ADMIN_PASSWORD_MIN_CHARS = 8;
const FERNET_KEY_HINT = 'a fresh key from `openssl rand -base64 32 | tr "+/" "-_"`';
// Values people copy from examples; refused in production only, so local experiments stay easy.
const PLACEHOLDER_PASSWORDS = new Set([
  'password',
  'changeme',
  'change-me',
  'change_me',
  'admin123',
  '12345678',
  'administrator',
]);

const HTTP = ['http:', 'https:'];

const jwtSecret = envVar((value, report) => {
  const fix = 'Set it to at least 32 random bytes, e.g. `openssl rand -base64 48`.';
  if (value === undefined) report('missing', fix);
  else if (Buffer.byteLength(value, 'utf8') < JWT_SECRET_MIN_BYTES)
    report(`shorter than ${JWT_SECRET_MIN_BYTES} bytes`, fix);
  return value ?? '';
});

const adminPassword = (production: boolean) =>
  envVar((value, report) => {
    const fix = "Set the first admin account's password, at least 8 characters, e.g. `openssl rand -base64 18`.";
    if (value === undefined) report('missing', fix);
    else if ([...value].length < ADMIN_PASSWORD_MIN_CHARS)
      report(`shorter than ${ADMIN_PASSWORD_MIN_CHARS} characters`, fix);
    else if (production && PLACEHOLDER_PASSWORDS.has(value.toLowerCase()))
      report('is a well-known placeholder (refused in production)', fix);
    return value ?? '';
  });

/** A secret that some other setting makes mandatory; `why` explains the dependency in the message. */
const secretRequiredWhen = (required: string | null, fix: string) =>
  envVar((value, report) => {
    if (value === undefined && required !== null) report(`missing (required because ${required})`, fix);
    return value ?? null;
  });

const fernetKeys = (production: boolean) =>
  envVar((value, report) => {
    if (value === undefined) {
      if (production)
        report(
          'missing (required when NODE_ENV=production)',
          `Set it to ${FERNET_KEY_HINT}; with several keys, newest first, comma-separated.`,
        );
      return [];
    }
    const keys = value.split(',').map((key) => key.trim());
    keys.forEach((key, i) => {
      const index = i + 1;
      if (key === '') report(`key #${index} is empty`, 'Remove the stray comma or put a key there.');
      else if (!isFernetKey(key))
        report(
          `key #${index} is not 32 bytes of url-safe base64 (Fernet format, with "=" padding)`,
          `Replace key #${index} with ${FERNET_KEY_HINT}.`,
        );
    });
    return keys;
  });

const isFernetKey = (key: string): boolean => {
  try {
    new Fernet(key);
    return true;
  } catch (error) {
    if (error instanceof InvalidFernetKeyError) return false;
    throw error;
  }
};

/** A connection URL; never echoed because it may embed a password. */
const connectionUrl = (protocols: readonly string[], example: string, required: string | null) =>
  envVar((value, report) => {
    const fix = `Set it like ${example}.`;
    if (value === undefined) {
      if (required !== null) report(`missing (required because ${required})`, fix);
      return null;
    }
    if (parseUrl(value, protocols) === undefined)
      report(`not a valid ${protocols.map((p) => `${p}//`).join(' or ')} URL`, fix);
    return value.trim();
  });

// The Graph API version lives in its own variable, so a URL that already carries one is refused instead of
// silently doubling it (https://graph.facebook.com/v21.0/v21.0/...).
const GRAPH_VERSION = /^v\d+\.\d+$/;
const graphUrl = envVar((value, report) => {
  const fallback = 'https://graph.facebook.com';
  if (value === undefined) return fallback;
  const url = parseUrl(value, HTTP);
  const fix = `Set it to the Graph API base URL without a version (default ${fallback}); the version goes in WHATSAPP_GRAPH_API_VERSION.`;
  if (url === undefined) report(`${shown(value)} is not an http(s) URL`, fix);
  else if (url.pathname.split('/').some((segment) => GRAPH_VERSION.test(segment)))
    report(`${shown(value)} includes an API version`, fix);
  return value.trim().replace(/\/+$/, '');
});

/** WhatsApp Web's socket URL: unset for WhatsApp itself; tests point it at a local peer. */
const webSocketUrl = envVar((value, report) => {
  if (value === undefined) return null;
  if (parseUrl(value, ['ws:', 'wss:']) === undefined)
    report(`${shown(value)} is not a ws(s) URL`, 'Unset it (WhatsApp Web itself), or set a ws:// or wss:// URL.');
  return value.trim();
});

const graphApiVersion = envVar((value, report) => {
  if (value === undefined) return 'v21.0';
  if (!GRAPH_VERSION.test(value.trim()))
    report(`${shown(value)} is not a Graph API version`, 'Set it like v21.0 (default v21.0).');
  return value.trim();
});

const corsOrigins = envVar((value, report) =>
  list(value ?? '').flatMap((origin) => {
    const fix =
      'List exact origins separated by commas, scheme and host only, e.g. https://admin.example.com,http://localhost:5173.';
    const url = parseUrl(origin, HTTP);
    if (
      origin === '*' ||
      url === undefined ||
      url.pathname !== '/' ||
      url.search !== '' ||
      url.hash !== '' ||
      url.username !== '' ||
      url.password !== ''
    ) {
      report(`${shown(origin)} is not an exact http(s) origin`, fix);
      return [];
    }
    return [url.origin];
  }),
);

const bodyLimit = envVar((value, report) => {
  if (value === undefined) return '100kb';
  const normalised = value.trim().toLowerCase();
  // eslint-disable-next-line security/detect-unsafe-regex -- anchored, the optional groups start with distinct literals: linear
  if (!/^\d+(\.\d+)?\s*(b|kb|mb|gb)?$/.test(normalised))
    report(`${shown(value)} is not a size`, 'Set it like 100kb, 1mb or a number of bytes (default 100kb).');
  return normalised;
});

const metricsBind = envVar((value, report) => {
  if (value === undefined) return null;
  const fix =
    'Set it to host:port, e.g. 127.0.0.1:9464 or [::1]:9464, or leave it unset to serve /metrics on the main port.';
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:\s[\]]+)):([^:]+)$/.exec(value.trim());
  const port =
    match?.[3] === undefined
      ? undefined
      : parseInteger(match[3], { fallback: 9464, min: 1, max: 65535 }, () => undefined);
  if (match === null || port === undefined) {
    report(`${shown(value)} is not host:port`, fix);
    return null;
  }
  return { host: match[1] ?? match[2] ?? '', port };
});

const lockoutMax = (baseText: string | undefined) =>
  envVar((value, report) => {
    const rule = { fallback: 3600, min: 1, max: 30 * 86400, unit: 'seconds' };
    const max = value === undefined ? rule.fallback : parseInteger(value, rule, report);
    const base =
      baseText === undefined ? 60 : parseInteger(baseText, { fallback: 60, min: 1, max: 86400 }, () => undefined);
    if (max !== undefined && base !== undefined && max < base)
      report('is lower than LOCKOUT_BASE_SECONDS', 'Set it to at least LOCKOUT_BASE_SECONDS.');
    return max ?? rule.fallback;
  });

/** EVENT_STORE must agree with EVENTSTORE_URL, which otherwise decides on its own. */
const eventStoreKind = (eventStoreUrlSet: boolean) =>
  envVar((value, report) => {
    if (value === undefined) return null;
    const kind = EVENT_STORE_KINDS.find((candidate) => candidate === value.trim().toLowerCase());
    if (kind === undefined) {
      report(
        `${shown(value)} is not one of ${EVENT_STORE_KINDS.join(', ')}`,
        `Set it to one of ${EVENT_STORE_KINDS.join(' | ')}, or leave it unset (then EVENTSTORE_URL, else the embedded store, decides).`,
      );
      return null;
    }
    if (kind !== 'eventstoredb' && eventStoreUrlSet)
      report(
        `${kind} conflicts with EVENTSTORE_URL, which selects EventStoreDB`,
        'Unset EVENTSTORE_URL, or set EVENT_STORE=eventstoredb (or leave EVENT_STORE unset).',
      );
    return kind;
  });

const buildSchema = (env: Env) => {
  const lower = (name: string) => env[name]?.trim().toLowerCase();
  const production = lower('NODE_ENV') === 'production';
  const mode = lower('WHATSAPP_MODE');
  const eventStore = lower('EVENT_STORE');
  const seconds = (fallback: number, max: number) => integer({ fallback, min: 1, max, unit: 'seconds' });
  const perMinute = (fallback: number) => integer({ fallback, min: 1, max: 1_000_000, unit: 'requests per minute' });
  return z.object({
    NODE_ENV: oneOf(NODE_ENVS, 'development'),
    PORT: integer({ fallback: 8003, min: 1, max: 65535 }),
    HOST: text('0.0.0.0'),
    DATA_DIR: text('./data'),
    LOG_LEVEL: oneOf(LOG_LEVELS, 'info'),
    TRUST_PROXY: boolean(false),
    JWT_SECRET: jwtSecret,
    JWT_ISSUER: text('chatbot'),
    JWT_AUDIENCE: text('chatbot-api'),
    ACCESS_TOKEN_TTL_SECONDS: seconds(900, 86400),
    REFRESH_TOKEN_TTL_SECONDS: seconds(1209600, 366 * 86400),
    WS_TOKEN_TTL_SECONDS: seconds(60, 3600),
    ADMIN_USERNAME: text('admin'),
    ADMIN_PASSWORD: adminPassword(production),
    WHATSAPP_MODE: oneOf(WHATSAPP_MODES, 'web'),
    WHATSAPP_APP_SECRET: secretRequiredWhen(
      mode === 'cloud' || mode === 'both' ? `WHATSAPP_MODE=${mode}` : null,
      'Copy the App Secret of your Meta app (App settings > Basic), or set WHATSAPP_MODE=web.',
    ),
    WHATSAPP_VERIFY_TOKEN: optionalText(),
    WHATSAPP_GRAPH_URL: graphUrl,
    WHATSAPP_GRAPH_API_VERSION: graphApiVersion,
    // The default Cloud API number needs both halves: an id without a token (or the reverse) cannot send.
    WHATSAPP_PHONE_NUMBER_ID: secretRequiredWhen(
      env.WHATSAPP_ACCESS_TOKEN !== undefined ? 'WHATSAPP_ACCESS_TOKEN is set' : null,
      'Copy the Phone number ID from WhatsApp > API Setup in your Meta app, or unset WHATSAPP_ACCESS_TOKEN.',
    ),
    WHATSAPP_ACCESS_TOKEN: secretRequiredWhen(
      env.WHATSAPP_PHONE_NUMBER_ID !== undefined ? 'WHATSAPP_PHONE_NUMBER_ID is set' : null,
      'Create a permanent token for a system user with the whatsapp_business_messaging permission, or unset WHATSAPP_PHONE_NUMBER_ID.',
    ),
    WHATSAPP_SIMULATOR: boolean(true),
    WHATSAPP_SEND_CONCURRENCY: integer({ fallback: 8, min: 1, max: 256 }),
    WHATSAPP_SEND_MAX_ATTEMPTS: integer({ fallback: 5, min: 1, max: 100 }),
    WHATSAPP_RETRY_BASE_MS: integer({ fallback: 1000, min: 1, max: 3_600_000 }),
    WHATSAPP_NUMBER_LEASE_SECONDS: seconds(10, 3600),
    WHATSAPP_SEND_CLAIM_SECONDS: seconds(30, 3600),
    WHATSAPP_WEB_URL: webSocketUrl,
    WHATSAPP_WEB_NUMBER: boolean(false),
    WHATSAPP_WEB_QR_MAX: integer({ fallback: 5, min: 1, max: 20 }),
    EVENT_STORE: eventStoreKind(env.EVENTSTORE_URL !== undefined),
    EVENTSTORE_URL: eventStoreUrl(eventStore === 'eventstoredb' ? 'EVENT_STORE=eventstoredb' : null),
    DATABASE_URL: connectionUrl(
      ['postgres:', 'postgresql:'],
      'postgres://user:password@postgres:5432/chatbot',
      eventStore === 'postgres' ? 'EVENT_STORE=postgres' : null,
    ),
    REDIS_URL: connectionUrl(['redis:', 'rediss:'], 'redis://redis:6379', null),
    REDIS_PASSWORD: optionalText(),
    CORS_ORIGINS: corsOrigins,
    FERNET_KEYS: fernetKeys(production),
    // unset: message content is kept; N: content of days older than N days is crypto-shredded by the scheduler
    MESSAGE_RETENTION_DAYS: envVar((value, report): number | null => {
      if (value === undefined) return null;
      const trimmed = value.trim();
      const days = /^\d{1,5}$/.test(trimmed) ? Number(trimmed) : Number.NaN;
      if (days >= 1 && days <= 36_500) return days;
      report(
        `${shown(value)} is not a whole number of days from 1 to 36500`,
        'Set it to the number of days message content is kept (e.g. 365), or leave it unset to keep it.',
      );
      return null;
    }),
    // liveness (interfaces/process/runtime.ts): every process beats this often and watches the others
    PROCESS_HEARTBEAT_MS: integer({ fallback: 5_000, min: 50, max: 600_000, unit: 'ms' }),
    // an instance that missed this many beats in a row is recorded ProcessCrashed
    PROCESS_CRASH_MISSED_HEARTBEATS: integer({ fallback: 6, min: 2, max: 1_000 }),
    // a runtime control request (start/stop/logout of a number) nobody obeyed within this is marked timed out
    RUNTIME_REQUEST_TIMEOUT_MS: integer({ fallback: 30_000, min: 100, max: 3_600_000, unit: 'ms' }),
    LOGIN_MAX_FAILURES: integer({ fallback: 5, min: 1, max: 1000 }),
    LOGIN_ACCOUNT_MAX_FAILURES: integer({ fallback: 50, min: 1, max: 100000 }),
    LOGIN_FAILURE_WINDOW_SECONDS: seconds(900, 7 * 86400),
    LOCKOUT_BASE_SECONDS: seconds(60, 86400),
    LOCKOUT_MAX_SECONDS: lockoutMax(env.LOCKOUT_BASE_SECONDS),
    LOCKOUT_MULTIPLIER: integer({ fallback: 2, min: 1, max: 100 }),
    RATE_LIMIT_LOGIN_PER_MINUTE: perMinute(20),
    RATE_LIMIT_API_PER_MINUTE: perMinute(600),
    BODY_LIMIT: bodyLimit,
    METRICS_TOKEN: optionalText(),
    METRICS_BIND: metricsBind,
    OPENAI_API_KEY: optionalText(),
    OPENAI_BASE_URL: optionalText(),
    OPENAI_MODEL: optionalText(),
    LLM_PROVIDERS: llmProviders(env),
  });
};

type Parsed = z.output<ReturnType<typeof buildSchema>>;

const withPassword = (url: string, password: string | null): RedisConfig => {
  const parsed = new URL(url);
  if (parsed.password !== '') return { url, password: decodeURIComponent(parsed.password) };
  // eslint-disable-next-line security/detect-possible-timing-attacks -- compares with the empty string, not a secret
  if (password === null) return { url, password: null };
  parsed.password = encodeURIComponent(password);
  return { url: parsed.toString(), password };
};

const toConfig = (e: Parsed) => {
  const eventStore: EventStoreConfig =
    e.EVENTSTORE_URL !== null
      ? { kind: 'eventstoredb', url: e.EVENTSTORE_URL }
      : (e.EVENT_STORE === 'postgres' || e.EVENT_STORE === null) && e.DATABASE_URL !== null
        ? { kind: 'postgres', url: e.DATABASE_URL }
        : { kind: 'pglite', dataDir: e.DATA_DIR };
  const database: DatabaseConfig =
    e.DATABASE_URL !== null ? { kind: 'postgres', url: e.DATABASE_URL } : { kind: 'pglite', dataDir: e.DATA_DIR };
  return {
    nodeEnv: e.NODE_ENV,
    isProduction: e.NODE_ENV === 'production',
    dataDir: e.DATA_DIR,
    logLevel: e.LOG_LEVEL,
    http: {
      host: e.HOST,
      port: e.PORT,
      bodyLimit: e.BODY_LIMIT,
      corsOrigins: e.CORS_ORIGINS,
      trustProxy: e.TRUST_PROXY,
    },
    jwt: {
      secret: e.JWT_SECRET,
      issuer: e.JWT_ISSUER,
      audience: e.JWT_AUDIENCE,
      accessTokenTtlSeconds: e.ACCESS_TOKEN_TTL_SECONDS,
      refreshTokenTtlSeconds: e.REFRESH_TOKEN_TTL_SECONDS,
      wsTokenTtlSeconds: e.WS_TOKEN_TTL_SECONDS,
    },
    admin: { username: e.ADMIN_USERNAME, password: e.ADMIN_PASSWORD },
    whatsapp: {
      mode: e.WHATSAPP_MODE,
      appSecret: e.WHATSAPP_APP_SECRET,
      verifyToken: e.WHATSAPP_VERIFY_TOKEN,
      graphUrl: e.WHATSAPP_GRAPH_URL,
      graphApiVersion: e.WHATSAPP_GRAPH_API_VERSION,
      phoneNumberId: e.WHATSAPP_PHONE_NUMBER_ID,
      accessToken: e.WHATSAPP_ACCESS_TOKEN,
      simulator: e.WHATSAPP_SIMULATOR,
      sendConcurrency: e.WHATSAPP_SEND_CONCURRENCY,
      sendMaxAttempts: e.WHATSAPP_SEND_MAX_ATTEMPTS,
      retryBaseMs: e.WHATSAPP_RETRY_BASE_MS,
      numberLeaseSeconds: e.WHATSAPP_NUMBER_LEASE_SECONDS,
      sendClaimSeconds: e.WHATSAPP_SEND_CLAIM_SECONDS,
      web: {
        socketUrl: e.WHATSAPP_WEB_URL,
        defaultNumber: e.WHATSAPP_WEB_NUMBER,
        maxQrAttempts: e.WHATSAPP_WEB_QR_MAX,
      },
    },
    eventStore,
    database,
    redis: e.REDIS_URL === null ? null : withPassword(e.REDIS_URL, e.REDIS_PASSWORD),
    fernetKeys: e.FERNET_KEYS,
    privacy: { messageRetentionDays: e.MESSAGE_RETENTION_DAYS },
    processes: {
      heartbeatMs: e.PROCESS_HEARTBEAT_MS,
      crashMissedHeartbeats: e.PROCESS_CRASH_MISSED_HEARTBEATS,
      /** silent for longer than this is crashed: the missed beats times the interval */
      crashAfterMs: e.PROCESS_HEARTBEAT_MS * e.PROCESS_CRASH_MISSED_HEARTBEATS,
      runtimeRequestTimeoutMs: e.RUNTIME_REQUEST_TIMEOUT_MS,
    },
    login: {
      maxFailures: e.LOGIN_MAX_FAILURES,
      accountMaxFailures: Math.max(e.LOGIN_ACCOUNT_MAX_FAILURES, e.LOGIN_MAX_FAILURES),
      failureWindowSeconds: e.LOGIN_FAILURE_WINDOW_SECONDS,
      lockoutBaseSeconds: e.LOCKOUT_BASE_SECONDS,
      lockoutMaxSeconds: e.LOCKOUT_MAX_SECONDS,
      lockoutMultiplier: e.LOCKOUT_MULTIPLIER,
    },
    rateLimits: { loginPerMinute: e.RATE_LIMIT_LOGIN_PER_MINUTE, apiPerMinute: e.RATE_LIMIT_API_PER_MINUTE },
    metrics: { token: e.METRICS_TOKEN, bind: e.METRICS_BIND },
    llm: {
      openaiApiKey: e.OPENAI_API_KEY,
      openaiBaseUrl: e.OPENAI_BASE_URL,
      openaiModel: e.OPENAI_MODEL,
      /** the chain, primary first (LLM_PROVIDERS, else OPENAI_*); empty: no LLM, the rules answer */
      providers: e.LLM_PROVIDERS,
    },
  };
};

type DeepReadonly<T> = T extends (infer U)[]
  ? readonly DeepReadonly<U>[]
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T;
export type Config = DeepReadonly<ReturnType<typeof toConfig>>;

const issueOf = (issue: z.core.$ZodIssue): ConfigIssue => {
  const fix =
    issue.code === 'custom' && typeof issue.params?.fix === 'string'
      ? issue.params.fix
      : 'See the configuration reference in docs/.';
  return { variable: issue.path.map(String).join('.') || '(environment)', problem: issue.message, fix };
};

/** Validates the environment; returns a deeply frozen Config or throws ConfigError listing every problem. */
export const loadConfig = (env: Env): Config => {
  const normalised = normaliseEnv(env);
  const result = buildSchema(normalised).safeParse(normalised);
  if (!result.success) throw new ConfigError(result.error.issues.map(issueOf));
  const config = toConfig(result.data);
  // A stray console.log(config) or JSON.stringify(config) shows the redacted summary, never the secrets.
  const redacted = { enumerable: false, value: () => redactedConfigSummary(config) };
  Object.defineProperties(config, { toJSON: redacted, [inspect.custom]: redacted });
  return deepFreeze(config);
};

export { redactedConfigSummary };
