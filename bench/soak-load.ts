/**
 * The steady load of bench/soak.ts and of the fault tests (tests/integration/ops/kill*.test.ts): logins,
 * simulator messages (POST /api/simulator/messages) and WebSocket clients, at fixed rates, against an
 * app whose address may change (a killed app comes back on another port). Relative imports only: this
 * folder's package.json is not the root one, so the `#layer/*` aliases do not resolve here.
 */
import { WebSocket } from 'ws';

export type LoadOptions = {
  /** the app's base URL now (http://127.0.0.1:<port>); read before every request */
  baseUrl: () => string;
  username: string;
  password: string;
  messagesPerSecond: number;
  loginsPerSecond: number;
  /** WebSocket clients on /ws/metrics kept open (reconnected when the app goes away) */
  webSockets: number;
  /** prefix of the simulator messages' text, so a run's messages can be told apart */
  tag: string;
};

export type Accepted = { messageId: string; chatId: string; from: string; text: string; at: number };

export type LoadStats = {
  messagesSent: number;
  messagesAccepted: number;
  /** refused with a status (e.g. 503 while a dependency is down) or not answered (connection refused) */
  messagesRefused: Record<string, number>;
  loginsOk: number;
  loginsRefused: Record<string, number>;
  wsMessages: number;
  wsConnects: number;
};

const count = (record: Record<string, number>, key: string) => {
  record[key] = (record[key] ?? 0) + 1;
};

const postJson = async (url: string, body: unknown, token?: string) => {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await response.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // not JSON: the status says enough
  }
  return { status: response.status, body: json };
};

export const startLoad = (options: LoadOptions) => {
  const accepted: Accepted[] = [];
  const stats: LoadStats = {
    messagesSent: 0,
    messagesAccepted: 0,
    messagesRefused: {},
    loginsOk: 0,
    loginsRefused: {},
    wsMessages: 0,
    wsConnects: 0,
  };
  let token: string | null = null;
  let stopped = false;
  const inFlight = new Set<Promise<unknown>>();
  const track = (promise: Promise<unknown>) => {
    inFlight.add(promise);
    void promise.finally(() => inFlight.delete(promise));
  };

  // One login at a time for the token the messages and sockets share (argon2 makes each one costly).
  let pendingLogin: Promise<string | null> | null = null;
  const sharedToken = async (): Promise<string | null> => {
    if (token) return token;
    pendingLogin ??= login().finally(() => {
      pendingLogin = null;
    });
    token = await pendingLogin;
    return token;
  };

  const login = async (): Promise<string | null> => {
    try {
      const { status, body } = await postJson(`${options.baseUrl()}/api/auth/login`, {
        username: options.username,
        password: options.password,
      });
      if (status === 200) {
        stats.loginsOk += 1;
        return String(body.access_token);
      }
      count(stats.loginsRefused, String(status));
    } catch (error) {
      count(stats.loginsRefused, (error as Error).name);
    }
    return null;
  };

  let sequence = 0;
  const sendMessage = async () => {
    const current = await sharedToken();
    if (current === null) {
      count(stats.messagesRefused, 'no-token');
      return;
    }
    const n = sequence++;
    const from = `3461${String(n % 500).padStart(7, '0')}`;
    const text = `${options.tag} ${n}`;
    stats.messagesSent += 1;
    try {
      const { status, body } = await postJson(`${options.baseUrl()}/api/simulator/messages`, { from, text }, current);
      if (status === 202) {
        stats.messagesAccepted += 1;
        accepted.push({ messageId: String(body.messageId), chatId: String(body.chatId), from, text, at: Date.now() });
      } else {
        count(stats.messagesRefused, String(status));
        if (status === 401 && token === current) token = null;
      }
    } catch (error) {
      count(stats.messagesRefused, (error as Error).name);
    }
  };

  const sockets = new Set<WebSocket>();
  const openSocket = async (): Promise<void> => {
    if (stopped) return;
    let socket: WebSocket | null = null;
    try {
      const current = await sharedToken();
      if (current === null) throw new Error('no token');
      const { status, body } = await postJson(`${options.baseUrl()}/api/auth/ws-token`, {}, current);
      if (status !== 200) throw new Error(`ws-token ${status}`);
      socket = new WebSocket(`${options.baseUrl().replace('http', 'ws')}/ws/metrics`);
      sockets.add(socket);
      const wsToken = String(body.ws_token);
      socket.on('open', () => {
        stats.wsConnects += 1;
        socket!.send(JSON.stringify({ type: 'auth', token: wsToken }));
      });
      socket.on('message', () => {
        stats.wsMessages += 1;
      });
      socket.on('error', () => undefined);
      socket.on('close', () => {
        sockets.delete(socket!);
        if (!stopped) setTimeout(() => void openSocket(), 500);
      });
    } catch {
      if (socket) sockets.delete(socket);
      if (!stopped) setTimeout(() => void openSocket(), 500);
    }
  };

  const timers = [
    setInterval(() => track(sendMessage()), 1000 / options.messagesPerSecond),
    ...(options.loginsPerSecond > 0
      ? [
          setInterval(
            () =>
              track(
                login().then((fresh) => {
                  if (fresh !== null) token = fresh;
                }),
              ),
            1000 / options.loginsPerSecond,
          ),
        ]
      : []),
  ];
  for (let i = 0; i < options.webSockets; i++) void openSocket();

  return {
    accepted,
    stats,
    /** stops sending and waits for the requests in flight */
    stop: async () => {
      stopped = true;
      for (const timer of timers) clearInterval(timer);
      for (const socket of sockets) socket.terminate();
      await Promise.allSettled([...inFlight]);
    },
  };
};
