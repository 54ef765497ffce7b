import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ChannelAdapter, ChannelLimits } from '#application/messaging/channel.js';
import type { ChannelFactory } from '#application/messaging/ports.js';

/**
 * A channel double over real HTTP: an adapter that implements the ChannelAdapter port by POSTing each
 * send (with our message id) to a local server, and the server, which records what it received. Used
 * where the worker runs in another OS process (kill tests): what reached the "provider" is counted
 * outside the process that was killed.
 */
export const HTTP_DOUBLE_LIMITS: ChannelLimits = {
  messagesPerSecond: 10_000,
  minGapPerRecipientMs: 0,
  maxTextLength: 4096,
};

export const httpChannelFactory =
  (baseUrl: string): ChannelFactory =>
  (number) =>
    Promise.resolve<ChannelAdapter>({
      kind: number.kind,
      limits: HTTP_DOUBLE_LIMITS,
      async send(request) {
        try {
          const response = await fetch(`${baseUrl}/messages`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({
              messageId: request.messageId,
              numberId: request.numberId,
              to: request.to,
              attempt: request.attempt,
            }),
          });
          const body = (await response.json()) as { id?: string; code?: string; retryable?: boolean };
          if (response.ok && body.id) return { status: 'sent', providerMessageId: body.id };
          return {
            status: 'failed',
            retryable: body.retryable ?? response.status >= 500,
            code: body.code ?? String(response.status),
            message: `local channel answered ${response.status}`,
          };
        } catch (error) {
          return { status: 'failed', retryable: true, code: 'network', message: (error as Error).message };
        }
      },
    });

export type ReceivedSend = { messageId: string; numberId: string; to: string; attempt: number; at: number };

/** The local "provider": records every send; `answer` can make it fail or slow down. */
export const startChannelServer = async (
  answer: (send: ReceivedSend) => Promise<{ status: number; body: Record<string, unknown> } | null> = () =>
    Promise.resolve(null),
) => {
  const received: ReceivedSend[] = [];
  let counter = 0;
  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (chunk: Buffer) => (raw += chunk.toString('utf8')));
    req.on('end', () => {
      const send = { ...(JSON.parse(raw) as Omit<ReceivedSend, 'at'>), at: Date.now() };
      received.push(send);
      void answer(send).then((custom) => {
        const reply = custom ?? { status: 200, body: { id: `local.${++counter}` } };
        res.writeHead(reply.status, { 'content-type': 'application/json' }).end(JSON.stringify(reply.body));
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
};
