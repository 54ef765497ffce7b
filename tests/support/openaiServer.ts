import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** What the fake does with one /v1/chat/completions request. */
export type Behaviour =
  | { kind: 'ok'; text?: string; delayMs?: number; usage?: { prompt_tokens: number; completion_tokens: number } | null }
  /** never answers (until the server closes) */
  | { kind: 'hang' }
  | { kind: 'status'; status: number; headers?: Record<string, string>; body?: unknown }
  /** closes the socket without a response */
  | { kind: 'drop' }
  /** 200 with a JSON content type and a body that is not JSON */
  | { kind: 'malformed' };

export type ReceivedRequest = { path: string; authorization: string | undefined; body: Record<string, unknown> };

export type FakeOpenAi = {
  /** base URL for the SDK, ending in /v1 */
  baseUrl: string;
  requests: ReceivedRequest[];
  /** what every request gets once the queue is empty */
  setDefault(behaviour: Behaviour): void;
  /** behaviours for the next requests, in order */
  enqueue(...behaviours: Behaviour[]): void;
  close(): Promise<void>;
};

/**
 * A local OpenAI-compatible server on 127.0.0.1 for the tests: answers POST /v1/chat/completions with
 * the real response shape (id, object, created, model, choices, usage), or is slow, hangs, answers
 * 500 or 429 with Retry-After, drops the connection, or sends malformed JSON, as told.
 */
export const startOpenAiServer = async (initial: Behaviour = { kind: 'ok' }): Promise<FakeOpenAi> => {
  let fallback = initial;
  const queue: Behaviour[] = [];
  const requests: ReceivedRequest[] = [];
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (chunk: Buffer) => (raw += chunk.toString('utf8')));
    req.on('end', () => {
      if (req.method !== 'POST' || !req.url?.endsWith('/chat/completions')) {
        res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"message":"not found"}}');
        return;
      }
      let body: Record<string, unknown> = {};
      try {
        body = JSON.parse(raw) as Record<string, unknown>;
      } catch {
        // recorded as empty
      }
      requests.push({ path: req.url, authorization: req.headers.authorization, body });
      const behaviour = queue.shift() ?? fallback;
      switch (behaviour.kind) {
        case 'ok': {
          const text = behaviour.text ?? 'Hola, ¿en qué puedo ayudarte?';
          const respond = () =>
            res.writeHead(200, { 'content-type': 'application/json' }).end(
              JSON.stringify({
                id: `chatcmpl-${requests.length}`,
                object: 'chat.completion',
                created: Math.floor(Date.now() / 1000),
                model: typeof body.model === 'string' ? body.model : 'fake-model',
                choices: [
                  { index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop', logprobs: null },
                ],
                ...(behaviour.usage === null
                  ? {}
                  : { usage: behaviour.usage ?? { prompt_tokens: 42, completion_tokens: 7, total_tokens: 49 } }),
              }),
            );
          if (behaviour.delayMs) {
            const timer = setTimeout(() => {
              timers.delete(timer);
              if (!res.destroyed) respond();
            }, behaviour.delayMs);
            timers.add(timer);
          } else respond();
          return;
        }
        case 'hang':
          return;
        case 'status':
          res
            .writeHead(behaviour.status, { 'content-type': 'application/json', ...behaviour.headers })
            .end(
              JSON.stringify(
                behaviour.body ?? { error: { message: `fake ${behaviour.status}`, type: 'server_error' } },
              ),
            );
          return;
        case 'drop':
          req.socket.destroy();
          return;
        case 'malformed':
          res.writeHead(200, { 'content-type': 'application/json' }).end('{"id": "chatcmpl-1", "choices": [');
          return;
        default: {
          const _exhaustive: never = behaviour;
          return;
        }
      }
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    requests,
    setDefault: (behaviour) => {
      fallback = behaviour;
    },
    enqueue: (...behaviours) => queue.push(...behaviours),
    close: () =>
      new Promise<void>((resolve) => {
        for (const timer of timers) clearTimeout(timer);
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
};
