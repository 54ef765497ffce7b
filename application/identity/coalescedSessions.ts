import type { SessionReadModel, SessionRow } from './allowlist.js';

/**
 * The session read model with concurrent lookups of one session folded together, never answering a
 * lookup with a read that started before it was asked. While a query for a session is running, the
 * lookups that arrive wait for the next query for that session, started as soon as the running one
 * settles and shared by all of them; so every caller gets a row read after its own call (as fresh as
 * a query of its own: a session revoked before a request arrived is seen revoked by that request),
 * and a burst of N concurrent requests of one session costs two queries instead of N.
 */
export const coalescedSessionReads = (readModel: SessionReadModel): SessionReadModel => {
  type Slot = { running: Promise<SessionRow | null>; queued: Promise<SessionRow | null> | null };
  const slots = new Map<string, Slot>();
  const start = (sessionId: string): Promise<SessionRow | null> => {
    const slot: Slot = { running: Promise.resolve(null), queued: null };
    slot.running = readModel.find(sessionId).finally(() => {
      if (slots.get(sessionId) === slot) slots.delete(sessionId);
    });
    slots.set(sessionId, slot);
    return slot.running;
  };
  return {
    find(sessionId) {
      const slot = slots.get(sessionId);
      if (slot === undefined) return start(sessionId);
      // One queued read per running one, however many lookups wait for it.
      slot.queued ??= slot.running.then(
        () => start(sessionId),
        () => start(sessionId),
      );
      return slot.queued;
    },
    endedAmong: (sessionIds, now) => readModel.endedAmong(sessionIds, now),
    activeOf: (accountId) => readModel.activeOf(accountId),
  };
};
