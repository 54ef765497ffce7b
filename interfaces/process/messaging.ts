import os from 'node:os';
import type { AutoReplier } from '#application/messaging/autoReply.js';
import type { ChannelSink } from '#application/messaging/channel.js';
import { startDispatcher, type Dispatcher } from '#application/messaging/dispatcher.js';
import { createMessagingSink, type InboundDeps } from '#application/messaging/inbound.js';
import { ensureDefaultNumbers, type NumbersDeps } from '#application/messaging/numbers.js';
import type { ChannelFactory, NumberInfo } from '#application/messaging/ports.js';
import { startResponder } from '#application/messaging/responder.js';
import { createRulesResponder } from '#application/messaging/rules.js';
import type { SendDeps } from '#application/messaging/send.js';
import { readSecret, storeSecret } from '#application/secrets/secrets.js';
import { createCloudAdapter, type CloudCredentials } from '#infrastructure/channels/cloud/graphClient.js';
import type { EventStore } from '#application/shared/eventStore.js';
import type { Runtime } from '#application/shared/runtime.js';
import { createChannelFactory, type KindFactory } from '#infrastructure/channels/registry.js';
import { createWebChannels } from '#infrastructure/channels/web/factory.js';
import { qrTerminal } from '#infrastructure/channels/web/qr.js';
import type { WebChannel } from '#infrastructure/channels/web/webChannel.js';
import { DEFAULT_WEB_SETTINGS, type WebSettings } from '#infrastructure/channels/web/webSettings.js';
import type { Config } from '#infrastructure/config/config.js';
import type { Logger } from '#infrastructure/logging/logger.js';
import { newCorrelationId } from '#infrastructure/logging/context.js';
import { loadRules } from '#infrastructure/messaging/rulesFile.js';
import {
  sqlMessagingQueries,
  sqlNumberLeases,
  sqlOutboundQueue,
  sqlProcessCheckpoints,
} from '#infrastructure/messaging/sqlQueue.js';
import { optionalSecretCipher } from '#infrastructure/secrets/secretCipher.js';
import type { Database } from '#infrastructure/sql/database.js';

/** The messaging context's services for the `app` process: API dependencies and the responder. */
export type MessagingApp = {
  numbers: NumbersDeps;
  send: SendDeps;
  inbound: InboundDeps;
  sink: ChannelSink;
  defaultNumberId: string | null;
  stop(): Promise<void>;
};

export const startMessagingApp = async (deps: {
  config: Config;
  logger: Logger;
  store: EventStore;
  db: Database;
  runtime: Runtime;
  /** the bot; default: the rules responder from DATA_DIR/responder-rules.json (the LLM issue plugs in here) */
  replier?: AutoReplier;
}): Promise<MessagingApp> => {
  const { config, logger, store, db, runtime } = deps;
  const queries = sqlMessagingQueries(db.knex);
  const cipher = optionalSecretCipher(config.fernetKeys);
  const numbers: NumbersDeps = {
    store,
    runtime,
    log: logger,
    storeCredential: async (numberId, value, context) => {
      const name = `whatsapp-${numberId}`;
      await storeSecret(
        { store, cipher, log: logger, runtime },
        { name, kind: 'whatsapp_cloud_token', value },
        context,
      );
      return name;
    },
  };
  const cloud =
    (config.whatsapp.mode === 'cloud' || config.whatsapp.mode === 'both') && config.whatsapp.phoneNumberId !== null
      ? { phoneNumberId: config.whatsapp.phoneNumberId, accessToken: config.whatsapp.accessToken }
      : null;
  const defaultNumberId = await ensureDefaultNumbers(
    numbers,
    {
      simulator: config.whatsapp.simulator,
      cloud,
      web: config.whatsapp.web.defaultNumber && (config.whatsapp.mode === 'web' || config.whatsapp.mode === 'both'),
    },
    { correlationId: newCorrelationId(), actor: 'system' },
  );
  const send: SendDeps = { store, runtime, log: logger, defaultNumberId };
  const inbound: InboundDeps = { store, runtime, log: logger, queries, newCorrelationId };
  const sink = createMessagingSink(inbound);
  const replier = deps.replier ?? createRulesResponder(loadRules(config.dataDir));
  const responder = startResponder({
    store,
    send,
    replier,
    queries,
    log: logger,
    checkpoints: sqlProcessCheckpoints(db.knex),
  });
  return { numbers, send, inbound, sink, defaultNumberId, stop: () => responder.stop() };
};

export type WorkerOptions = {
  config: Config;
  logger: Logger;
  store: EventStore;
  db: Database;
  runtime: Runtime;
  /** adapter factories per kind beyond the simulator (the Cloud API's: infrastructure/channels/cloud/) */
  factories?: Partial<Record<'simulator' | 'cloud' | 'web', KindFactory>>;
  /** replaces the whole factory (tests: a channel double over HTTP) */
  channels?: ChannelFactory;
  /** the Web channel's QR in the terminal (default: printed on stdout) */
  printQr?: ((qr: string) => void) | null;
  /** Web channel settings beyond the configuration's (tests: short QR lifetimes, fast backoff) */
  webSettings?: Partial<WebSettings>;
};

/** The worker-web role: drains the outbound queue of the numbers it holds by lease. */
export const startMessagingWorker = (
  options: WorkerOptions,
): Dispatcher & { webChannels(): ReadonlyMap<string, WebChannel> } => {
  const { config, logger, store, db, runtime } = options;
  const queries = sqlMessagingQueries(db.knex);
  const inbound: InboundDeps = { store, runtime, log: logger, queries, newCorrelationId };
  const sink = createMessagingSink(inbound);
  const cipher = optionalSecretCipher(config.fernetKeys);
  const cloudCredentials = async (number: NumberInfo): Promise<CloudCredentials | null> => {
    // The default number's token stays in the configuration; numbers added by the API keep it as a secret.
    if (number.credentialsSecret === null)
      return number.phoneNumberId !== null && config.whatsapp.accessToken !== null
        ? { phoneNumberId: number.phoneNumberId, accessToken: config.whatsapp.accessToken }
        : null;
    const token = await readSecret({ store, cipher }, number.credentialsSecret);
    return token === null || number.phoneNumberId === null
      ? null
      : { phoneNumberId: number.phoneNumberId, accessToken: token };
  };
  const cloud: KindFactory = (number) =>
    Promise.resolve(
      createCloudAdapter({
        graphUrl: config.whatsapp.graphUrl,
        apiVersion: config.whatsapp.graphApiVersion,
        credentials: () => cloudCredentials(number),
        clock: runtime.clock,
      }),
    );
  const workerId = `${os.hostname()}:${process.pid}:${runtime.newId().slice(0, 8)}`;
  // One baileys socket per number of kind `web`, its session Fernet-encrypted in PostgreSQL.
  const web = createWebChannels({
    knex: db.knex,
    cipher,
    store,
    runtime,
    log: logger,
    queries,
    workerId,
    newCorrelationId,
    settings: {
      ...DEFAULT_WEB_SETTINGS,
      socketUrl: config.whatsapp.web.socketUrl,
      maxQrAttempts: config.whatsapp.web.maxQrAttempts,
      ...options.webSettings,
    },
    printQr:
      options.printQr === null
        ? undefined
        : (options.printQr ??
          ((qr) =>
            void qrTerminal(qr).then((art) =>
              process.stdout.write(`Scan this QR with WhatsApp (Linked devices > Link a device):\n${art}\n`),
            ))),
  });
  const channels =
    options.channels ??
    createChannelFactory(
      { cloud, web: web.factory, ...options.factories },
      {
        onError: (error) => logger.warn('simulator status failed', { error }),
        clock: runtime.clock,
      },
    );
  logger.info('worker-web: draining the outbound queue', { workerId, concurrency: config.whatsapp.sendConcurrency });
  const dispatcher = startDispatcher({
    store,
    runtime,
    log: logger,
    queue: sqlOutboundQueue(db.knex),
    leases: sqlNumberLeases(db.knex),
    queries,
    channels,
    sink,
    worker: { workerId, role: 'worker-web', host: os.hostname(), pid: process.pid, startedAt: runtime.clock() },
    newCorrelationId,
    concurrency: config.whatsapp.sendConcurrency,
    maxAttempts: config.whatsapp.sendMaxAttempts,
    claimMs: config.whatsapp.sendClaimSeconds * 1000,
    numberLeaseMs: config.whatsapp.numberLeaseSeconds * 1000,
    backoff: { baseMs: config.whatsapp.retryBaseMs, maxMs: 300_000 },
  });
  // The Web sockets close with the worker (their sessions stay stored: the next start resumes them).
  return {
    ...dispatcher,
    webChannels: () => web.channels(),
    stop: async () => {
      await dispatcher.stop();
      await web.closeAll();
    },
  };
};
