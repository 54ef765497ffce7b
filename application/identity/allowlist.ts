import { accountDecider } from '#domain/identity/account.js';
import type { AccountEvent, Role, SessionEvent } from '#domain/identity/events.js';
import { accountStreamId, sessionStreamId } from '#domain/identity/events.js';
import { sessionDecider, type SessionStreamEvent } from '#domain/identity/session.js';
import type { EventStore, RecordedEvent, Subscription } from '#application/shared/eventStore.js';
import { UnauthorizedError } from '#application/shared/errors.js';
import type { Clock } from '#application/shared/runtime.js';
import type { Principal } from './ports.js';

/** A session as the read models know it (projections/identity/sessions.ts joined with accounts). */
export type SessionRow = {
  sessionId: string;
  accountId: string;
  status: 'active' | 'revoked';
  /** null for a session revoked before it started */
  expiresAt: Date | null;
  /** from the accounts read model; null when the account is not (yet) there */
  account: { username: string; role: Role; disabled: boolean } | null;
};

/** The read side of the allowlist: one indexed query per request. */
export type SessionReadModel = {
  find(sessionId: string): Promise<SessionRow | null>;
  /** which of these sessions it knows to be revoked or expired at `now` (unknown ones are not listed) */
  endedAmong(sessionIds: readonly string[], now: Date): Promise<Set<string>>;
  /** active sessions of an account */
  activeOf(accountId: string): Promise<string[]>;
};

export type SessionAllowlist = {
  /** The caller of a token as the state says now; 401 token_revoked unless the session is active. */
  check(claims: { accountId: string; sessionId: string; expiresAt: number }): Promise<Principal>;
  /**
   * Of these sessions (each checked when its WebSocket opened), the ones that have ended since: open
   * WebSockets are swept with it.
   */
  endedAmong(sessionIds: readonly string[]): Promise<Set<string>>;
  activeOf(accountId: string): Promise<string[]>;
  /**
   * Called by the use case that ended a session, right after its append: this process refuses the
   * session at once, before the read model has caught up; listeners (open WebSockets) are told.
   */
  ended(sessionId: string): void;
  onEnded(listener: (sessionId: string) => void): () => void;
  /**
   * Follows SessionRevoked events appended from now on by any process (the store's subscription:
   * LISTEN/NOTIFY on PostgreSQL), so this process refuses them before its read model has them.
   * Starts at the head: earlier revocations are the read model's.
   */
  watch(): Promise<void>;
  stop(): Promise<void>;
};

const revoked = () => new UnauthorizedError('token_revoked', 'The session of this token has been revoked.');

/** How long this process remembers a session it ended itself: far longer than the read model takes to catch up. */
const ENDED_MEMORY_MS = 60 * 60 * 1000;
const ENDED_MAX = 100_000;

/**
 * A token is valid only while its session is active in the session read model (an allowlist, not a
 * denylist of times), and its role is the account's current one. Two cases the read model cannot
 * answer alone:
 * - a session this process ended: refused at once from a local set, before the projection has
 *   applied the SessionRevoked; other processes add it to their set when their subscription
 *   delivers the event (`watch`: LISTEN/NOTIFY, milliseconds), and their read model has it once the
 *   sessions projection has applied it (well under a second);
 * - a session the read model does not know yet (just started, possibly through another process):
 *   its stream and its account's stream are read from the event store, the authority. A token whose
 *   session never existed (a forged `sid`) ends here too, and is refused.
 */
export const createSessionAllowlist = (deps: {
  readModel: SessionReadModel;
  store: EventStore;
  clock: Clock;
}): SessionAllowlist => {
  const endedHere = new Map<string, number>();
  const listeners = new Set<(sessionId: string) => void>();
  let subscription: Subscription | null = null;

  const forgetOld = (nowMs: number) => {
    for (const [id, at] of endedHere) {
      if (nowMs - at < ENDED_MEMORY_MS && endedHere.size <= ENDED_MAX) break;
      endedHere.delete(id);
    }
  };

  const fromStore = async (accountId: string, sessionId: string, now: Date): Promise<SessionRow | null> => {
    const session = (await deps.store.readStream<SessionStreamEvent>(sessionStreamId(sessionId))).reduce(
      sessionDecider.evolve,
      sessionDecider.initialState(),
    );
    if (session.status === 'none' || session.accountId !== accountId) return null;
    const account = (await deps.store.readStream<AccountEvent>(accountStreamId(accountId))).reduce(
      accountDecider.evolve,
      accountDecider.initialState(),
    );
    return {
      sessionId,
      accountId,
      status: session.status === 'active' && now.getTime() < Date.parse(session.expiresAt) ? 'active' : 'revoked',
      expiresAt: session.status === 'active' ? new Date(session.expiresAt) : null,
      account:
        account.status === 'none'
          ? null
          : { username: account.username, role: account.role, disabled: account.status === 'disabled' },
    };
  };

  const ended = (sessionId: string) => {
    const now = deps.clock().getTime();
    endedHere.delete(sessionId);
    endedHere.set(sessionId, now);
    forgetOld(now);
    for (const listener of listeners) listener(sessionId);
  };

  return {
    async check(claims) {
      if (endedHere.has(claims.sessionId)) throw revoked();
      const now = deps.clock();
      const row =
        (await deps.readModel.find(claims.sessionId)) ?? (await fromStore(claims.accountId, claims.sessionId, now));
      if (
        row === null ||
        row.status !== 'active' ||
        row.accountId !== claims.accountId ||
        row.expiresAt === null ||
        row.expiresAt.getTime() <= now.getTime()
      )
        throw revoked();
      // An account the read model has not seen yet (created a moment ago): ask the stream.
      const account = row.account ?? (await fromStore(claims.accountId, claims.sessionId, now))?.account ?? null;
      if (account === null || account.disabled) throw revoked();
      return {
        accountId: claims.accountId,
        username: account.username,
        role: account.role,
        sessionId: claims.sessionId,
        expiresAt: claims.expiresAt,
      };
    },
    async endedAmong(sessionIds) {
      const ended = await deps.readModel.endedAmong(sessionIds, deps.clock());
      for (const id of sessionIds) if (endedHere.has(id)) ended.add(id);
      return ended;
    },
    activeOf: (accountId) => deps.readModel.activeOf(accountId),
    ended,
    async watch() {
      if (subscription) return;
      const after = await deps.store.headPosition();
      subscription = deps.store.subscribeToAll({
        after,
        filter: { eventTypes: ['SessionRevoked'] satisfies SessionEvent['type'][] },
        onEvent: (event) => {
          const revoked = event as RecordedEvent<SessionEvent>;
          if (revoked.type === 'SessionRevoked' && !endedHere.has(revoked.data.sessionId))
            ended(revoked.data.sessionId);
        },
      });
    },
    async stop() {
      await subscription?.stop();
      subscription = null;
    },
    onEnded(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
};
