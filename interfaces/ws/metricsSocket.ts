// GET /ws/metrics: live metrics over WebSocket (protocol in docs/websocket.md). One subscription to the
// LiveFeed for the whole process, each message serialised once and handed to every authenticated client;
// a client that does not read loses snapshots first and its connection next, never anyone else's data.
import type http from 'node:http';
import type { Duplex } from 'node:stream';
import type { Subscription } from 'rxjs';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import type { LiveFeed } from '#application/metrics/live.js';
import { consumeWsToken } from '#application/identity/sessions.js';
import type { IdentityDeps } from '#application/identity/login.js';
import { acceptCorrelationId } from '#infrastructure/logging/context.js';
import type { Logger } from '#infrastructure/logging/logger.js';
import { clientAddress, originAllowed, queryCarriesCredential, refuseUpgrade, requestUrl } from './handshake.js';
import { ClientMessage, CloseCode, MAX_TOKEN_LENGTH, type ServerMessage } from './messages.js';
import { DEFAULT_METRICS_SOCKET_LIMITS, type MetricsSocketLimits } from './limits.js';
import { Rejections, tokenRejection, type Rejection } from './rejections.js';

export { DEFAULT_METRICS_SOCKET_LIMITS, type MetricsSocketLimits };

export type MetricsSocketOptions = {
  feed: LiveFeed;
  identity: IdentityDeps;
  /** CORS_ORIGINS; the server's own origin is accepted too unless allowSameOrigin is false */
  allowedOrigins: readonly string[];
  allowSameOrigin?: boolean;
  logger: Logger;
  limits?: Partial<MetricsSocketLimits>;
  /** TRUST_PROXY, with Express's meaning */
  trustProxy?: boolean | number;
  path?: string;
};

export type MetricsSocketStats = {
  clients: number;
  pending: number;
  /** bytes queued for the authenticated clients, all together */
  bufferedBytes: number;
  droppedSnapshots: number;
  slowConsumerDisconnects: number;
};

export type MetricsSocket = {
  /** tells every client (closing notice, then close 1001) and waits for them, at most closeGraceMs */
  close(): Promise<void>;
  /** authenticated clients receiving the stream */
  clients(): number;
  stats(): MetricsSocketStats;
};

type Client = {
  ws: WebSocket;
  ip: string;
  origin: string | null;
  userAgent: string | null;
  correlationId: string;
  state: 'awaiting_auth' | 'authenticating' | 'open' | 'closing';
  accountId: string | null;
  /** the session the ws token was issued under: the connection lives only as long as it */
  sessionId: string | null;
  /** counted in perUser (authenticated and not yet gone) */
  countedForUser: boolean;
  alive: boolean;
  droppedInARow: number;
  timer: NodeJS.Timeout | null;
};

const encode = (message: ServerMessage): Buffer => Buffer.from(JSON.stringify(message), 'utf8');
/** Messages are serialised once into a Buffer, which ws would otherwise send as a binary frame. */
const sendText = (ws: WebSocket, payload: Buffer) => ws.send(payload, { binary: false });
const text = (data: RawData): string =>
  (Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer)).toString('utf8');
const increment = (counts: Map<string, number>, key: string, by: number) => {
  const next = (counts.get(key) ?? 0) + by;
  if (next <= 0) counts.delete(key);
  else counts.set(key, next);
};

export const attachMetricsSocket = (server: http.Server, options: MetricsSocketOptions): MetricsSocket => {
  const limits: MetricsSocketLimits = { ...DEFAULT_METRICS_SOCKET_LIMITS, ...options.limits };
  const { feed, identity, logger } = options;
  const path = options.path ?? '/ws/metrics';
  const allowed = new Set(options.allowedOrigins);
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: limits.maxPayloadBytes,
    perMessageDeflate: false,
    clientTracking: true,
  });
  const everyone = new Set<Client>();
  const streaming = new Set<Client>();
  const perIp = new Map<string, number>();
  const perUser = new Map<string, number>();
  const stats = { droppedSnapshots: 0, slowConsumerDisconnects: 0 };
  let lastSnapshot: Buffer | null = null;
  let closing: Promise<void> | null = null;

  const who = (client: Client) => ({
    ip: client.ip,
    origin: client.origin,
    accountId: client.accountId,
    correlationId: client.correlationId,
  });

  const setTimer = (client: Client, ms: number, fn: () => void) => {
    if (client.timer) clearTimeout(client.timer);
    client.timer = setTimeout(fn, ms);
    client.timer.unref();
  };

  /** Ends a connection the server gave up on; the socket is destroyed if the close handshake stalls. */
  const closeClient = (client: Client, closeCode: number, reason: string, notice: ServerMessage | null) => {
    if (client.state === 'closing') return;
    client.state = 'closing';
    streaming.delete(client);
    if (client.ws.readyState !== WebSocket.OPEN) return;
    if (notice) sendText(client.ws, encode(notice));
    client.ws.close(closeCode, reason);
    setTimer(client, limits.closeGraceMs, () => client.ws.terminate());
  };

  const reject = (client: Client, rejection: Rejection) => {
    logger.warn('SECURITY_WS_REJECTED', {
      reason: rejection.reason,
      closeCode: rejection.closeCode,
      ...who(client),
      userAgent: client.userAgent,
    });
    closeClient(client, rejection.closeCode, rejection.reason, {
      type: 'error',
      code: rejection.reason,
      message: rejection.message,
    });
  };

  const slowConsumer = (client: Client) => {
    stats.slowConsumerDisconnects += 1;
    logger.warn('ws client too slow, disconnected', {
      ...who(client),
      bufferedBytes: client.ws.bufferedAmount,
      droppedInARow: client.droppedInARow,
    });
    const message = 'The client did not read the stream fast enough; reconnect with a new ws token.';
    closeClient(client, CloseCode.tryAgainLater, 'slow_consumer', {
      type: 'closing',
      reason: 'slow_consumer',
      closeCode: CloseCode.tryAgainLater,
      message,
    });
  };

  /** Snapshots are droppable (the next one supersedes them); events are not, so they count toward the hard limit. */
  const deliver = (client: Client, payload: Buffer, droppable: boolean) => {
    const buffered = client.ws.bufferedAmount;
    if (buffered > limits.maxBufferedBytes) return slowConsumer(client);
    if (droppable && buffered > limits.dropSnapshotsAboveBytes) {
      stats.droppedSnapshots += 1;
      client.droppedInARow += 1;
      if (client.droppedInARow > limits.maxDroppedSnapshots) slowConsumer(client);
      return;
    }
    if (droppable) client.droppedInARow = 0;
    sendText(client.ws, payload);
  };

  const broadcast = (message: ServerMessage, droppable: boolean) => {
    try {
      const payload = encode(message);
      if (message.type === 'snapshot') lastSnapshot = payload;
      for (const client of streaming) deliver(client, payload, droppable);
    } catch (error) {
      logger.error('ws broadcast failed', { error, type: message.type });
    }
  };

  const subscriptions: Subscription[] = [
    feed.snapshots$.subscribe({
      next: (data) => broadcast({ type: 'snapshot', data }, true),
      error: (error: unknown) => logger.error('live metrics snapshots ended with an error', { error }),
    }),
    feed.events$.subscribe({
      next: (data) => broadcast({ type: 'event', data }, false),
      error: (error: unknown) => logger.error('live metrics events ended with an error', { error }),
    }),
  ];

  const authenticate = async (client: Client, data: RawData, isBinary: boolean) => {
    let token: string;
    try {
      const parsed = isBinary ? null : ClientMessage.safeParse(JSON.parse(text(data)));
      if (!parsed?.success) return reject(client, Rejections.malformedMessage);
      token = parsed.data.token;
    } catch (_error) {
      return reject(client, Rejections.malformedMessage);
    }
    let accountId: string;
    let sessionId: string;
    try {
      const context = {
        correlationId: client.correlationId,
        actor: 'system',
        ip: client.ip,
        userAgent: client.userAgent,
      };
      ({ accountId, sessionId } = await consumeWsToken(identity, token, 'metrics:read', context));
    } catch (error) {
      const rejection = tokenRejection(error);
      if (!rejection) logger.error('ws token check failed', { error, correlationId: client.correlationId });
      return reject(client, rejection ?? Rejections.internal);
    }
    // The client left, sent something else, or the server began to stop while the token was checked.
    if (client.state !== 'authenticating' || client.ws.readyState !== WebSocket.OPEN) return;
    client.accountId = accountId;
    client.sessionId = sessionId;
    if ((perUser.get(accountId) ?? 0) >= limits.maxConnectionsPerUser) return reject(client, Rejections.tooManyForUser);
    client.state = 'open';
    increment(perUser, accountId, 1);
    client.countedForUser = true;
    sendText(client.ws, encode({ type: 'auth_ok' }));
    if (lastSnapshot) sendText(client.ws, lastSnapshot);
    streaming.add(client);
    logger.info('ws client authenticated', { ...who(client), clients: streaming.size });
  };

  /** A token that travelled in a URL may sit in proxy logs and browser history: consume it so nobody can replay it. */
  const burnQueryTokens = (client: Client, search: URLSearchParams) => {
    const context = {
      correlationId: client.correlationId,
      actor: 'system',
      ip: client.ip,
      userAgent: client.userAgent,
    };
    for (const [, value] of search) {
      if (value.length > 0 && value.length <= MAX_TOKEN_LENGTH)
        void consumeWsToken(identity, value, 'metrics:read', context).catch(() => undefined);
    }
  };

  const onMessage = (client: Client, data: RawData, isBinary: boolean) => {
    if (client.state === 'awaiting_auth') {
      client.state = 'authenticating';
      if (client.timer) clearTimeout(client.timer);
      void authenticate(client, data, isBinary);
    } else if (client.state !== 'closing') {
      reject(client, Rejections.unexpectedMessage);
    }
  };

  const onConnection = (ws: WebSocket, req: http.IncomingMessage, url: URL) => {
    const userAgent = req.headers['user-agent']?.slice(0, 512) ?? null;
    const client: Client = {
      ws,
      ip: clientAddress(req, options.trustProxy ?? false),
      origin: req.headers.origin ?? null,
      userAgent,
      correlationId: acceptCorrelationId(req.headers['x-correlation-id']),
      state: 'awaiting_auth',
      accountId: null,
      sessionId: null,
      countedForUser: false,
      alive: true,
      droppedInARow: 0,
      timer: null,
    };
    ws.on('error', (error) => logger.debug('ws connection error', { error, ...who(client) }));
    if (queryCarriesCredential(url.searchParams)) {
      burnQueryTokens(client, url.searchParams);
      return reject(client, Rejections.tokenInQuery);
    }
    if (everyone.size >= limits.maxConnections) return reject(client, Rejections.tooMany);
    if ((perIp.get(client.ip) ?? 0) >= limits.maxConnectionsPerIp) return reject(client, Rejections.tooManyForIp);
    everyone.add(client);
    increment(perIp, client.ip, 1);
    ws.on('close', () => {
      if (client.timer) clearTimeout(client.timer);
      everyone.delete(client);
      streaming.delete(client);
      increment(perIp, client.ip, -1);
      if (client.countedForUser && client.accountId !== null) increment(perUser, client.accountId, -1);
      client.countedForUser = false;
    });
    ws.on('pong', () => {
      client.alive = true;
    });
    ws.on('message', (data, isBinary) => onMessage(client, data, isBinary));
    setTimer(client, limits.authTimeoutMs, () => {
      if (client.state === 'awaiting_auth') reject(client, Rejections.authTimeout);
    });
  };

  const onSocketError = () => undefined;
  const onUpgrade = (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = requestUrl(req);
    if (url?.pathname !== path) {
      // Another upgrade handler may own this path; if there is none, answer instead of leaving the socket hanging.
      if (server.listenerCount('upgrade') === 1) refuseUpgrade(socket, 404, 'not_found');
      return;
    }
    socket.on('error', onSocketError);
    if (closing) return refuseUpgrade(socket, 503, 'server_shutting_down');
    const origin = req.headers.origin;
    if (!originAllowed(origin, req.headers.host, allowed, options.allowSameOrigin ?? true)) {
      logger.warn('SECURITY_WS_REJECTED', {
        reason: 'origin_refused',
        status: 403,
        origin,
        ip: clientAddress(req, options.trustProxy ?? false),
      });
      return refuseUpgrade(socket, 403, 'origin_refused');
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      socket.off('error', onSocketError);
      onConnection(ws, req, url);
    });
  };
  server.on('upgrade', onUpgrade);

  /**
   * A session that ends (logout, reset, role change, disable, refresh-token reuse) takes its open
   * WebSockets with it: at once when this process ended it, otherwise at the next sweep of the
   * session allowlist (every sessionSweepMs), which other processes' revocations reach through the
   * sessions projection. Close 4401 `session_ended`, after a `closing` notice.
   */
  const endSession = (client: Client) => {
    // the event and a sweep can both find it ended: one close, one log line
    if (client.state === 'closing') return;
    logger.info('ws client closed: its session ended', who(client));
    const message = 'The session of this connection has ended (logout, password or role change, or disabled account).';
    closeClient(client, CloseCode.unauthorized, 'session_ended', {
      type: 'closing',
      reason: 'session_ended',
      closeCode: CloseCode.unauthorized,
      message,
    });
  };
  const stopListening = identity.sessions.onEnded((sessionId) => {
    for (const client of streaming) if (client.sessionId === sessionId) endSession(client);
  });
  let sweeping = false;
  const sweep = setInterval(() => {
    if (sweeping || streaming.size === 0) return;
    sweeping = true;
    const open = [...streaming];
    const ids = [...new Set(open.map((c) => c.sessionId).filter((id): id is string => id !== null))];
    identity.sessions
      .endedAmong(ids)
      .then((ended) => {
        for (const client of open) if (client.sessionId !== null && ended.has(client.sessionId)) endSession(client);
      })
      .catch((error: unknown) => logger.warn('ws session sweep failed; retrying', { error }))
      .finally(() => {
        sweeping = false;
      });
  }, limits.sessionSweepMs);
  sweep.unref();

  const heartbeat = setInterval(() => {
    for (const client of everyone) {
      if (client.state === 'closing') continue;
      if (!client.alive) {
        logger.info('ws client missed a heartbeat, disconnected', who(client));
        client.ws.terminate();
        continue;
      }
      client.alive = false;
      client.ws.ping();
    }
  }, limits.heartbeatIntervalMs);
  heartbeat.unref();

  const shutdown = async () => {
    clearInterval(heartbeat);
    clearInterval(sweep);
    stopListening();
    for (const subscription of subscriptions) subscription.unsubscribe();
    const message = 'The server is stopping; reconnect in a few seconds.';
    const closed = [...wss.clients].map(
      (ws) =>
        new Promise<void>((resolve) =>
          ws.readyState === WebSocket.CLOSED ? resolve() : ws.once('close', () => resolve()),
        ),
    );
    for (const client of everyone) {
      const notice =
        client.state === 'open'
          ? ({ type: 'closing', reason: 'server_shutdown', closeCode: CloseCode.goingAway, message } as const)
          : null;
      closeClient(client, CloseCode.goingAway, 'server_shutdown', notice);
    }
    let timeout: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(closed),
      new Promise<void>((resolve) => (timeout = setTimeout(resolve, limits.closeGraceMs))),
    ]);
    clearTimeout(timeout);
    for (const ws of wss.clients) ws.terminate();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
    // Until here late upgrades got a 503; from now on the HTTP server decides (it is about to close too).
    server.off('upgrade', onUpgrade);
    logger.info('ws metrics endpoint closed');
  };

  return {
    close: () => (closing ??= shutdown()),
    clients: () => streaming.size,
    stats: () => {
      let bufferedBytes = 0;
      for (const client of streaming) bufferedBytes += client.ws.bufferedAmount;
      return { clients: streaming.size, pending: everyone.size - streaming.size, bufferedBytes, ...stats };
    },
  };
};
