import type { Decider } from '#domain/shared/event.js';
import type { Command } from '#domain/messaging/events.js';
import type { WhatsAppDisconnected, WhatsAppEvent } from './events.js';

/**
 * A Web number's connection (stream `whatsapp-<numberId>`): what the worker holding its socket saw,
 * and the bound on pairing attempts. The decider keeps the QR count, so a pairing nobody scans stops
 * after `maxAttempts` QRs (WhatsAppPairingExpired) instead of asking forever.
 */
export type ConnectionStatus =
  'idle' | 'connecting' | 'qr' | 'code' | 'connected' | 'disconnected' | 'expired' | 'logged_out';

export type ConnectionState = Readonly<{
  status: ConnectionStatus;
  /** QRs shown since the session was last opened (or connected) */
  qrAttempts: number;
  /** pairing-code requests already handled (by requestId) */
  handledRequests: readonly string[];
  /** pairing-code requests not handled yet, oldest first */
  pendingRequests: readonly { requestId: string; phone: string }[];
}>;

export const initialConnectionState = (): ConnectionState => ({
  status: 'idle',
  qrAttempts: 0,
  handledRequests: [],
  pendingRequests: [],
});

export type ConnectCommand = Command<
  'Connect',
  { numberId: string; cause: 'open' | 'reconnect' | 'pairing_code'; worker: string }
>;
export type IssueQrCommand = Command<
  'IssueQr',
  { numberId: string; qr: string; maxAttempts: number; expiresAt: string }
>;
export type RequestPairingCodeCommand = Command<
  'RequestPairingCode',
  { numberId: string; requestId: string; phone: string; by: string }
>;
export type IssuePairingCodeCommand = Command<
  'IssuePairingCode',
  { numberId: string; requestId: string | null; code: string; expiresAt: string }
>;
export type ExpirePairingCommand = Command<
  'ExpirePairing',
  { numberId: string; maxAttempts: number; reason: 'max_qr_attempts' | 'qr_refs_ended' }
>;
export type RecordConnectedCommand = Command<
  'RecordConnected',
  { numberId: string; newLogin: boolean; worker: string }
>;
export type RecordDisconnectedCommand = Command<'RecordDisconnected', WhatsAppDisconnected['data']>;
export type RecordLoggedOutCommand = Command<
  'RecordLoggedOut',
  { numberId: string; by: string; statusCode: number | null }
>;

export type ConnectionCommand =
  | ConnectCommand
  | IssueQrCommand
  | RequestPairingCodeCommand
  | IssuePairingCodeCommand
  | ExpirePairingCommand
  | RecordConnectedCommand
  | RecordDisconnectedCommand
  | RecordLoggedOutCommand;

export const decideConnection = (command: ConnectionCommand, state: ConnectionState): WhatsAppEvent[] => {
  switch (command.type) {
    case 'Connect':
      return [{ type: 'WhatsAppConnecting', data: { ...command.data } }];
    case 'IssueQr': {
      const { numberId, qr, maxAttempts, expiresAt } = command.data;
      // A QR baileys emits after the pairing expired is not shown (the socket is being closed).
      if (state.status === 'expired') return [];
      if (state.qrAttempts >= maxAttempts)
        return [
          {
            type: 'WhatsAppPairingExpired',
            data: { numberId, attempts: state.qrAttempts, maxAttempts, reason: 'max_qr_attempts' },
          },
        ];
      return [
        { type: 'WhatsAppQrIssued', data: { numberId, qr, attempt: state.qrAttempts + 1, maxAttempts, expiresAt } },
      ];
    }
    case 'RequestPairingCode':
      if (state.handledRequests.includes(command.data.requestId)) return [];
      if (state.pendingRequests.some((r) => r.requestId === command.data.requestId)) return [];
      return [{ type: 'WhatsAppPairingCodeRequested', data: { ...command.data } }];
    case 'IssuePairingCode':
      return [{ type: 'WhatsAppPairingCodeIssued', data: { ...command.data } }];
    case 'ExpirePairing':
      if (state.status === 'expired' || state.status === 'connected') return [];
      return [
        {
          type: 'WhatsAppPairingExpired',
          data: {
            numberId: command.data.numberId,
            attempts: state.qrAttempts,
            maxAttempts: command.data.maxAttempts,
            reason: command.data.reason,
          },
        },
      ];
    case 'RecordConnected':
      return state.status === 'connected' ? [] : [{ type: 'WhatsAppConnected', data: { ...command.data } }];
    case 'RecordDisconnected':
      return [{ type: 'WhatsAppDisconnected', data: { ...command.data } }];
    case 'RecordLoggedOut':
      return state.status === 'logged_out' ? [] : [{ type: 'WhatsAppLoggedOut', data: { ...command.data } }];
    default: {
      const _exhaustive: never = command;
      return _exhaustive;
    }
  }
};

export const evolveConnection = (state: ConnectionState, event: WhatsAppEvent): ConnectionState => {
  switch (event.type) {
    case 'WhatsAppConnecting':
      return {
        ...state,
        status: 'connecting',
        qrAttempts: event.data.cause === 'reconnect' ? state.qrAttempts : 0,
      };
    case 'WhatsAppQrIssued':
      return { ...state, status: 'qr', qrAttempts: event.data.attempt };
    case 'WhatsAppPairingCodeRequested':
      return {
        ...state,
        pendingRequests: [...state.pendingRequests, { requestId: event.data.requestId, phone: event.data.phone }],
      };
    case 'WhatsAppPairingCodeIssued':
      return {
        ...state,
        status: 'code',
        pendingRequests: state.pendingRequests.filter((r) => r.requestId !== event.data.requestId),
        handledRequests:
          event.data.requestId === null
            ? state.handledRequests
            : [...state.handledRequests, event.data.requestId].slice(-20),
      };
    case 'WhatsAppPairingExpired':
      return { ...state, status: 'expired' };
    case 'WhatsAppConnected':
      return { ...state, status: 'connected', qrAttempts: 0 };
    case 'WhatsAppDisconnected':
      return { ...state, status: state.status === 'expired' ? 'expired' : 'disconnected' };
    case 'WhatsAppLoggedOut':
      return { ...state, status: 'logged_out', qrAttempts: 0 };
    default: {
      const _exhaustive: never = event;
      return state;
    }
  }
};

export const connectionDecider: Decider<ConnectionState, ConnectionCommand, WhatsAppEvent> = {
  decide: decideConnection,
  evolve: evolveConnection,
  initialState: initialConnectionState,
};

// ---- reconnect policy ----------------------------------------------------------------------------

/** baileys' DisconnectReason codes (Types/index: DisconnectReason), by name. */
export const DISCONNECT_CODES = {
  connectionClosed: 428,
  connectionLost: 408,
  connectionReplaced: 440,
  loggedOut: 401,
  badSession: 500,
  restartRequired: 515,
  multideviceMismatch: 411,
  forbidden: 403,
  unavailableService: 503,
} as const;

export type DisconnectDecision = {
  reason: string;
  next: WhatsAppDisconnected['data']['next'];
  retryInMs: number | null;
};

export type BackoffSettings = { baseMs: number; maxMs: number };

/**
 * What to do after a socket closed (pure): restart-required (after a pairing, or when WhatsApp asks)
 * reconnects at once; connection-replaced means another session took over, so it does not fight back;
 * logged-out means the device was unlinked: the credentials are cleared and a new pairing starts;
 * forbidden (403) and multi-device mismatch stay down (reconnecting a banned or refused account makes it
 * worse); anything else reconnects after a capped exponential backoff with jitter (50-100 % of the step).
 * `failures` counts the consecutive failed connections before this one (0 after a connection that opened).
 */
export const reconnectPolicy = (
  statusCode: number | null,
  failures: number,
  backoff: BackoffSettings,
  random: () => number,
  closedByUs = false,
): DisconnectDecision => {
  const reason = Object.entries(DISCONNECT_CODES).find(([, code]) => code === statusCode)?.[0] ?? 'unknown';
  if (closedByUs) return { reason: 'closed', next: 'closed', retryInMs: null };
  switch (statusCode) {
    case DISCONNECT_CODES.restartRequired:
      return { reason, next: 'reconnect_now', retryInMs: 0 };
    case DISCONNECT_CODES.connectionReplaced:
    case DISCONNECT_CODES.forbidden:
    case DISCONNECT_CODES.multideviceMismatch:
      return { reason, next: 'stay_down', retryInMs: null };
    case DISCONNECT_CODES.loggedOut:
      return { reason, next: 'pair_again', retryInMs: 0 };
    default: {
      const step = Math.min(backoff.maxMs, backoff.baseMs * 2 ** Math.min(30, Math.max(0, failures)));
      return { reason, next: 'reconnect_later', retryInMs: Math.round(step * (0.5 + 0.5 * random())) };
    }
  }
};
