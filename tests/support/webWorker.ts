import type { RecordedEvent } from '#application/shared/eventStore.js';
import { whatsappStreamId, type WhatsAppEvent } from '#domain/whatsapp/events.js';
import type { WebSettings } from '#infrastructure/channels/web/webChannel.js';
import type { TestApp } from './app.js';
import { waitFor } from './events.js';
import { startTestWorker } from './messaging.js';

/**
 * worker-web in this process (as embedded mode wires it) with the Web channel pointed at a local peer.
 * The QRs it would print in the terminal are collected instead.
 */
export const startWebWorker = (
  t: TestApp,
  options: { peerUrl: string; fernetKeys: string; env?: Record<string, string>; web?: Partial<WebSettings> },
) => {
  const printed: string[] = [];
  const worker = startTestWorker(t, {
    env: { FERNET_KEYS: options.fernetKeys, WHATSAPP_WEB_URL: options.peerUrl, ...options.env },
    printQr: (qr) => printed.push(qr),
    webSettings: { pollMs: 100, backoff: { baseMs: 50, maxMs: 500 }, ...options.web },
  });
  return { ...worker, printed };
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
