import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';

/**
 * A minimal stand-in for an EventStoreDB node: an HTTP/2 (h2c) server on 127.0.0.1 that the real
 * `@eventstore/db-client` talks gRPC to. It decodes nothing and sends no messages: each call is answered
 * with a scripted gRPC error (status and trailers, which is how the server reports a deleted stream, a
 * wrong expected version or an unavailable node) or left hanging. That is enough to drive the client's
 * own error conversion into our adapter's mapping; it is not a server and proves nothing about one.
 */
export type StandInReply =
  { kind: 'hang' } | { kind: 'error'; status: number; message?: string; trailers?: Record<string, string> };

export type EsdbStandIn = {
  url: string;
  /** calls received, by gRPC method path (e.g. /event_store.client.streams.Streams/Read) */
  calls(path: string): number;
  /** the replies of the next calls to `path`, in order; once used up, calls hang */
  script(path: string, ...replies: StandInReply[]): void;
  close(): Promise<void>;
};

export const READ = '/event_store.client.streams.Streams/Read';
export const APPEND = '/event_store.client.streams.Streams/Append';

/** gRPC status codes used here. */
export const GRPC = { NOT_FOUND: 5, FAILED_PRECONDITION: 9, UNIMPLEMENTED: 12, UNAVAILABLE: 14 } as const;

export const startEsdbStandIn = async (): Promise<EsdbStandIn> => {
  const counts = new Map<string, number>();
  const scripts = new Map<string, StandInReply[]>();
  const hanging = new Set<http2.ServerHttp2Stream>();
  const server = http2.createServer();
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on('session', (session) => {
    sessions.add(session);
    session.on('close', () => sessions.delete(session));
  });
  server.on('stream', (stream, headers) => {
    const path = String(headers[':path']);
    counts.set(path, (counts.get(path) ?? 0) + 1);
    stream.on('error', () => undefined);
    // Server features unknown: the client then assumes an old server and uses the plain RPCs.
    const reply: StandInReply = path.includes('ServerFeatures')
      ? { kind: 'error', status: GRPC.UNIMPLEMENTED }
      : (scripts.get(path)?.shift() ?? { kind: 'hang' });
    // Read the request through so the client's writes never block.
    stream.on('data', () => undefined);
    if (reply.kind === 'hang') {
      hanging.add(stream);
      stream.on('close', () => hanging.delete(stream));
      return;
    }
    // A trailers-only response: the way a gRPC server answers a call with an error.
    stream.respond(
      {
        ':status': 200,
        'content-type': 'application/grpc+proto',
        'grpc-status': String(reply.status),
        'grpc-message': encodeURIComponent(reply.message ?? 'stand-in'),
        ...reply.trailers,
      },
      { endStream: true },
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `esdb://127.0.0.1:${port}?tls=false`,
    calls: (path) => counts.get(path) ?? 0,
    script: (path, ...replies) => scripts.set(path, [...(scripts.get(path) ?? []), ...replies]),
    close: async () => {
      for (const stream of hanging) stream.close(http2.constants.NGHTTP2_CANCEL);
      for (const session of sessions) session.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
};
