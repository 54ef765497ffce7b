import { createRequire } from 'node:module';
import type * as Grpc from '@grpc/grpc-js';

const require = createRequire(import.meta.url);
// eslint-disable-next-line security/detect-non-literal-require -- names of the client's own generated modules, from this file
const generated = (name: string): any => require(`@eventstore/db-client/generated/${name}`);
// The gRPC library the client itself loads (not a dependency of ours).
const grpc: typeof Grpc = createRequire(require.resolve('@eventstore/db-client'))('@grpc/grpc-js');
const { StreamsService } = generated('streams_grpc_pb.js');
const { ReadResp } = generated('streams_pb.js');
const shared = generated('shared_pb.js');

export type FakeEvent = { streamId: string; id: string; type: string; data: Record<string, unknown>; position: number };

/**
 * A read-only fake of EventStoreDB's Streams.Read for one purpose: to drive the adapter's filtered
 * catch-up reads (a filtered subscription to $all ending at caught-up) and its head read through the
 * real client, with the messages the server sends (event, checkpoint, caughtUp). It applies prefix
 * filters like the server, so the test can see what crossed the wire. Everything else is UNIMPLEMENTED.
 */
export const startEsdbReadFake = async (log: readonly FakeEvent[]) => {
  const stats = { subscriptions: 0, eventsSent: 0, allReads: 0 };
  const record = (event: FakeEvent, revision: number) => {
    const recorded = new ReadResp.ReadEvent.RecordedEvent()
      .setId(new shared.UUID().setString(event.id))
      .setStreamIdentifier(new shared.StreamIdentifier().setStreamName(Buffer.from(event.streamId)))
      .setStreamRevision(String(revision))
      .setPreparePosition(String(event.position))
      .setCommitPosition(String(event.position))
      .setData(Buffer.from(JSON.stringify(event.data)))
      .setCustomMetadata(Buffer.from('{}'));
    const map = recorded.getMetadataMap();
    map.set('type', event.type);
    map.set('content-type', 'application/json');
    map.set('created', String(BigInt(Date.now()) * 10_000n));
    stats.eventsSent += 1;
    return new ReadResp().setEvent(
      new ReadResp.ReadEvent().setEvent(recorded).setCommitPosition(String(event.position)),
    );
  };
  const read = (call: any) => {
    const options = call.request.getOptions();
    if (!options.hasAll()) {
      call.destroy({ code: grpc.status.UNIMPLEMENTED, details: 'stream reads: not in this fake' });
      return;
    }
    const all = options.getAll();
    if (!options.hasSubscription()) {
      // The head read: $all backwards from the end, one record.
      stats.allReads += 1;
      const last = log[log.length - 1];
      if (options.getReadDirection() === 1 && all.hasEnd() && last) call.write(record(last, 0));
      call.end();
      return;
    }
    stats.subscriptions += 1;
    const from = all.hasPosition() ? Number(all.getPosition().getCommitPosition()) : 0;
    const filter = options.hasFilter() ? options.getFilter() : null;
    const byType: string[] = filter?.hasEventType() ? filter.getEventType().getPrefixList() : [];
    const byStream: string[] = filter?.hasStreamIdentifier() ? filter.getStreamIdentifier().getPrefixList() : [];
    const matches = (e: FakeEvent) =>
      (byType.length === 0 || byType.some((p) => e.type.startsWith(p))) &&
      (byStream.length === 0 || byStream.some((p) => e.streamId.startsWith(p)));
    call.write(new ReadResp().setConfirmation(new ReadResp.SubscriptionConfirmation().setSubscriptionId('fake')));
    // The server starts at the given position, inclusive.
    log.filter((e) => e.position >= from && matches(e)).forEach((e, i) => call.write(record(e, i)));
    const head = log[log.length - 1]?.position ?? 0;
    call.write(
      new ReadResp().setCheckpoint(
        new ReadResp.Checkpoint().setCommitPosition(String(head)).setPreparePosition(String(head)),
      ),
    );
    call.write(new ReadResp().setCaughtUp(new ReadResp.CaughtUp()));
    // Live from here on: nothing more arrives; the client cancels.
  };
  const unimplemented = (_call: any, callback: any) => callback({ code: grpc.status.UNIMPLEMENTED });
  const server = new grpc.Server();
  server.addService(StreamsService, {
    read,
    append: unimplemented,
    delete: unimplemented,
    tombstone: unimplemented,
    batchAppend: (call: any) => call.destroy({ code: grpc.status.UNIMPLEMENTED }),
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    ),
  );
  return {
    url: `esdb://127.0.0.1:${port}?tls=false`,
    stats,
    close: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
    forceClose: () => server.forceShutdown(),
  };
};
