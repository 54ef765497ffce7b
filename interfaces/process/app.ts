import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Redis } from 'ioredis';
import { ensureAdminAccount } from '#application/identity/accounts.js';
import { createSessionAllowlist } from '#application/identity/allowlist.js';
import { coalescedSessionReads } from '#application/identity/coalescedSessions.js';
import type { IdentityDeps } from '#application/identity/login.js';
import type { Runtime } from '#application/shared/runtime.js';
import { validateLockoutPolicy } from '#domain/identity/lockout.js';
import type { Config } from '#infrastructure/config/config.js';
import { createTokenService } from '#infrastructure/identity/jwt.js';
import { hashPassword, verifyAgainstDummy, verifyPassword } from '#infrastructure/identity/passwords.js';
import { optionalSecretCipher } from '#infrastructure/secrets/secretCipher.js';
import type { Logger } from '#infrastructure/logging/logger.js';
import { newCorrelationId } from '#infrastructure/logging/context.js';
import { migrateLatest } from '#infrastructure/sql/migrate.js';
import { createHttpApp } from '#interfaces/http/app.js';
import { auditRoutes } from '#interfaces/http/audit/auditRoutes.js';
import { eventRoutes } from '#interfaces/http/events/eventRoutes.js';
import { authMeRoutes, authRoutes } from '#interfaces/http/identity/authRoutes.js';
import { usersRoutes } from '#interfaces/http/identity/usersRoutes.js';
import { secretsRoutes } from '#interfaces/http/secrets/secretsRoutes.js';
import { openApiRoutes } from '#interfaces/http/openapi.js';
import { webRoutes } from '#interfaces/web/webRoutes.js';
import { attachMetricsSocket, type MetricsSocket } from '#interfaces/ws/metricsSocket.js';
import { createFanout } from '#infrastructure/metrics/fanout.js';
import { processInstance } from './lifecycle.js';
import { healthRoutes, type HealthCheck } from '#interfaces/http/shared/health.js';
import { createRateLimiting } from '#interfaces/http/shared/rateLimit.js';
import { auditLogReader } from '#projections/audit/auditLog.js';
import { accountsReader, listAccounts } from '#projections/identity/accounts.js';
import { listLoginLocks } from '#projections/identity/loginLocks.js';
import { sessionsReader } from '#projections/identity/sessions.js';
import { listSecretMetadata } from '#projections/secrets/secrets.js';
import { allProjections } from '#projections/registry.js';
import { projectionStatus, startProjections, type ProjectionRunner } from '#projections/runner.js';
import { createProjectionAdmin } from '#projections/shared/rebuildService.js';
import { projectionRoutes } from '#interfaces/http/projections/projectionRoutes.js';
import { createPrometheus } from '#infrastructure/metrics/prometheus.js';
import { metricsRoutes, startMetricsServer } from '#interfaces/http/metrics/metricsRoutes.js';
import { createLiveFeed } from '#projections/metrics/liveFeed.js';
import { readMetricsState } from '#projections/metrics/metrics.js';
import { openInfrastructure, type Infrastructure } from './infrastructure.js';
import type { AutoReplier } from '#application/messaging/autoReply.js';
import { messagingRoutes } from '#interfaces/http/messaging/messagingRoutes.js';
import { numbersRoutes } from '#interfaces/http/messaging/numbersRoutes.js';
import { scheduledRoutes } from '#interfaces/http/scheduling/scheduledRoutes.js';
import { startMessagingApp, type MessagingApp } from './messaging.js';
import { cloudWebhook } from '#interfaces/http/messaging/cloudWiring.js';
import { sqlMessagingQueries } from '#infrastructure/messaging/sqlQueue.js';
import { systemRuntime } from '#infrastructure/shared/runtime.js';
import { createLlm, type Llm } from './llm.js';
import type { ProcessName, ProcessRole } from '#domain/runtime/events.js';
import { sqlProcessHeartbeats } from '#infrastructure/runtime/sqlHeartbeats.js';
import { runtimeRoutes } from '#interfaces/http/runtime/runtimeRoutes.js';
import { processSummary } from '#interfaces/http/runtime/processes.js';
import { monitorTimings, startProcessReporting, type ProcessMonitorTimings } from './runtime.js';
import { rulesThenLlm } from '#application/llm/composite.js';
import { createRulesResponder } from '#application/messaging/rules.js';
import { loadRules } from '#infrastructure/messaging/rulesFile.js';
import { numberIdsFromStore } from '#application/privacy/privacy.js';
import { privacyRoutes } from '#interfaces/http/privacy/privacyRoutes.js';

export type AppProcess = {
  server: http.Server;
  port: number;
  infra: Infrastructure;
  identity: IdentityDeps;
  projections: ProjectionRunner;
  redis: Redis | null;
  feed: ReturnType<typeof createLiveFeed>;
  socket: MetricsSocket;
  liveFeed: ReturnType<typeof createFanout>;
  messaging: MessagingApp;
  /** the LLM chain and its auto-replier (null without providers), for the messaging responder */
  llm: Llm;
  close(): Promise<void>;
};

export type StartAppOptions = {
  config: Config;
  logger: Logger;
  /** overrides config.http.port (tests pass 0) */
  port?: number;
  /** Redis key prefix for rate limits (tests isolate themselves with it) */
  redisKeyPrefix?: string;
  /** events per transaction of the API's blue/green rebuilds (default 5,000; tests make them slow to watch them) */
  projectionRebuildBatchSize?: number;
  /** time and ids for everything the app writes (systemRuntime; tests may pass a manual one) */
  runtime: Runtime;
  /** the bot (default: the rules responder); the LLM responder plugs in here */
  replier?: AutoReplier;
  /** liveness: the process names this process beats for (embedded: all three; default app) and timings */
  process?: { names?: readonly ProcessName[]; role?: ProcessRole; timings?: Partial<ProcessMonitorTimings> };
};

/** ioredis is loaded only when REDIS_URL is set (the embedded product runs without Redis). */
export const connectRedis = async (config: Config, logger: Logger, name: string): Promise<Redis | null> => {
  if (!config.redis) return null;
  const { Redis } = await import('ioredis');
  const redis = new Redis(config.redis.url, {
    connectionName: name,
    // Fail fast while Redis is down instead of queueing commands: login fails closed, reads go on.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2_000,
    commandTimeout: 2_000,
    retryStrategy: (times) => Math.min(times * 200, 5_000),
  });
  let lastWarning = 0;
  redis.on('error', (error: Error) => {
    if (Date.now() - lastWarning > 10_000) {
      lastWarning = Date.now();
      logger.warn('redis unavailable', { error: error.message });
    }
  });
  return redis;
};

/** The `app` process: HTTP API on PORT, projections, identity. Everything it needs is built here. */
export const startApp = async (options: StartAppOptions): Promise<AppProcess> => {
  const { config, logger, runtime } = options;
  const infra = await openInfrastructure(config, { applicationName: 'chatbot-app' });
  const closers: Array<() => Promise<void>> = [() => infra.close()];
  const closeAll = async () => {
    for (const close of closers.reverse())
      await close().catch((error: unknown) => logger.error('shutdown step failed', { error }));
  };
  try {
    await migrateLatest(infra.db);
    // Live metrics: the feed starts from the metrics projection's stored state and folds what came
    // after it before the app serves anything.
    const projectionList = allProjections();
    const feed = createLiveFeed({
      store: infra.store,
      clock: runtime.clock,
      storedState: () => readMetricsState(infra.db.knex),
      projectionStatus: () => projectionStatus(infra.db, infra.store, projectionList, { lagEventsCap: 1_000 }),
      expectedProcesses: ['app', 'worker-web', 'scheduler'],
      logger,
    });
    await feed.start();
    closers.push(() => feed.stop());
    const prometheus = createPrometheus({ feed });
    // Every append of this process goes through the instrumented store (append latency histogram).
    const store = prometheus.instrumentStore(infra.store);

    const redis = await connectRedis(config, logger, 'chatbot-app');
    if (redis) closers.push(() => Promise.resolve(redis.disconnect()));

    const rateLimiting = createRateLimiting({
      redis,
      keyPrefix: options.redisKeyPrefix ?? 'chatbot:',
      loginPerMinute: config.rateLimits.loginPerMinute,
      apiPerMinute: config.rateLimits.apiPerMinute,
      store,
      log: logger,
      runtime,
    });

    const tokens = createTokenService({
      secret: config.jwt.secret,
      issuer: config.jwt.issuer,
      audience: config.jwt.audience,
      accessTtlSeconds: config.jwt.accessTokenTtlSeconds,
      refreshTtlSeconds: config.jwt.refreshTokenTtlSeconds,
      wsTtlSeconds: config.jwt.wsTokenTtlSeconds,
      now: () => runtime.clock().getTime(),
      newId: runtime.newId,
    });
    const identity: IdentityDeps = {
      store,
      passwords: { hashPassword, verifyPassword, verifyAgainstDummy },
      tokens,
      policy: validateLockoutPolicy({
        maxFailures: config.login.maxFailures,
        accountMaxFailures: config.login.accountMaxFailures,
        failureWindowSeconds: config.login.failureWindowSeconds,
        baseLockSeconds: config.login.lockoutBaseSeconds,
        maxLockSeconds: config.login.lockoutMaxSeconds,
        multiplier: config.login.lockoutMultiplier,
      }),
      sessions: createSessionAllowlist({
        readModel: coalescedSessionReads(sessionsReader(infra.db.knex)),
        store,
        clock: runtime.clock,
      }),
      accounts: accountsReader(infra.db.knex),
      log: logger,
      runtime,
    };
    await identity.sessions.watch();
    closers.push(() => identity.sessions.stop());
    const admin = await ensureAdminAccount(identity, config.admin, {
      correlationId: newCorrelationId(),
      actor: 'system',
    });
    if (admin === 'created') logger.info('admin account created', { username: config.admin.username });

    // LLM: the provider chain and the auto-replier messaging calls; its routes below.
    const llm = createLlm({
      providers: config.llm.providers,
      store,
      knex: infra.db.knex,
      cipher: optionalSecretCipher(config.fernetKeys),
      runtime: systemRuntime,
      log: logger,
    });

    // The bot: the rules alone without an LLM provider (offline default); with providers, the rules first
    // for a matching rule when the setting says so, and the LLM chain for the rest.
    const replier =
      options.replier ??
      rulesThenLlm({ rules: createRulesResponder(loadRules(config.dataDir)), llm: llm.replier, store });
    logger.info(
      llm.replier === null
        ? 'responder: the rules answer (no LLM provider configured)'
        : 'responder: the LLM provider chain answers (rules first for a matching rule when the setting says so)',
      { providers: config.llm.providers.map((p) => p.name) },
    );
    const messaging = await startMessagingApp({
      config,
      logger,
      store,
      db: infra.db,
      runtime,
      replier,
    });
    closers.push(() => messaging.stop());

    const projections = startProjections({
      db: infra.db,
      store: infra.store,
      projections: projectionList,
      logger,
    });
    closers.push(() => projections.stop());
    // Blue/green rebuilds asked for through the API run here, in the background.
    const projectionAdmin = createProjectionAdmin({
      db: infra.db,
      store: infra.store,
      projections: projectionList,
      logger,
      batchSize: options.projectionRebuildBatchSize,
    });
    closers.push(() => projectionAdmin.stop());

    // Liveness: this process beats, watches the others (ProcessCrashed) and times out unanswered runtime requests.
    const timings = monitorTimings(config, options.process?.timings);
    const heartbeats = sqlProcessHeartbeats(infra.db.knex);
    const monitor = startProcessReporting({
      store,
      db: infra.db,
      runtime,
      logger,
      names: options.process?.names ?? ['app'],
      role: options.process?.role ?? 'app',
      config,
      timings,
    });
    closers.push(() => monitor.stop());

    const checks: HealthCheck[] = [
      { name: 'eventStore', check: () => infra.store.ping() },
      { name: 'database', check: async () => void (await infra.db.knex.raw('select 1')) },
      ...(redis ? [{ name: 'redis', check: async () => void (await redis.ping()) }] : []),
    ];
    const app = createHttpApp({
      logger,
      corsOrigins: config.http.corsOrigins,
      bodyLimit: config.http.bodyLimit,
      trustProxy: config.http.trustProxy,
      // GET /api/auth/me: the console's most frequent call, early in the chain (see createHttpApp).
      hotRouters: [authMeRoutes({ identity })],
      routers: [
        webRoutes(),
        healthRoutes(checks, [
          { name: 'processes', read: () => processSummary(heartbeats, runtime.clock(), timings.crashAfterMs) },
        ]),
        openApiRoutes(),
        metricsRoutes({ registry: prometheus.registry, token: config.metrics.token }),
        authRoutes({ identity, loginLimiter: rateLimiting.loginLimiter }),
        usersRoutes({
          identity,
          listAccounts: () => listAccounts(infra.db.knex),
          listLocks: () => listLoginLocks(infra.db.knex, runtime.clock()),
        }),
        auditRoutes({ identity, auditLog: auditLogReader(infra.db.knex), clock: runtime.clock }),
        eventRoutes({ identity, store: infra.store }),
        projectionRoutes({ auth: identity, admin: projectionAdmin, store, runtime }),
        secretsRoutes({
          auth: identity,
          secrets: { store, cipher: optionalSecretCipher(config.fernetKeys), log: logger, runtime },
          listSecrets: () => listSecretMetadata(infra.db.knex),
        }),
        numbersRoutes({
          auth: identity,
          knex: infra.db.knex,
          numbers: messaging.numbers,
          maxQrAttempts: config.whatsapp.web.maxQrAttempts,
        }),
        messagingRoutes({
          auth: identity,
          knex: infra.db.knex,
          runtime,
          send: messaging.send,
          inbound: messaging.inbound,
          conversations: { store, runtime, log: logger },
          simulator: config.whatsapp.simulator,
        }),
        llm.routes(identity),
        scheduledRoutes({
          auth: identity,
          knex: infra.db.knex,
          scheduling: { store, runtime, log: logger, defaultNumberId: messaging.defaultNumberId },
        }),
        runtimeRoutes({
          auth: identity,
          knex: infra.db.knex,
          runtime,
          control: { store, runtime },
          heartbeats,
          crashAfterMs: timings.crashAfterMs,
        }),
        privacyRoutes({
          auth: identity,
          privacy: { store, keys: infra.contactKeys, runtime, numberIds: () => numberIdsFromStore(store) },
        }),
      ],
      // Cloud API webhooks read their raw body (signature), so they go before the JSON parser.
      rawBodyRouters: [
        cloudWebhook({
          mode: config.whatsapp.mode,
          appSecret: config.whatsapp.appSecret,
          verifyToken: config.whatsapp.verifyToken,
          sink: messaging.sink,
          queries: sqlMessagingQueries(infra.db.knex),
          log: logger,
        }),
      ],
      apiLimiter: rateLimiting.apiLimiter,
      onRequestFinished: prometheus.observeHttp,
    });
    const server = http.createServer(app);
    // Live metrics over WebSocket: one elected process computes, Redis pub/sub fans out to all.
    // Attached before listen, so no upgrade arrives unhandled.
    const live = createFanout({
      redis,
      local: feed,
      channel: `${options.redisKeyPrefix ?? 'chatbot:'}live`,
      publish: true,
      logger,
      runtime,
      instanceId: `${processInstance()}:${runtime.newId().slice(0, 8)}`,
    });
    const socket: MetricsSocket = attachMetricsSocket(server, {
      feed: live,
      identity,
      allowedOrigins: config.http.corsOrigins,
      logger,
      trustProxy: config.http.trustProxy,
    });
    closers.push(() => live.close());
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? config.http.port, config.http.host, () => resolve());
    });
    const port = (server.address() as AddressInfo).port;
    closers.push(
      () =>
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        }),
    );
    // Closed before the HTTP server (closers run in reverse): clients are told, then the socket goes.
    closers.push(() => socket.close());
    if (config.metrics.bind) {
      const metricsServer = await startMetricsServer(config.metrics.bind, prometheus.registry);
      closers.push(() => metricsServer.close());
    }
    logger.info('app listening', {
      port,
      host: config.http.host,
      eventStore: infra.store.kind,
      database: infra.db.kind,
      redis: redis !== null,
    });
    return {
      server,
      port,
      infra,
      identity,
      projections,
      redis,
      feed,
      socket,
      liveFeed: live,
      messaging,
      llm,
      close: closeAll,
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
};
