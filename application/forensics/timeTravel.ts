import type { EventStore, RecordedEvent } from '#application/shared/eventStore.js';
import { ValidationError } from '#application/shared/errors.js';
import { accountLockedUntil, evolve, initialState, type Account } from '#domain/identity/account.js';
import type { AccountEvent } from '#domain/identity/events.js';
import { eventView, redactData, type EventView } from './eventQuery.js';

/**
 * Time travel: the state of one stream as of an instant, folded with the same `evolve` the live
 * system decides with, over the events that occurred at or before it. Each stream family names its
 * decider here; a family without one is refused, not guessed.
 */
export type StateAsOf = {
  streamId: string;
  at: string;
  kind: string;
  /** the folded state, secrets redacted */
  state: unknown;
  /** facts derived from the state at `at` (e.g. whether a lock was in force) */
  summary: Record<string, unknown>;
  /** the events folded, oldest first */
  events: EventView[];
  /** events of the stream after `at` (not folded) */
  laterEvents: number;
};

/** Every type of the account stream (a Record, so a new AccountEvent type does not compile until listed). */
const ACCOUNT_TYPE_LIST: Readonly<Record<AccountEvent['type'], true>> = {
  AccountCreated: true,
  PasswordChanged: true,
  RoleChanged: true,
  AccountDisabled: true,
  AccountEnabled: true,
  LoginSucceeded: true,
  LoginFailed: true,
  SourceLocked: true,
  SourceUnlocked: true,
  AccountLocked: true,
  AccountUnlocked: true,
};
const ACCOUNT_TYPES: ReadonlySet<string> = new Set(Object.keys(ACCOUNT_TYPE_LIST));

const accountSummary = (state: Account, folded: readonly RecordedEvent[], at: string): Record<string, unknown> => {
  if (state.status === 'none') return { exists: false };
  const accountLock = accountLockedUntil(state, at);
  const atMs = Date.parse(at);
  // source (address) locks in force at `at`: the account stays open to every other address
  const sourceLocks = Object.entries(state.lockout.sources)
    .filter(([, lock]) => lock.lockedUntil !== null && Date.parse(lock.lockedUntil) > atMs)
    .map(([source, lock]) => ({ source, lockedUntil: lock.lockedUntil }));
  const locked = accountLock !== null || sourceLocks.length > 0;
  const lockEvent = [...folded]
    .reverse()
    .find((event) => event.type === 'AccountLocked' || event.type === 'SourceLocked');
  return {
    exists: true,
    status: state.status,
    lockedInForce: locked,
    lockedUntil: accountLock,
    sourceLocks,
    /** why: the lock event behind a lock in force (its causation and correlation lead to the attempts) */
    lockedBy: locked && lockEvent ? lockEvent.id : null,
    failuresCounting: state.lockout.failures.filter((failure) => !failure.spent).length,
    lockoutCount: state.lockout.lockoutCount,
  };
};

const families = [
  {
    kind: 'account',
    prefix: 'account-',
    fold: (events: readonly RecordedEvent[], at: string) => {
      const relevant = events.filter((event) => ACCOUNT_TYPES.has(event.type));
      const state = relevant.reduce<Account>(
        (current, event) => evolve(current, { type: event.type, data: event.data } as AccountEvent),
        initialState(),
      );
      return { state, summary: accountSummary(state, relevant, at), folded: relevant };
    },
  },
] as const;

export const SUPPORTED_STATE_PREFIXES = families.map((family) => family.prefix);

export const stateAsOf = async (store: EventStore, streamId: string, at: Date): Promise<StateAsOf> => {
  const family = families.find((f) => streamId.startsWith(f.prefix));
  if (!family)
    throw new ValidationError(
      `Time travel folds ${SUPPORTED_STATE_PREFIXES.map((p) => `${p}<id>`).join(', ')} streams; ${streamId} is not one.`,
      { supported: SUPPORTED_STATE_PREFIXES },
      'unsupported_stream',
    );
  const atIso = at.toISOString();
  const all = await store.readStream(streamId);
  // occurredAt, not position: "as of T" is about when things happened (a stream's events are in time order).
  const upTo = all.filter((event) => Date.parse(event.metadata.occurredAt) <= at.getTime());
  const { state, summary, folded } = family.fold(upTo, atIso);
  return {
    streamId,
    at: atIso,
    kind: family.kind,
    state: redactData(state),
    summary,
    events: folded.map(eventView),
    laterEvents: all.length - upTo.length,
  };
};
