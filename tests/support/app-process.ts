// The app composition (startApp) in a process of its own, for multi-process tests: prints {"port":N}
// once listening, closes cleanly on SIGTERM. Configuration comes from the environment the test passes.
import { loadConfig } from '#infrastructure/config/config.js';
import { createLogger } from '#infrastructure/logging/logger.js';
import { startApp } from '#interfaces/process/app.js';
import { systemRuntime } from '#infrastructure/shared/runtime.js';

const config = loadConfig(process.env);
const logger = createLogger({ level: 'warn', service: 'app', stream: process.stderr });
const app = await startApp({
  config,
  logger,
  runtime: systemRuntime,
  port: 0,
  redisKeyPrefix: process.env.TEST_REDIS_PREFIX,
});
process.stdout.write(`${JSON.stringify({ port: app.port })}\n`);
process.on('SIGTERM', () => {
  void app.close().then(() => process.exit(0));
});
