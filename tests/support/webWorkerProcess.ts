// worker-web in a process of its own, with the Web channel pointed at a local peer (tests/support/waPeer.ts):
// the SIGKILL test kills it mid-session and starts another one on the same database.
// WA_PEER_ROOT (base64) is the peer's certificate root, installed as the root baileys trusts in this process.
// Prints {"ready":true,...} once started, {"qr":...} for every QR it would print in the terminal.
import { loadConfig } from '#infrastructure/config/config.js';
import { createLogger } from '#infrastructure/logging/logger.js';
import { systemRuntime } from '#infrastructure/shared/runtime.js';
import { openInfrastructure } from '#interfaces/process/infrastructure.js';
import { startMessagingWorker } from '#interfaces/process/messaging.js';
import { trustPeer } from './waPeer.js';

trustPeer(process.env.WA_PEER_ROOT ?? '');
const config = loadConfig(process.env);
const logger = createLogger({ level: 'warn', service: 'worker-web', stream: process.stderr });
const infra = await openInfrastructure(config, { applicationName: 'chatbot-worker-web' });
const worker = startMessagingWorker({
  config,
  logger,
  store: infra.store,
  db: infra.db,
  runtime: systemRuntime,
  printQr: (qr) => process.stdout.write(`${JSON.stringify({ qr })}\n`),
});
process.stdout.write(`${JSON.stringify({ ready: true, workerPid: process.pid })}\n`);
process.on('SIGTERM', () => {
  void worker
    .stop()
    .then(() => infra.close())
    .then(() => process.exit(0));
});
