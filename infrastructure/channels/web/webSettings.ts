/**
 * The Web channel's settings, apart from the adapter (webChannel.ts), which loads baileys: a process
 * reads them at start, and baileys is loaded only when a number of kind `web` gets an adapter.
 */
export type WebSettings = {
  /** the WhatsApp Web socket URL; null: baileys' default (wss://web.whatsapp.com/ws/chat) */
  socketUrl: string | null;
  /** QRs shown before a pairing stops and says so (WhatsAppPairingExpired) */
  maxQrAttempts: number;
  /** how long one QR lives (baileys: 60 s for the first, 20 s for the next ones) */
  qrTimeoutMs: number | null;
  /** reconnect backoff for disconnects other than restart-required / replaced / logged-out */
  backoff: { baseMs: number; maxMs: number };
  /** announce "online" when connected (off by default: fewer signals of automation) */
  presence: boolean;
  connectTimeoutMs: number;
  /** how often the worker looks for pairing-code requests of its numbers */
  pollMs: number;
};

export const DEFAULT_WEB_SETTINGS: WebSettings = {
  socketUrl: null,
  maxQrAttempts: 5,
  qrTimeoutMs: null,
  backoff: { baseMs: 2_000, maxMs: 300_000 },
  presence: false,
  connectTimeoutMs: 20_000,
  pollMs: 1_000,
};
