/**
 * Emmett's PostgreSQL event store (@event-driven-io/emmett-postgresql 0.42.0) as a benchmark target.
 *
 * Emmett is installed in bench/node_modules only (`npm --prefix bench install`): its commander
 * range conflicts with ours. It is imported dynamically by bare name, which Node resolves from this
 * file's folder (bench/node_modules), and typed here with just the calls we make, so the root type
 * check and lint pass on a clone where the bench dependencies are not installed.
 */
import { deliveryCounter, type BenchTarget, type Delivery } from './event-store-workloads.js';

type Executor = { readonly __executor: unique symbol };
type Dumbo = { execute: Executor; close(): Promise<void> };
type EmmettEvent = { type: string; data: Record<string, unknown>; metadata?: Record<string, unknown> };
type RecordedMessage = { metadata: { globalPosition: bigint } };
type BatchResult = { currentGlobalPosition: bigint; messages: RecordedMessage[]; areMessagesLeft: boolean };
type Puller = { start(options: { startFrom: 'BEGINNING' }): Promise<void> };
type Consumer = {
  reactor(options: {
    processorId: string;
    startFrom: 'BEGINNING';
    eachMessage: (message: RecordedMessage) => void;
  }): unknown;
  start(): Promise<void>;
};
type EmmettStore = {
  appendToStream(
    streamName: string,
    events: readonly EmmettEvent[],
    options: { expectedStreamVersion: bigint },
  ): Promise<{ nextExpectedStreamVersion: bigint }>;
  consumer(options: {
    stopWhen?: { noMessagesLeft?: boolean };
    pulling?: { batchSize?: number; pullingFrequencyInMs?: number };
  }): Consumer;
  schema: { migrate(): Promise<unknown> };
  close(): Promise<void>;
};
type EmmettPostgresModule = {
  getPostgreSQLEventStore(
    connectionString: string,
    options: { connectionOptions: { dumbo: Dumbo }; schema: { autoMigration: 'None' } },
  ): EmmettStore;
  readMessagesBatch(execute: Executor, options: { after: bigint; batchSize: number }): Promise<BatchResult>;
  postgreSQLEventStoreMessageBatchPuller(options: {
    executor: Executor;
    batchSize: number;
    pullingFrequencyInMs: number;
    stopWhen: { noMessagesLeft: boolean };
    signal: AbortSignal;
    eachBatch: (messages: RecordedMessage[]) => void;
  }): Puller;
};
type DumboModule = { dumbo(options: { connectionString: string }): Dumbo };

// Variables, not literals: the type checker must not try to resolve these from the repo root.
const EMMETT_POSTGRESQL: string = '@event-driven-io/emmett-postgresql';
const DUMBO: string = '@event-driven-io/dumbo';

const load = async (): Promise<{ emmett: EmmettPostgresModule; dumbo: DumboModule }> => {
  try {
    return {
      emmett: (await import(EMMETT_POSTGRESQL)) as EmmettPostgresModule,
      dumbo: (await import(DUMBO)) as DumboModule,
    };
  } catch (error) {
    throw new Error('Emmett is not installed: run `npm --prefix bench install`', { cause: error });
  }
};

/** Where Node found Emmett (printed so a reader can check it came from bench/node_modules). */
export const emmettLocation = (): string => import.meta.resolve(EMMETT_POSTGRESQL);

export type EmmettTarget = BenchTarget & {
  /** Emmett's other ways to catch up, measured for reference (see README) */
  catchUpVariants: Record<string, () => Promise<Delivery>>;
};

/** Emmett on its own database; the schema is migrated up front so no append pays for it. */
export const emmettOnPostgres = async (connectionString: string): Promise<EmmettTarget> => {
  const { emmett, dumbo } = await load();
  // Emmett's default pool: a pg.Pool with pg's default size (10), the same as ours.
  const pool = dumbo.dumbo({ connectionString });
  const store = emmett.getPostgreSQLEventStore(connectionString, {
    connectionOptions: { dumbo: pool },
    schema: { autoMigration: 'None' },
  });
  await store.schema.migrate();

  /** The message batch puller Emmett's consumers run on, without checkpoints: the closest match to subscribeToAll. */
  const pullerCatchUp = async (batchSize: number, pullingFrequencyInMs: number) => {
    const counter = deliveryCounter();
    const puller = emmett.postgreSQLEventStoreMessageBatchPuller({
      executor: pool.execute,
      batchSize,
      pullingFrequencyInMs,
      stopWhen: { noMessagesLeft: true },
      signal: new AbortController().signal,
      eachBatch: (messages) => {
        for (const message of messages) counter.add(message.metadata.globalPosition);
      },
    });
    await puller.start({ startFrom: 'BEGINNING' });
    return counter.result();
  };

  return {
    name: 'emmett',
    async append(stream, events) {
      // Emmett's stream version counts events (0 = no stream), so the cursor's length is the expected version.
      await store.appendToStream(stream.name, events, { expectedStreamVersion: BigInt(stream.length) });
    },
    async readAll(pageSize) {
      const counter = deliveryCounter();
      let after = 0n;
      for (;;) {
        const batch = await emmett.readMessagesBatch(pool.execute, { after, batchSize: pageSize });
        for (const message of batch.messages) counter.add(message.metadata.globalPosition);
        if (!batch.areMessagesLeft) return counter.result();
        after = batch.currentGlobalPosition;
      }
    },
    catchUp: () => pullerCatchUp(500, 0),
    catchUpVariants: {
      /** the puller with its defaults (100 per batch, 50 ms between full batches) */
      'puller-defaults': () => pullerCatchUp(100, 50),
      /** what the docs show: a consumer with a reactor, default pulling, a checkpoint stored per message */
      'consumer-reactor-defaults': async () => {
        const counter = deliveryCounter();
        const consumer = store.consumer({ stopWhen: { noMessagesLeft: true } });
        consumer.reactor({
          processorId: `bench-${Date.now()}-${Math.random().toString(36).slice(2)}`,
          startFrom: 'BEGINNING',
          eachMessage: (message) => counter.add(message.metadata.globalPosition),
        });
        await consumer.start();
        return counter.result();
      },
    },
    close: () => store.close(),
  };
};
