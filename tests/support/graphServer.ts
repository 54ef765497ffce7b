/**
 * A local WhatsApp Cloud API (Graph API) server for tests: node:http on 127.0.0.1, port 0. It records
 * every request and answers as Meta does: the real success payload, the real error shape and codes,
 * 429 with Retry-After, a bare 500, a hang (for timeouts) or a dropped connection.
 *
 *   const graph = await startGraphServer();
 *   graph.enqueue({ kind: 'error', code: 131026 });   // next request; later ones fall back to success
 *   ... graph.requests[0].body.to ...
 *   await graph.close();
 *
 * With `statusWebhook`, it also behaves like Meta after accepting a message: it POSTs signed status
 * webhooks (sent, delivered, ...) echoing `biz_opaque_callback_data` to the app. A `hang` or `drop`
 * with `accepted: true` is a send Meta took although the sender never heard back (the in-doubt case).
 */
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { META_EXAMPLES, metaErrorBody, signedWebhook, statusWebhookPayload } from './cloudPayloads.js';

export { metaErrorBody, signedWebhook, statusWebhookPayload };

export type GraphBehaviour =
  /** 200 with Meta's success body and a fresh wamid */
  | { kind: 'success'; wamid?: string }
  /** Meta's error body: {"error":{"message","type","code","error_data":{"messaging_product","details"},"error_subcode","fbtrace_id"}} */
  | {
      kind: 'error';
      code: number;
      httpStatus?: number;
      message?: string;
      details?: string;
      subcode?: number;
      retryAfter?: string;
    }
  /** any status with any body (e.g. a bare 500 from a proxy) */
  | { kind: 'raw'; httpStatus: number; body?: string; contentType?: string; retryAfter?: string }
  /** read the request, never answer (until close); `accepted`: Meta took it anyway (statuses follow) */
  | { kind: 'hang'; accepted?: boolean }
  /** send the status line and headers, then stall before the body */
  | { kind: 'stall' }
  /** read the request, then destroy the socket without a byte of answer */
  | { kind: 'drop'; accepted?: boolean };

export type GraphRequest = {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  rawBody: string;
  /** the parsed JSON body, or undefined when it was not JSON */
  body: any;
  /** when it was received, in order */
  seq: number;
};

export type GraphServer = {
  /** base URL, e.g. http://127.0.0.1:41234 (use as WHATSAPP_GRAPH_URL) */
  url: string;
  requests: GraphRequest[];
  /** behaviours for the next requests, in order; afterwards `fallback` applies */
  enqueue: (...behaviours: GraphBehaviour[]) => void;
  /** what every request gets once the queue is empty (default success) */
  setFallback: (behaviour: GraphBehaviour) => void;
  /** resolves when at least `count` requests were received */
  waitForRequests: (count: number) => Promise<GraphRequest[]>;
  /** our message ids (biz_opaque_callback_data) of every request, in arrival order, duplicates included */
  messageIds: () => string[];
  /** status webhooks sent to the app so far, with the app's answer (or the network error's code) */
  webhookDeliveries: StatusDelivery[];
  /** resolves when every status webhook started so far has been answered */
  settleWebhooks: () => Promise<void>;
  close: () => Promise<void>;
};

export type StatusDelivery = {
  messageId: string | null;
  wamid: string;
  status: string;
  answer: number | string;
};

export type GraphServerOptions = {
  /** after accepting a message, POST these statuses (default sent, delivered) to the app, signed */
  statusWebhook?: {
    url: string;
    appSecret: string;
    phoneNumberId: string;
    statuses?: readonly ('sent' | 'delivered' | 'read')[];
  };
};

let wamidCounter = 0;
/** wamid-shaped ids, unique within the test process */
export const newWamid = (): string =>
  `wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI${(wamidCounter += 1).toString(36).toUpperCase().padStart(8, '0')}A=`;

const json = (res: ServerResponse, status: number, body: unknown, extra: Record<string, string> = {}) => {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=UTF-8',
    'content-length': Buffer.byteLength(text),
    'x-fb-trace-id': 'AbCdEfGhIjK',
    ...extra,
  });
  res.end(text);
};

export const startGraphServer = async (options: GraphServerOptions = {}): Promise<GraphServer> => {
  const requests: GraphRequest[] = [];
  const webhookDeliveries: StatusDelivery[] = [];
  const pendingWebhooks = new Set<Promise<void>>();
  const queue: GraphBehaviour[] = [];
  let fallback: GraphBehaviour = { kind: 'success' };
  const waiters: { count: number; resolve: (requests: GraphRequest[]) => void }[] = [];
  const sockets = new Set<Socket>();

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const rawBody = Buffer.concat(chunks).toString('utf8');
      let body: unknown;
      try {
        body = JSON.parse(rawBody);
      } catch {
        body = undefined;
      }
      const request: GraphRequest = {
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        rawBody,
        body,
        seq: requests.length,
      };
      requests.push(request);
      for (const waiter of waiters.filter((w) => requests.length >= w.count)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(requests.slice());
      }
      answer(queue.shift() ?? fallback, res, request);
    });
  });

  /** Meta's statuses for an accepted message, one webhook each, in order. */
  const reportStatuses = (request: GraphRequest, wamid: string) => {
    const hook = options.statusWebhook;
    if (hook === undefined) return;
    const body = request.body as { to?: unknown; biz_opaque_callback_data?: unknown } | undefined;
    const messageId = typeof body?.biz_opaque_callback_data === 'string' ? body.biz_opaque_callback_data : null;
    const recipient = typeof body?.to === 'string' ? body.to : '';
    const delivery = (async () => {
      for (const [i, status] of (hook.statuses ?? ['sent', 'delivered']).entries()) {
        const payload = statusWebhookPayload({
          phoneNumberId: hook.phoneNumberId,
          wamid,
          recipient,
          status,
          messageId,
          timestamp: 1_780_000_000 + request.seq * 10 + i,
        });
        const signed = signedWebhook(payload, hook.appSecret);
        let answer: number | string;
        try {
          const res = await fetch(hook.url, { method: 'POST', body: signed.body, headers: signed.headers });
          await res.arrayBuffer();
          answer = res.status;
        } catch (error) {
          const code = (error as { cause?: { code?: unknown } }).cause?.code;
          answer = typeof code === 'string' ? code : 'network';
        }
        webhookDeliveries.push({ messageId, wamid, status, answer });
      }
    })();
    pendingWebhooks.add(delivery);
    void delivery.finally(() => pendingWebhooks.delete(delivery));
  };

  const answer = (behaviour: GraphBehaviour, res: ServerResponse, request: GraphRequest) => {
    switch (behaviour.kind) {
      case 'success': {
        const input = (request.body as { to?: unknown } | undefined)?.to;
        const to = typeof input === 'string' ? input : '';
        const wamid = behaviour.wamid ?? newWamid();
        json(res, 200, {
          messaging_product: 'whatsapp',
          contacts: [{ input: to, wa_id: to }],
          messages: [{ id: wamid }],
        });
        reportStatuses(request, wamid);
        return;
      }
      case 'error': {
        const status = behaviour.httpStatus ?? META_EXAMPLES[behaviour.code]?.httpStatus ?? 400;
        json(
          res,
          status,
          metaErrorBody(behaviour),
          behaviour.retryAfter !== undefined ? { 'retry-after': behaviour.retryAfter } : {},
        );
        return;
      }
      case 'raw':
        res.writeHead(behaviour.httpStatus, {
          'content-type': behaviour.contentType ?? 'text/html',
          ...(behaviour.retryAfter !== undefined ? { 'retry-after': behaviour.retryAfter } : {}),
        });
        res.end(behaviour.body ?? '');
        return;
      case 'hang':
        if (behaviour.accepted === true) reportStatuses(request, newWamid());
        return;
      case 'stall':
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' });
        res.write('{"messaging_product":');
        return;
      case 'drop':
        if (behaviour.accepted === true) reportStatuses(request, newWamid());
        res.socket?.destroy();
        return;
      default: {
        const _exhaustive: never = behaviour;
      }
    }
  };

  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    enqueue: (...behaviours) => queue.push(...behaviours),
    setFallback: (behaviour) => {
      fallback = behaviour;
    },
    waitForRequests: (count) =>
      requests.length >= count
        ? Promise.resolve(requests.slice())
        : new Promise((resolve) => waiters.push({ count, resolve })),
    messageIds: () =>
      requests.map((request) => {
        const id = (request.body as { biz_opaque_callback_data?: unknown } | undefined)?.biz_opaque_callback_data;
        return typeof id === 'string' ? id : '';
      }),
    webhookDeliveries,
    settleWebhooks: async () => {
      while (pendingWebhooks.size > 0) await Promise.all([...pendingWebhooks]);
    },
    close: async () => {
      await Promise.all([...pendingWebhooks]);
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
};
