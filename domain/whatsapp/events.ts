import type { Event } from '#domain/shared/event.js';

/**
 * The WhatsApp Web channel's connection catalogue (one baileys socket per number of kind `web`).
 * Stream `whatsapp-<numberId>`. Every change of a number's connection is an event; the session keys
 * themselves are state (infrastructure/channels/web/authState.ts), never events.
 *
 * `WhatsAppQrIssued.qr` is the pairing QR's content: short-lived (about 20-60 s) and useless once it has
 * expired, but a live one pairs a phone, so it is never copied into the audit trail or logs.
 */

export type WhatsAppConnecting = Event<
  'WhatsAppConnecting',
  {
    numberId: string;
    /** open: the worker (re)started the session (the QR count starts over); reconnect: after a disconnect */
    cause: 'open' | 'reconnect' | 'pairing_code';
    /** the worker instance that holds the socket */
    worker: string;
  }
>;
export type WhatsAppQrIssued = Event<
  'WhatsAppQrIssued',
  {
    numberId: string;
    qr: string;
    /** 1-based; a pairing stops after maxAttempts QRs */
    attempt: number;
    maxAttempts: number;
    expiresAt: string;
  }
>;
/** An admin asked the worker to pair by phone-number code instead of a QR (the worker obeys it). */
export type WhatsAppPairingCodeRequested = Event<
  'WhatsAppPairingCodeRequested',
  { numberId: string; requestId: string; phone: string; by: string }
>;
export type WhatsAppPairingCodeIssued = Event<
  'WhatsAppPairingCodeIssued',
  { numberId: string; requestId: string | null; code: string; expiresAt: string }
>;
export type WhatsAppPairingExpired = Event<
  'WhatsAppPairingExpired',
  {
    numberId: string;
    /** QRs shown before giving up */
    attempts: number;
    maxAttempts: number;
    reason: 'max_qr_attempts' | 'qr_refs_ended';
  }
>;
export type WhatsAppConnected = Event<
  'WhatsAppConnected',
  {
    numberId: string;
    /** true right after a pairing; false when stored credentials were resumed */
    newLogin: boolean;
    worker: string;
  }
>;
export type WhatsAppDisconnected = Event<
  'WhatsAppDisconnected',
  {
    numberId: string;
    /** baileys' DisconnectReason name ('restartRequired', 'connectionReplaced', ...) or 'unknown' */
    reason: string;
    statusCode: number | null;
    /** what the worker does next (domain/whatsapp/connection.ts reconnectPolicy) */
    next: 'reconnect_now' | 'reconnect_later' | 'stay_down' | 'pair_again' | 'closed';
    /** for reconnect_later */
    retryInMs: number | null;
  }
>;
export type WhatsAppLoggedOut = Event<
  'WhatsAppLoggedOut',
  {
    numberId: string;
    /** 'remote': the phone unlinked the device (or WhatsApp ended the session); 'admin': a logout request */
    by: string;
    statusCode: number | null;
  }
>;

export type WhatsAppEvent =
  | WhatsAppConnecting
  | WhatsAppQrIssued
  | WhatsAppPairingCodeRequested
  | WhatsAppPairingCodeIssued
  | WhatsAppPairingExpired
  | WhatsAppConnected
  | WhatsAppDisconnected
  | WhatsAppLoggedOut;

export const WHATSAPP_EVENT_TYPES: readonly WhatsAppEvent['type'][] = [
  'WhatsAppConnecting',
  'WhatsAppQrIssued',
  'WhatsAppPairingCodeRequested',
  'WhatsAppPairingCodeIssued',
  'WhatsAppPairingExpired',
  'WhatsAppConnected',
  'WhatsAppDisconnected',
  'WhatsAppLoggedOut',
];

export const WHATSAPP_STREAM_PREFIX = 'whatsapp-';
export const whatsappStreamId = (numberId: string): string => `${WHATSAPP_STREAM_PREFIX}${numberId}`;
