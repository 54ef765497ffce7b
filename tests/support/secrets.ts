import { Writable } from 'node:stream';
import { createLogger, type Logger } from '#infrastructure/logging/logger.js';
import { uniqueName } from './events.js';
import { dropSchema, openTestSchema, type TestSchema } from './projections.js';

export type SecretsTestDb = TestSchema;

/** A fresh, migrated schema with its own event store; `close` drops it. */
export const openSecretsTestDb = async (): Promise<SecretsTestDb> => {
  const schema = uniqueName('secrets_test');
  const handle = await openTestSchema(schema, { create: true, applicationName: schema });
  return {
    ...handle,
    close: async () => {
      await handle.close();
      await dropSchema(schema);
    },
  };
};

/** The production logger (redaction and all), writing to memory at debug level. */
export const captureLogger = (): { logger: Logger; output: () => Promise<string> } => {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk.toString('utf8'));
      callback();
    },
  });
  return {
    logger: createLogger({ level: 'debug', service: 'test-secrets', stream }),
    output: async () => {
      // Transports may deliver on a later tick.
      await new Promise((resolve) => setImmediate(resolve));
      return chunks.join('');
    },
  };
};
