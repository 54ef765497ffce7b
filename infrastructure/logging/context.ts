// The request context (correlation id, who, from where) that follows one request, message or job through
// every await, so logs and event metadata can carry it without threading it through every call.
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';

export type RequestContext = Readonly<{
  correlationId: string;
  /** User id, or 'system' for work nobody asked for. */
  actor?: string | null;
  ip?: string | null;
  userAgent?: string | null;
}>;

const storage = new AsyncLocalStorage<RequestContext>();

/** Runs `fn` (and everything it awaits or schedules) with `context` as the current context. */
export const runWithContext = <T>(context: RequestContext, fn: () => T): T => storage.run(context, fn);

/** Runs `fn` with the current context plus `patch` (e.g. the actor once authentication knows it). */
export const runWithContextPatch = <T>(patch: Partial<RequestContext>, fn: () => T): T => {
  const current = storage.getStore();
  return storage.run(
    { ...current, ...patch, correlationId: patch.correlationId ?? current?.correlationId ?? newCorrelationId() },
    fn,
  );
};

export const currentContext = (): RequestContext | undefined => storage.getStore();

export const newCorrelationId = (): string => randomUUID();

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const TOKEN = /^[A-Za-z0-9._-]{8,64}$/;

/**
 * Whether an id received from outside (X-Correlation-Id, a queue message) may be reused as is. The charset
 * keeps ids safe to log, to put in headers and to grep; anything else is replaced at the edge.
 */
export const isValidCorrelationId = (candidate: unknown): candidate is string =>
  typeof candidate === 'string' && (UUID.test(candidate) || TOKEN.test(candidate));

/** The received id when it is acceptable, else a fresh one. */
export const acceptCorrelationId = (candidate: unknown): string =>
  isValidCorrelationId(candidate) ? candidate : newCorrelationId();
