import { spawn, type ChildProcess } from 'node:child_process';
import { PassThrough } from 'node:stream';
import type { ChannelFactory } from '#application/messaging/ports.js';
import { loadConfig } from '#infrastructure/config/config.js';
import { createLogger } from '#infrastructure/logging/logger.js';
import { systemRuntime } from '#infrastructure/shared/runtime.js';
import { startMessagingWorker } from '#interfaces/process/messaging.js';
import { ADMIN_PASSWORD, TEST_JWT_SECRET, request, type TestApp } from './app.js';
import { waitFor } from './events.js';

/** worker-web's send loop in this process, on the test app's database and store (as embedded mode wires it). */
export const startTestWorker = (
  t: TestApp,
  options: { env?: Record<string, string>; channels?: ChannelFactory } = {},
) => {
  const config = loadConfig({
    NODE_ENV: 'test',
    JWT_SECRET: 'x'.repeat(40),
    ADMIN_PASSWORD: 'unused-password',
    DATABASE_URL: t.databaseUrl,
    WHATSAPP_NUMBER_LEASE_SECONDS: '2',
    ...options.env,
  });
  let captured = '';
  const stream = new PassThrough();
  stream.on('data', (chunk: Buffer) => (captured += chunk.toString('utf8')));
  const logger = createLogger({ level: 'info', service: 'worker-web', stream });
  const dispatcher = startMessagingWorker({
    config,
    logger,
    store: t.app.infra.store,
    db: t.app.infra.db,
    runtime: systemRuntime,
    channels: options.channels,
  });
  return { dispatcher, logs: () => captured, stop: () => dispatcher.stop() };
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
  const child = spawn(process.execPath, ['--import', 'tsx', 'tests/support/worker-process.ts'], {
    cwd: process.cwd(),
    env: {
      ...process.env,
      NODE_ENV: 'test',
      JWT_SECRET: TEST_JWT_SECRET,
      ADMIN_PASSWORD,
      DATABASE_URL: databaseUrl,
      REDIS_URL: '',
      CHANNEL_URL: channelUrl,
      WHATSAPP_NUMBER_LEASE_SECONDS: '2',
      WHATSAPP_SEND_CLAIM_SECONDS: '3',
      ...extraEnv,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  await waitFor(() => output.includes('"ready":true') || child.exitCode !== null, 60_000, 'the worker to start');
  if (child.exitCode !== null) throw new Error(`the worker exited with ${child.exitCode}`);
  const held = (): string[] => {
    const lines = output.trim().split('\n');
    for (let i = lines.length - 1; i >= 0; i--) {
      const parsed = JSON.parse(lines[i]!) as { held?: string[] };
      if (parsed.held) return parsed.held;
    }
    return [];
  };
  /** held numbers whose runtime runs (a stopped number is held but not drained) */
  const running = (): string[] => {
    const lines = output.trim().split('\n');
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
