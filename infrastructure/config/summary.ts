import type { Config } from './config.js';

type SummaryValue = string | number | boolean | readonly string[];

const presence = (value: string | null | readonly string[]): 'set' | 'not set' =>
  value === null || value.length === 0 ? 'not set' : 'set';

/** scheme://host:port/path only: user info and query strings can carry credentials. */
const withoutCredentials = (url: string): string => {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname === '/' ? '' : parsed.pathname}`;
  } catch {
    // A cluster string (esdb://u:p@h1:2113,h2:2113?tls=false) is no URL: keep the scheme and hosts only.
    // eslint-disable-next-line security/detect-unsafe-regex -- anchored, groups separated by literals (://, @): linear
    const cluster = /^([a-z][a-z0-9+.-]*:\/\/)(?:[^@/?#]*@)?([^/?#@]+)/i.exec(url.trim());
    return cluster ? `${cluster[1]}${cluster[2]}` : 'set';
  }
};

/**
 * The configuration for the startup log line, keyed by environment variable. Secrets appear only as
 * "set" / "not set" (the logger's redaction leaves those two words alone), connection URLs without
 * user info or query string.
 */
export const redactedConfigSummary = (config: Config): Record<string, SummaryValue> => ({
  NODE_ENV: config.nodeEnv,
  HOST: config.http.host,
  PORT: config.http.port,
  DATA_DIR: config.dataDir,
  LOG_LEVEL: config.logLevel,
  TRUST_PROXY: config.http.trustProxy,
  BODY_LIMIT: config.http.bodyLimit,
  CORS_ORIGINS: config.http.corsOrigins,
  eventStore:
    config.eventStore.kind === 'pglite'
      ? `pglite (${config.eventStore.dataDir})`
      : `${config.eventStore.kind} (${withoutCredentials(config.eventStore.url)})`,
  database:
    config.database.kind === 'pglite'
      ? `pglite (${config.database.dataDir})`
      : `postgres (${withoutCredentials(config.database.url)})`,
  REDIS_URL: config.redis === null ? 'not set' : withoutCredentials(config.redis.url),
  REDIS_PASSWORD: presence(config.redis?.password ?? null),
  JWT_SECRET: presence(config.jwt.secret),
  JWT_ISSUER: config.jwt.issuer,
  JWT_AUDIENCE: config.jwt.audience,
  ACCESS_TOKEN_TTL_SECONDS: config.jwt.accessTokenTtlSeconds,
  REFRESH_TOKEN_TTL_SECONDS: config.jwt.refreshTokenTtlSeconds,
  WS_TOKEN_TTL_SECONDS: config.jwt.wsTokenTtlSeconds,
  ADMIN_USERNAME: config.admin.username,
  ADMIN_PASSWORD: presence(config.admin.password),
  WHATSAPP_MODE: config.whatsapp.mode,
  WHATSAPP_APP_SECRET: presence(config.whatsapp.appSecret),
  WHATSAPP_VERIFY_TOKEN: presence(config.whatsapp.verifyToken),
  WHATSAPP_GRAPH_URL: config.whatsapp.graphUrl,
  WHATSAPP_GRAPH_API_VERSION: config.whatsapp.graphApiVersion,
  WHATSAPP_PHONE_NUMBER_ID: presence(config.whatsapp.phoneNumberId),
  WHATSAPP_ACCESS_TOKEN: presence(config.whatsapp.accessToken),
  WHATSAPP_SIMULATOR: config.whatsapp.simulator,
  WHATSAPP_SEND_CONCURRENCY: config.whatsapp.sendConcurrency,
  WHATSAPP_SEND_MAX_ATTEMPTS: config.whatsapp.sendMaxAttempts,
  WHATSAPP_RETRY_BASE_MS: config.whatsapp.retryBaseMs,
  WHATSAPP_NUMBER_LEASE_SECONDS: config.whatsapp.numberLeaseSeconds,
  WHATSAPP_SEND_CLAIM_SECONDS: config.whatsapp.sendClaimSeconds,
  WHATSAPP_WEB_URL:
    config.whatsapp.web.socketUrl === null ? 'not set' : withoutCredentials(config.whatsapp.web.socketUrl),
  WHATSAPP_WEB_NUMBER: config.whatsapp.web.defaultNumber,
  WHATSAPP_WEB_QR_MAX: config.whatsapp.web.maxQrAttempts,
  FERNET_KEYS: presence(config.fernetKeys),
  fernetKeyCount: config.fernetKeys.length,
  LOGIN_MAX_FAILURES: config.login.maxFailures,
  LOGIN_FAILURE_WINDOW_SECONDS: config.login.failureWindowSeconds,
  LOCKOUT_BASE_SECONDS: config.login.lockoutBaseSeconds,
  LOCKOUT_MAX_SECONDS: config.login.lockoutMaxSeconds,
  LOCKOUT_MULTIPLIER: config.login.lockoutMultiplier,
  RATE_LIMIT_LOGIN_PER_MINUTE: config.rateLimits.loginPerMinute,
  RATE_LIMIT_API_PER_MINUTE: config.rateLimits.apiPerMinute,
  PROCESS_HEARTBEAT_MS: config.processes.heartbeatMs,
  PROCESS_CRASH_MISSED_HEARTBEATS: config.processes.crashMissedHeartbeats,
  RUNTIME_REQUEST_TIMEOUT_MS: config.processes.runtimeRequestTimeoutMs,
  METRICS_TOKEN: presence(config.metrics.token),
  METRICS_BIND:
    config.metrics.bind === null
      ? 'not set'
      : `${config.metrics.bind.host.includes(':') ? `[${config.metrics.bind.host}]` : config.metrics.bind.host}:${config.metrics.bind.port}`,
  OPENAI_API_KEY: presence(config.llm.openaiApiKey),
  OPENAI_BASE_URL: config.llm.openaiBaseUrl === null ? 'not set' : withoutCredentials(config.llm.openaiBaseUrl),
  OPENAI_MODEL: config.llm.openaiModel ?? 'not set',
  LLM_PROVIDERS: config.llm.providers.map((p) => `${p.name} (${withoutCredentials(p.baseUrl)} ${p.model})`),
});
