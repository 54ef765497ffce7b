import { PassThrough } from 'node:stream';
import type { RecordedEvent } from '#application/shared/eventStore.js';
import { whatsappStreamId, type WhatsAppEvent } from '#domain/whatsapp/events.js';
import type { WebSettings } from '#infrastructure/channels/web/webChannel.js';
import { loadConfig } from '#infrastructure/config/config.js';
import { createLogger } from '#infrastructure/logging/logger.js';
import { systemRuntime } from '#infrastructure/shared/runtime.js';
import { startMessagingWorker } from '#interfaces/process/messaging.js';
import type { TestApp } from './app.js';
import { waitFor } from './events.js';

/**
 * worker-web in this process (as embedded mode wires it) with the Web channel pointed at a local peer.
 * The QRs it would print in the terminal are collected instead.
 */
export const startWebWorker = (
  t: TestApp,
  options: { peerUrl: string; fernetKeys: string; env?: Record<string, string>; web?: Partial<WebSettings> },
) => {
  const config = loadConfig({
    NODE_ENV: 'test',
    JWT_SECRET: 'x'.repeat(40),
    ADMIN_PASSWORD: 'unused-password',
    DATABASE_URL: t.databaseUrl,
    FERNET_KEYS: options.fernetKeys,
    WHATSAPP_WEB_URL: options.peerUrl,
    WHATSAPP_NUMBER_LEASE_SECONDS: '2',
    ...options.env,
  });
  let captured = '';
  const stream = new PassThrough();
  stream.on('data', (chunk: Buffer) => (captured += chunk.toString('utf8')));
  const logger = createLogger({ level: 'info', service: 'worker-web', stream });
  const printed: string[] = [];
  const dispatcher = startMessagingWorker({
    config,
    logger,
    store: t.app.infra.store,
    db: t.app.infra.db,
    runtime: systemRuntime,
    printQr: (qr) => printed.push(qr),
    webSettings: { pollMs: 100, backoff: { baseMs: 50, maxMs: 500 }, ...options.web },
  });
  return { dispatcher, printed, logs: () => captured, stop: () => dispatcher.stop() };
};

export const whatsappEvents = async (t: TestApp, numberId: string): Promise<RecordedEvent<WhatsAppEvent>[]> =>
  t.app.infra.store.readStream<WhatsAppEvent>(whatsappStreamId(numberId));

/** Waits until the number's stream holds an event that satisfies `test`; returns it. */
export const waitForWhatsAppEvent = async (
  t: TestApp,
  numberId: string,
  test: (event: RecordedEvent<WhatsAppEvent>, all: RecordedEvent<WhatsAppEvent>[]) => boolean,
  timeoutMs = 30_000,
  what = 'a WhatsApp event',
): Promise<RecordedEvent<WhatsAppEvent>> => {
  let found: RecordedEvent<WhatsAppEvent> | undefined;
  await waitFor(
    async () => {
      const all = await whatsappEvents(t, numberId);
      found = all.find((e) => test(e, all));
      return found !== undefined;
    },
    timeoutMs,
    what,
  );
  return found!;
};
