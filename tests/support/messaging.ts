import type { ChildProcess } from 'node:child_process';
import type { ChannelFactory } from '#application/messaging/ports.js';
import type { WebSettings } from '#infrastructure/channels/web/webChannel.js';
import { loadConfig } from '#infrastructure/config/config.js';
import { systemRuntime } from '#infrastructure/shared/runtime.js';
import { startMessagingWorker } from '#interfaces/process/messaging.js';
import { ADMIN_PASSWORD, loginAs, request, startTestApp, type TestApp } from './app.js';
import { PHONE_NUMBER_ID } from './cloudPayloads.js';
import { startGraphServer, type GraphServer } from './graphServer.js';
import { waitFor } from './events.js';
import { capturedLogger, spawnTsx } from './processes.js';

/** worker-web's configuration on the test app's database (a 2 s number lease), with `env` on top. */
export const testWorkerConfig = (t: TestApp, env: Record<string, string> = {}) =>
  loadConfig({
    NODE_ENV: 'test',
    JWT_SECRET: 'x'.repeat(40),
    ADMIN_PASSWORD: 'unused-password',
    DATABASE_URL: t.databaseUrl,
    WHATSAPP_NUMBER_LEASE_SECONDS: '2',
    ...env,
  });

/** worker-web's send loop in this process, on the test app's database and store (as embedded mode wires it). */
export const startTestWorker = (
  t: TestApp,
  options: {
    env?: Record<string, string>;
    channels?: ChannelFactory;
    printQr?: (qr: string) => void;
    webSettings?: Partial<WebSettings>;
  } = {},
) => {
  const config = testWorkerConfig(t, options.env);
  const { logger, logs } = capturedLogger('worker-web');
  const dispatcher = startMessagingWorker({
    config,
    logger,
    store: t.app.infra.store,
    db: t.app.infra.db,
    runtime: systemRuntime,
    channels: options.channels,
    printQr: options.printQr,
    webSettings: options.webSettings,
  });
  return { dispatcher, logs, stop: () => dispatcher.stop() };
};

/** Messages of a chat, oldest first, once `condition` holds for them. */
export const waitForMessages = async (
  baseUrl: string,
  token: string,
  chatId: string,
  condition: (messages: any[]) => boolean,
  timeoutMs = 10_000,
): Promise<any[]> => {
  let messages: any[] = [];
  await waitFor(
    async () => {
      const response = await request(baseUrl, 'GET', `/api/chats/${chatId}/messages`, { token });
      messages = response.status === 200 ? [...response.body.messages].reverse() : [];
      return condition(messages);
    },
    timeoutMs,
    'chat messages',
  );
  return messages;
};

/** worker-web in its own OS process (tests/support/worker-process.ts), sending through the local channel server. */
export const spawnWorker = async (databaseUrl: string, channelUrl: string, extraEnv: Record<string, string> = {}) => {
  const { child, output } = await spawnTsx(['tests/support/worker-process.ts'], {
    env: {
      DATABASE_URL: databaseUrl,
      CHANNEL_URL: channelUrl,
      WHATSAPP_NUMBER_LEASE_SECONDS: '2',
      WHATSAPP_SEND_CLAIM_SECONDS: '3',
      ...extraEnv,
    },
    ready: (text) => text.includes('"ready":true'),
    what: 'the worker to start',
  });
  const held = (): string[] => {
    const lines = output().trim().split('\n');
    for (let i = lines.length - 1; i >= 0; i--) {
      const parsed = JSON.parse(lines[i]!) as { held?: string[] };
      if (parsed.held) return parsed.held;
    }
    return [];
  };
  /** held numbers whose runtime runs (a stopped number is held but not drained) */
  const running = (): string[] => {
    const lines = output().trim().split('\n');
    for (let i = lines.length - 1; i >= 0; i--) {
      const parsed = JSON.parse(lines[i]!) as { running?: string[] };
      if (parsed.running) return parsed.running;
    }
    return [];
  };
  return { child, held, running };
};

export const killHard = async (child: ChildProcess) => {
  child.kill('SIGKILL');
  if (child.exitCode === null && child.signalCode === null) await new Promise((resolve) => child.once('exit', resolve));
};

export const CLOUD_APP_SECRET = 'cloud-app-secret-for-tests';

/**
 * The app and worker-web in this process, configured for one Cloud API number whose Graph API is a local
 * server, and the admin's access token; close() stops the worker, the app and the Graph server.
 */
export const startCloudTestApp = async (): Promise<{
  t: TestApp;
  graph: GraphServer;
  worker: ReturnType<typeof startTestWorker>;
  token: string;
  close: () => Promise<void>;
}> => {
  const graph = await startGraphServer();
  const env = {
    WHATSAPP_MODE: 'cloud',
    WHATSAPP_APP_SECRET: CLOUD_APP_SECRET,
    WHATSAPP_GRAPH_URL: graph.url,
    WHATSAPP_PHONE_NUMBER_ID: PHONE_NUMBER_ID,
    WHATSAPP_ACCESS_TOKEN: 'EAAG-cloud-test-token',
  };
  const t = await startTestApp({ env });
  const worker = startTestWorker(t, { env });
  const token = (await loginAs(t.baseUrl, 'admin', ADMIN_PASSWORD)).access;
  return {
    t,
    graph,
    worker,
    token,
    close: async () => {
      await worker.stop();
      await t.close();
      await graph.close();
    },
  };
};
