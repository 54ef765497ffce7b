// worker-web's send loop in a process of its own (multi-process and kill tests), as interfaces/process/main.ts
// wires the role (ProcessStarted, heartbeats and the crash monitor included), with the channel double of
// tests/support/httpChannel.ts when CHANNEL_URL is set. Heartbeat timings from the configuration, as in
// production (PROCESS_HEARTBEAT_MS, PROCESS_CRASH_MISSED_HEARTBEATS, RUNTIME_REQUEST_TIMEOUT_MS). Prints {"ready":true,"workerPid":N} once started, then
// the numbers it holds and runs every 250 ms; closes cleanly on SIGTERM.
import { loadConfig } from '#infrastructure/config/config.js';
import { createLogger } from '#infrastructure/logging/logger.js';
import { systemRuntime } from '#infrastructure/shared/runtime.js';
import { openInfrastructure } from '#interfaces/process/infrastructure.js';
import { recordProcessEvent } from '#interfaces/process/lifecycle.js';
import { startMessagingWorker } from '#interfaces/process/messaging.js';
import { startProcessReporting } from '#interfaces/process/runtime.js';
import { httpChannelFactory } from './httpChannel.js';

const config = loadConfig(process.env);
const logger = createLogger({ level: 'warn', service: 'worker-web', stream: process.stderr });
const infra = await openInfrastructure(config, { applicationName: 'chatbot-worker-web' });
const role = { name: 'worker-web', role: 'worker-web' } as const;
await recordProcessEvent(infra.store, systemRuntime, 'ProcessStarted', role);
const monitor = startProcessReporting({
  store: infra.store,
  db: infra.db,
  runtime: systemRuntime,
  logger,
  names: ['worker-web'],
  role: 'worker-web',
  config,
});
const worker = startMessagingWorker({
  config,
  logger,
  store: infra.store,
  db: infra.db,
  runtime: systemRuntime,
  channels: process.env.CHANNEL_URL ? httpChannelFactory(process.env.CHANNEL_URL) : undefined,
});
process.stdout.write(`${JSON.stringify({ ready: true, workerPid: process.pid })}\n`);
const report = setInterval(
  () => process.stdout.write(`${JSON.stringify({ held: worker.heldNumbers(), running: worker.runningNumbers() })}\n`),
  250,
);
process.on('SIGTERM', () => {
  clearInterval(report);
  void recordProcessEvent(infra.store, systemRuntime, 'ProcessStopped', role)
    .then(() => worker.stop())
    .then(() => monitor.stop())
    .then(() => infra.close())
    .then(() => process.exit(0));
});
