import { randomUUID } from 'node:crypto';
import type { EventMetadata, NewEvent } from '#application/shared/eventStore.js';

export const testMetadata = (overrides: Partial<EventMetadata> = {}): EventMetadata => ({
  correlationId: randomUUID(),
  causationId: null,
  actor: 'system',
  ip: '127.0.0.1',
  userAgent: 'mocha',
  occurredAt: new Date().toISOString(),
  schemaVersion: 1,
  ...overrides,
});

export const newEvent = (
  type: string,
  data: Record<string, unknown> = {},
  metadata: Partial<EventMetadata> = {},
): NewEvent => ({
  id: randomUUID(),
  type,
  data,
  metadata: testMetadata(metadata),
});

/** A short unique name for streams, schemas and keys of one test run. */
export const uniqueName = (prefix: string): string => `${prefix}_${randomUUID().replace(/-/g, '').slice(0, 12)}`;

export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export const waitFor = async (
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 5_000,
  what = 'condition',
): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
};
