import {
  makeWASocket,
  type ConnectionState,
  type WAMessage,
  type WAMessageKey,
  type WASocket,
  type proto,
} from 'baileys';
import type {
  ChannelAdapter,
  ChannelLimits,
  ChannelSink,
  SendOutcome,
  SendRequest,
} from '#application/messaging/channel.js';
import type { MessagingLog, MessagingQueries } from '#application/messaging/ports.js';
import type { CommandContext } from '#application/shared/commandHandler.js';
import type { EventStore } from '#application/shared/eventStore.js';
import type { Runtime } from '#application/shared/runtime.js';
import { loadConnection, recordConnection } from '#application/whatsapp/connection.js';
import { messageStreamId, type MessagingEvent } from '#domain/messaging/events.js';
import { reconnectPolicy, type ConnectionCommand } from '#domain/whatsapp/connection.js';
import { whatsappStreamId, type WhatsAppEvent } from '#domain/whatsapp/events.js';
import type { WebAuthStore } from './authState.js';
import { deliveryStatusOf, inboundOf } from './inboundMapping.js';
import { toJid, webMessageId } from './ids.js';
import { quietBaileysLogger } from './logger.js';
import type { WebSettings } from './webSettings.js';

export { DEFAULT_WEB_SETTINGS, type WebSettings } from './webSettings.js';

export type WebChannelDeps = {
  numberId: string;
  sink: ChannelSink;
  auth: WebAuthStore;
  store: EventStore;
  runtime: Runtime;
  log: MessagingLog;
  queries: Pick<MessagingQueries, 'messageIdForProviderId'>;
  workerId: string;
  settings: WebSettings;
  newCorrelationId: () => string;
  random?: () => number;
  /** worker-web prints the QR in its terminal */
  printQr?: (qr: string) => void;
};

/** The Web adapter, plus what tests and the worker look at. */
export type WebChannel = ChannelAdapter & {
  readonly numberId: string;
  /** the live baileys socket (null when closed): tests emit recorded payloads on its event emitter */
  socket(): WASocket | null;
  /** connected and able to send */
  isConnected(): boolean;
  /** baileys' getMessage: the content of one of our sent messages, from our own store */
  getMessage(key: WAMessageKey): Promise<proto.IMessage | undefined>;
};

const WEB_LIMITS: ChannelLimits = {
  // Web is not an API: keep well under what a person could type, with no machine-regular rhythm
  // (the pacer adds 0..jitterMs at random to each gap between two messages to one person).
  messagesPerSecond: 1,
  minGapPerRecipientMs: 1_500,
  jitterMs: 2_000,
  maxTextLength: 4_096,
};

const PAIRING_CODE_TTL_MS = 180_000;
const QR_REFS_ENDED = 'QR refs attempts ended';

type BoomLike = { output?: { statusCode?: number }; message?: string };
const statusCodeOf = (error: unknown): number | null => {
  const code = (error as BoomLike | undefined)?.output?.statusCode;
  return typeof code === 'number' ? code : null;
};

/**
 * A number of kind `web`: one baileys socket, its session in PostgreSQL (authState.ts), every change of
 * the connection an event on `whatsapp-<numberId>` (through handleCommand and the connection decider).
 * open/close/logout are idempotent; the dispatcher calls them (take/lose the lease, runtime requests).
 */
export const createWebChannel = (deps: WebChannelDeps): WebChannel => {
  const { numberId, settings, runtime, log } = deps;
  const random = deps.random ?? Math.random;
  let sock: WASocket | null = null;
  let generation = 0;
  let opened = false;
  let connected = false;
  let closing = false;
  let failures = 0;
  let sawQrOnSocket = false;
  let newLogin = false;
  let codeActive = false;
  let reconnectTimer: NodeJS.Timeout | null = null;
  let pollTimer: NodeJS.Timeout | null = null;
  let work: Promise<void> = Promise.resolve();
  /** WhatsApp ids of what this process sent -> our message ids (getMessage before MessageSent is read back) */
  const sentHere = new Map<string, string>();

  const context = (): CommandContext => ({ correlationId: deps.newCorrelationId(), actor: 'worker-web' });
  const record = (command: ConnectionCommand) => recordConnection(deps, command, context());
  /** socket events are handled one at a time, in order */
  const serial = (step: () => Promise<void>) => {
    work = work.then(step).catch((error: unknown) => void log.error('whatsapp web event failed', { numberId, error }));
    return work;
  };

  const getMessage = async (key: WAMessageKey): Promise<proto.IMessage | undefined> => {
    if (!key.id) return undefined;
    const messageId = sentHere.get(key.id) ?? (await deps.queries.messageIdForProviderId(numberId, key.id));
    if (messageId === null || messageId === undefined) return undefined;
    const events = await deps.store.readStream<MessagingEvent>(messageStreamId(messageId));
    const queued = events.find((e) => e.type === 'MessageQueued');
    if (queued?.type !== 'MessageQueued' || queued.data.text === null) return undefined;
    // Answer only for the id this message was really sent under: never a placeholder.
    if (webMessageId(messageId) !== key.id) return undefined;
    return { conversation: queued.data.text };
  };

  const stopTimers = () => {
    if (reconnectTimer) clearTimeout(reconnectTimer);
    reconnectTimer = null;
  };

  const endSocket = () => {
    const current = sock;
    sock = null;
    connected = false;
    if (current) void current.end(undefined);
  };

  const connect = async (cause: 'open' | 'reconnect' | 'pairing_code') => {
    stopTimers();
    if (!opened) return;
    const mine = ++generation;
    closing = false;
    sawQrOnSocket = false;
    codeActive = false;
    await record({ type: 'Connect', data: { numberId, cause, worker: deps.workerId } });
    const { state, saveCreds } = await deps.auth.load();
    if (!opened || mine !== generation) return;
    const socket = makeWASocket({
      auth: state,
      ...(settings.socketUrl ? { waWebSocketUrl: settings.socketUrl } : {}),
      logger: quietBaileysLogger(log, numberId),
      markOnlineOnConnect: settings.presence,
      syncFullHistory: false,
      fireInitQueries: false,
      // our sends are recorded by the dispatcher: no echo upserts (baileys would fold their receipts into them)
      emitOwnEvents: false,
      generateHighQualityLinkPreview: false,
      connectTimeoutMs: settings.connectTimeoutMs,
      defaultQueryTimeoutMs: 20_000,
      ...(settings.qrTimeoutMs ? { qrTimeout: settings.qrTimeoutMs } : {}),
      getMessage,
    });
    sock = socket;
    socket.ev.on('creds.update', () => void serial(() => saveCreds()));
    socket.ev.on('connection.update', (update) => void serial(() => onConnectionUpdate(mine, update)));
    socket.ev.on('messages.upsert', (upsert) => void serial(() => onUpsert(upsert.messages, upsert.type)));
    socket.ev.on(
      'messages.update',
      (updates) =>
        void serial(async () => {
          for (const { key, update } of updates) await onStatus(key, update.status ?? null);
        }),
    );
  };

  const onConnectionUpdate = async (mine: number, update: Partial<ConnectionState>) => {
    if (mine !== generation) return; // a socket we already left
    if (update.isNewLogin) newLogin = true;
    if (update.qr) await onQr(update.qr);
    if (update.connection === 'open') {
      connected = true;
      failures = 0;
      await record({ type: 'RecordConnected', data: { numberId, newLogin, worker: deps.workerId } });
      log.info('whatsapp web connected', { numberId, newLogin });
      newLogin = false;
    }
    if (update.connection === 'close') await onClose(update.lastDisconnect?.error);
  };

  const onQr = async (qr: string) => {
    sawQrOnSocket = true;
    if (codeActive) return; // pairing by code: the QRs baileys keeps making are not shown
    if (await servePairingRequest()) return;
    const now = runtime.clock();
    const ttl = settings.qrTimeoutMs ?? 20_000;
    const result = await record({
      type: 'IssueQr',
      data: {
        numberId,
        qr,
        maxAttempts: settings.maxQrAttempts,
        expiresAt: new Date(now.getTime() + ttl).toISOString(),
      },
    });
    const event = result.events[0];
    if (event?.type === 'WhatsAppPairingExpired') {
      log.warn('whatsapp web pairing expired: no QR was scanned', {
        numberId,
        attempts: event.data.attempts,
      });
      closing = true;
      endSocket();
      return;
    }
    if (event?.type === 'WhatsAppQrIssued') {
      log.info('whatsapp web QR issued', {
        numberId,
        attempt: event.data.attempt,
        maxAttempts: event.data.maxAttempts,
      });
      deps.printQr?.(qr);
    }
  };

  const onClose = async (error: Error | undefined) => {
    const wasConnected = connected;
    connected = false;
    sock = null;
    const statusCode = statusCodeOf(error);
    const expired = (await loadConnection(deps.store, numberId)).state.status === 'expired';
    if (!closing && !expired && error?.message === QR_REFS_ENDED) {
      await record({
        type: 'ExpirePairing',
        data: { numberId, maxAttempts: settings.maxQrAttempts, reason: 'qr_refs_ended' },
      });
      closing = true;
    }
    const stopped = closing || expired || !opened;
    const decision = reconnectPolicy(statusCode, failures, settings.backoff, random, stopped && !expired);
    await record({
      type: 'RecordDisconnected',
      data: {
        numberId,
        reason: expired ? 'pairingExpired' : decision.reason,
        statusCode,
        next: expired ? 'stay_down' : decision.next,
        retryInMs: stopped ? null : decision.retryInMs,
      },
    });
    if (stopped) return;
    log.warn('whatsapp web disconnected', { numberId, statusCode, reason: decision.reason, next: decision.next });
    switch (decision.next) {
      case 'reconnect_now':
        await connect('reconnect');
        return;
      case 'pair_again':
        await record({ type: 'RecordLoggedOut', data: { numberId, by: 'remote', statusCode } });
        await deps.auth.clear();
        await connect('reconnect');
        return;
      case 'reconnect_later':
        failures = wasConnected ? 1 : failures + 1;
        reconnectTimer = setTimeout(() => void serial(() => connect('reconnect')), decision.retryInMs ?? 0);
        return;
      default:
        return; // stay_down: another session took over, or WhatsApp refused the account
    }
  };

  const onUpsert = async (messages: WAMessage[], type: string) => {
    // 'append' is history and our own echoes: only new messages become MessageReceived
    if (type !== 'notify') return;
    for (const message of messages) {
      const inbound = inboundOf(numberId, message);
      if (inbound === null) continue;
      await deps.sink.inbound(inbound);
    }
  };

  const onStatus = async (key: WAMessageKey, status: number | null) => {
    if (!key.fromMe || !key.id || !key.remoteJid) return;
    const mapped = deliveryStatusOf(status);
    if (mapped === null) return;
    await deps.sink.status({
      numberId,
      providerMessageId: key.id,
      messageId: sentHere.get(key.id) ?? null,
      recipient: key.remoteJid.split('@')[0]!.split(':')[0]!,
      status: mapped,
      at: runtime.clock().toISOString(),
      error: mapped === 'failed' ? { code: 'web_error', title: 'WhatsApp reported the message as failed' } : null,
    });
  };

  // Pairing-code requests, read incrementally from the number's stream (the poll runs every second).
  let seenRevision = -1;
  const pendingRequests = new Map<string, string>();
  const refreshRequests = async () => {
    const events = await deps.store.readStream<WhatsAppEvent>(whatsappStreamId(numberId), {
      fromRevision: seenRevision + 1,
    });
    for (const event of events) {
      seenRevision = event.revision;
      if (event.type === 'WhatsAppPairingCodeRequested') pendingRequests.set(event.data.requestId, event.data.phone);
      if (event.type === 'WhatsAppPairingCodeIssued' && event.data.requestId !== null)
        pendingRequests.delete(event.data.requestId);
    }
  };

  /** Obeys the oldest pending pairing-code request; true when it did. */
  const servePairingRequest = async (): Promise<boolean> => {
    await refreshRequests();
    const [first] = pendingRequests;
    if (first === undefined) return false;
    const request = { requestId: first[0], phone: first[1] };
    if (connected) {
      // already paired: nothing to obey (a later logout must not act on this old request)
      pendingRequests.delete(request.requestId);
      log.info('pairing code request ignored: the number is connected', { numberId });
      return false;
    }
    if (sock === null || !sawQrOnSocket) {
      // the pairing had stopped (expired, or the socket is down): start one for this request
      if (sock === null && opened && reconnectTimer === null) await connect('pairing_code');
      return false;
    }
    const code = await sock.requestPairingCode(request.phone.replace(/\D/g, ''));
    codeActive = true;
    await record({
      type: 'IssuePairingCode',
      data: {
        numberId,
        requestId: request.requestId,
        code,
        expiresAt: new Date(runtime.clock().getTime() + PAIRING_CODE_TTL_MS).toISOString(),
      },
    });
    log.info('whatsapp web pairing code issued', { numberId });
    return true;
  };

  const send = async (request: SendRequest): Promise<SendOutcome> => {
    if (request.content.kind !== 'text')
      return {
        status: 'failed',
        retryable: false,
        code: 'template_unsupported',
        message: 'WhatsApp Web sends text; templates are a Cloud API feature',
      };
    const socket = sock;
    if (socket === null || !connected)
      return {
        status: 'failed',
        retryable: true,
        code: 'not_connected',
        message: 'the WhatsApp Web session is not connected',
      };
    const id = webMessageId(request.messageId);
    sentHere.set(id, request.messageId);
    if (sentHere.size > 10_000) sentHere.delete(sentHere.keys().next().value!);
    try {
      const sent = await socket.sendMessage(toJid(request.to), { text: request.content.text }, { messageId: id });
      return { status: 'sent', providerMessageId: sent?.key.id ?? id };
    } catch (error) {
      const code = statusCodeOf(error);
      const permanent = code === 400 || code === 404 || code === 403;
      return {
        status: 'failed',
        retryable: !permanent,
        code: code === null ? 'network' : String(code),
        message: error instanceof Error ? error.message.slice(0, 300) : 'send failed',
      };
    }
  };

  const startPolling = () => {
    if (pollTimer) return;
    pollTimer = setInterval(() => {
      if (!opened) return;
      void serial(async () => {
        await servePairingRequest();
      });
    }, settings.pollMs);
    pollTimer.unref();
  };

  const adapter: WebChannel = {
    kind: 'web',
    limits: WEB_LIMITS,
    numberId,
    send,
    socket: () => sock,
    isConnected: () => connected,
    getMessage,
    open: async () => {
      if (opened) return;
      opened = true;
      startPolling();
      await serial(() => connect('open'));
    },
    close: async () => {
      if (!opened) return;
      opened = false;
      if (pollTimer) clearInterval(pollTimer);
      pollTimer = null;
      stopTimers();
      await serial(async () => {
        closing = true;
        const current = sock;
        endSocket();
        // no socket (waiting to reconnect, or stayed down): nothing will say it closed, so say it here
        if (current === null)
          await record({
            type: 'RecordDisconnected',
            data: { numberId, reason: 'closed', statusCode: null, next: 'closed', retryInMs: null },
          });
      });
      await work;
    },
    logout: async () => {
      const wasOpen = opened;
      await serial(async () => {
        const current = sock;
        if (current !== null && connected) {
          closing = true;
          await current.logout('logged out by an admin').catch(() => undefined);
        }
        await deps.auth.clear();
        await record({ type: 'RecordLoggedOut', data: { numberId, by: 'admin', statusCode: null } });
      });
      if (wasOpen) await adapter.close?.();
    },
  };
  return adapter;
};
