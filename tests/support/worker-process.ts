// worker-web's send loop in a process of its own (multi-process and kill tests), as interfaces/process/main.ts
// wires the role, with the channel double of tests/support/httpChannel.ts when CHANNEL_URL is set.
// Prints {"ready":true,"workerPid":N} once started; closes cleanly on SIGTERM.
import { loadConfig } from '#infrastructure/config/config.js';
import { createLogger } from '#infrastructure/logging/logger.js';
import { systemRuntime } from '#infrastructure/shared/runtime.js';
import { openInfrastructure } from '#interfaces/process/infrastructure.js';
import { startMessagingWorker } from '#interfaces/process/messaging.js';
import { httpChannelFactory } from './httpChannel.js';

const config = loadConfig(process.env);
const logger = createLogger({ level: 'warn', service: 'worker-web', stream: process.stderr });
const infra = await openInfrastructure(config, { applicationName: 'chatbot-worker-web' });
const worker = startMessagingWorker({
  config,
  logger,
  store: infra.store,
  db: infra.db,
  runtime: systemRuntime,
  channels: process.env.CHANNEL_URL ? httpChannelFactory(process.env.CHANNEL_URL) : undefined,
});
process.stdout.write(`${JSON.stringify({ ready: true, workerPid: process.pid })}\n`);
const report = setInterval(() => process.stdout.write(`${JSON.stringify({ held: worker.heldNumbers() })}\n`), 250);
process.on('SIGTERM', () => {
  clearInterval(report);
  void worker
    .stop()
    .then(() => infra.close())
    .then(() => process.exit(0));
});
