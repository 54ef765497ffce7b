// Test helpers for the live metrics WebSocket: an rxjs Subject feed, a WebSocket server on port 0 sharing
// a real app's identity (Postgres-backed ws tokens), and a client that validates every message with zod.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { Subject } from 'rxjs';
import { WebSocket, type ClientOptions } from 'ws';
import type { LiveEvent, LiveFeed, MetricsSnapshot } from '#application/metrics/live.js';
import type { SessionDeps } from '#application/identity/sessions.js';
import { createLogger } from '#infrastructure/logging/logger.js';
import { attachMetricsSocket, type MetricsSocket, type MetricsSocketOptions } from '#interfaces/ws/metricsSocket.js';
import { ServerMessage } from '#interfaces/ws/messages.js';
import { request } from '../../support/app.js';
import { waitFor } from '../../support/events.js';

export type SubjectFeed = LiveFeed & { snapshots: Subject<MetricsSnapshot>; events: Subject<LiveEvent> };

export const subjectFeed = (): SubjectFeed => {
  const snapshots = new Subject<MetricsSnapshot>();
  const events = new Subject<LiveEvent>();
  return { snapshots, events, snapshots$: snapshots.asObservable(), events$: events.asObservable() };
};

export const sampleSnapshot = (position = 1, at = new Date()): MetricsSnapshot => ({
  at: at.toISOString(),
  position,
  messages: { inPerSecond: 1.5, outPerSecond: 1.2, queueDepth: 3, oldestQueuedAgeSeconds: 4 },
  llm: [
    { provider: 'openai', calls: 12, errorRate: 0.25, latencyMs: { p50: 420, p95: 900, p99: 1400 }, circuit: 'closed' },
    { provider: 'faq', calls: 0, errorRate: 0, latencyMs: null, circuit: 'open' },
  ],
  security: { loginFailuresLastMinute: 2, lockoutsLastMinute: 0, lockedAccounts: 0, rateLimitedLastMinute: 1 },
  projections: [{ name: 'accounts', position, lagEvents: 0, lagMs: 0, lastError: null }],
  processes: [{ name: 'app', state: 'running', since: at.toISOString(), instance: 'test-host:1' }],
  whatsapp: { connectedSessions: 0 },
});

export const sampleEvent = (position: number, padding = ''): LiveEvent => ({
  position,
  type: 'MessageReceived',
  streamId: `chat-web-${padding}${position}`,
  occurredAt: new Date().toISOString(),
  correlationId: `corr-${position}`,
  actor: 'system',
});

export type WsServer = {
  url: string;
  port: number;
  socket: MetricsSocket;
  logs: () => Array<Record<string, unknown>>;
  rawLogs: () => string;
  close: () => Promise<void>;
};

/** attachMetricsSocket on a bare http.Server of its own, with the identity of a running test app. */
export const startWsServer = async (
  identity: SessionDeps,
  feed: LiveFeed,
  options: Partial<Omit<MetricsSocketOptions, 'feed' | 'identity' | 'logger'>> = {},
): Promise<WsServer> => {
  let captured = '';
  const stream = new PassThrough();
  stream.on('data', (chunk: Buffer) => (captured += chunk.toString('utf8')));
  const logger = createLogger({ level: 'debug', service: 'app', stream });
  const server = http.createServer((_req, res) => res.writeHead(404).end());
  const socket = attachMetricsSocket(server, { feed, identity, logger, allowedOrigins: [], ...options });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `ws://127.0.0.1:${port}/ws/metrics`,
    port,
    socket,
    rawLogs: () => captured,
    logs: () =>
      captured
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => JSON.parse(l) as Record<string, unknown>),
    close: async () => {
      await socket.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
};

export const wsToken = async (baseUrl: string, access: string): Promise<string> => {
  const response = await request(baseUrl, 'POST', '/api/auth/ws-token', { token: access });
  if (response.status !== 200) throw new Error(`ws-token: ${response.status} ${JSON.stringify(response.body)}`);
  return response.body.ws_token as string;
};

export type TestClient = {
  ws: WebSocket;
  /** every server message so far, each validated against ServerMessage */
  messages: ServerMessage[];
  invalid: unknown[];
  /** frames that arrived binary (the protocol is JSON text only) */
  binaryFrames: number;
  closed: Promise<{ code: number; reason: string }>;
  /** resolves with the HTTP status when the server refused the upgrade */
  refused: Promise<number>;
  opened: Promise<void>;
  next: <T extends ServerMessage['type']>(type: T, timeoutMs?: number) => Promise<Extract<ServerMessage, { type: T }>>;
  send: (data: unknown) => void;
};

export const connect = (url: string, options: ClientOptions = {}): TestClient => {
  const ws = new WebSocket(url, options);
  const messages: ServerMessage[] = [];
  const invalid: unknown[] = [];
  const cursors = new Map<string, number>();
  const client = { binaryFrames: 0 };
  ws.on('message', (data: Buffer, isBinary: boolean) => {
    if (isBinary) client.binaryFrames += 1;
    const parsed = ServerMessage.safeParse(JSON.parse(data.toString('utf8')));
    if (parsed.success) messages.push(parsed.data);
    else invalid.push({ data: data.toString('utf8'), issues: parsed.error.issues });
  });
  ws.on('error', () => undefined);
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString('utf8') })),
  );
  const refused = new Promise<number>((resolve) =>
    ws.on('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      res.resume();
      ws.terminate();
    }),
  );
  const opened = new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('close', () => reject(new Error('closed before open')));
  });
  opened.catch(() => undefined);
  return {
    ws,
    messages,
    invalid,
    get binaryFrames() {
      return client.binaryFrames;
    },
    closed,
    refused,
    opened,
    send: (data) => ws.send(typeof data === 'string' || Buffer.isBuffer(data) ? data : JSON.stringify(data)),
    next: async (type, timeoutMs = 5_000) => {
      let found: ServerMessage | undefined;
      await waitFor(
        () => {
          const from = cursors.get(type) ?? 0;
          const index = messages.findIndex((m, i) => i >= from && m.type === type);
          if (index < 0) return false;
          cursors.set(type, index + 1);
          found = messages[index];
          return true;
        },
        timeoutMs,
        `a ${type} message`,
      );
      return found as never;
    },
  };
};

/** Connects and authenticates with a fresh ws token; resolves once auth_ok arrived. */
export const authenticated = async (url: string, token: string, options: ClientOptions = {}): Promise<TestClient> => {
  const client = connect(url, options);
  await client.opened;
  client.send({ type: 'auth', token });
  await client.next('auth_ok');
  return client;
};

export const rejection = (logs: Array<Record<string, unknown>>, reason: string) =>
  logs.find((line) => line.message === 'SECURITY_WS_REJECTED' && line.reason === reason);

export { waitFor };
