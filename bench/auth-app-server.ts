/**
 * The server under test of bench/auth.ts: the real `app` process, wired by startApp exactly as
 * interfaces/process/main.ts does, from a config that loadConfig validates out of the environment
 * the benchmark passes in. Logs go to stdout, as in production (the benchmark sends them to a file).
 *
 *   argv[2]: the Redis key prefix of this run (rate limits), so keys can be removed afterwards
 */
import { loadConfig } from '../infrastructure/config/config.js';
import { createLogger } from '../infrastructure/logging/logger.js';
import { startApp } from '../interfaces/process/app.js';
import { onStop, tellParent } from './auth-children.js';
import { systemRuntime } from '../infrastructure/shared/runtime.js';

const redisKeyPrefix = process.argv[2];
if (!redisKeyPrefix) throw new Error('usage: auth-app-server.ts <redis key prefix>');

try {
  const config = loadConfig(process.env);
  const logger = createLogger({ level: config.logLevel, service: 'app' });
  // Port 0: the benchmark never collides with a running app on 8003.
  const app = await startApp({ config, logger, runtime: systemRuntime, port: 0, redisKeyPrefix });
  onStop(() => app.close());
  tellParent({ type: 'ready', port: app.port });
} catch (error) {
  tellParent({ type: 'failed', error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  process.exit(1);
}
