import { ConfigError, loadConfig, redactedConfigSummary, type Config } from '#infrastructure/config/config.js';
import { prepareEnvironment } from '#infrastructure/config/dotenv.js';
import { createLogger, type Logger } from '#infrastructure/logging/logger.js';
import { migrateLatest } from '#infrastructure/sql/migrate.js';
import { startApp } from './app.js';
import { openInfrastructure } from './infrastructure.js';
import { systemRuntime } from '#infrastructure/shared/runtime.js';
import { PROCESS_NAMES, type ProcessName, type ProcessRole } from '#domain/runtime/events.js';
import { recordProcessEvent } from './lifecycle.js';
import { startScheduler } from './scheduler.js';
import { retentionJobs } from './retention.js';
import { startMessagingWorker } from './messaging.js';
import { startProcessReporting } from './runtime.js';

type Role = ProcessRole;
const ROLES: readonly Role[] = ['embedded', ...PROCESS_NAMES];
const runtime = systemRuntime;

const loadOrExit = (): Config => {
  try {
    // prepareEnvironment refuses too (a missing .env over existing data): the same one clear message.
    const env = prepareEnvironment({ cwd: process.cwd(), env: process.env, print: (line) => console.log(line) });
    return loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(1);
    }
    throw error;
  }
};

/** Runs until SIGTERM/SIGINT, then closes everything in reverse order. */
const run = async (role: Role, config: Config, logger: Logger): Promise<() => Promise<void>> => {
  const closers: Array<() => Promise<void>> = [];
  const names: ProcessName[] = role === 'embedded' ? [...PROCESS_NAMES] : [role];
  if (names.includes('app')) {
    const app = await startApp({ config, logger, runtime, process: { names, role } });
    closers.push(() => app.close());
    const others = names.filter((n) => n !== 'app');
    for (const name of ['app' as const, ...others])
      await recordProcessEvent(app.infra.store, runtime, 'ProcessStarted', { name, role });
    if (others.includes('scheduler')) {
      const scheduler = startScheduler({
        store: app.infra.store,
        db: app.infra.db,
        logger,
        runtime,
        jobs: retentionJobs(config, { ...app.infra, runtime, logger }),
      });
      closers.push(() => scheduler.stop());
    }
    if (others.includes('worker-web')) {
      const worker = startMessagingWorker({
        config,
        logger,
        store: app.infra.store,
        db: app.infra.db,
        runtime: systemRuntime,
      });
      closers.push(() => worker.stop());
    }
    closers.push(async () => {
      for (const name of names) await recordProcessEvent(app.infra.store, runtime, 'ProcessStopped', { name, role });
    });
  } else {
    const infra = await openInfrastructure(config, { applicationName: `chatbot-${role}` });
    closers.push(() => infra.close());
    await migrateLatest(infra.db);
    await recordProcessEvent(infra.store, runtime, 'ProcessStarted', { name: names[0]!, role });
    const monitor = startProcessReporting({ store: infra.store, db: infra.db, runtime, logger, names, role, config });
    closers.push(() => monitor.stop());
    if (role === 'scheduler') {
      const scheduler = startScheduler({
        store: infra.store,
        db: infra.db,
        logger,
        runtime,
        jobs: retentionJobs(config, { ...infra, runtime, logger }),
      });
      closers.push(() => scheduler.stop());
    }
    if (role === 'worker-web') {
      const worker = startMessagingWorker({ config, logger, store: infra.store, db: infra.db, runtime: systemRuntime });
      closers.push(() => worker.stop());
    }
    closers.push(() => recordProcessEvent(infra.store, runtime, 'ProcessStopped', { name: names[0]!, role }));
  }
  return async () => {
    for (const close of closers.reverse())
      await close().catch((error: unknown) => logger.error('shutdown step failed', { error }));
  };
};

const main = async () => {
  const role = (process.argv[2] ?? 'embedded') as Role;
  if (!ROLES.includes(role)) {
    console.error(`unknown process role "${role}"; use one of: ${ROLES.join(', ')}`);
    process.exit(2);
  }
  const config = loadOrExit();
  const logger = createLogger({ level: config.logLevel, service: role === 'embedded' ? 'app' : role });
  logger.info('configuration loaded', redactedConfigSummary(config));
  // Handlers first: a signal that arrives while the process is still starting (npm start stopped at once)
  // waits for the start to finish, then shuts down cleanly, instead of killing it half-started.
  let started: Promise<() => Promise<void>> | null = null;
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info('shutting down', { signal });
    const force = setTimeout(() => process.exit(1), 15_000);
    force.unref();
    void started
      ?.then((shutdown) => shutdown())
      .then(() => process.exit(0))
      .catch(() => process.exit(1)); // a failed start is logged below
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  started = run(role, config, logger);
  try {
    await started;
  } catch (error) {
    logger.error('start failed', { error });
    process.exit(1);
  }
};

await main();
