import type { EventStore, RecordedEvent } from '#application/shared/eventStore.js';
import { ValidationError } from '#application/shared/errors.js';
import { accountDecider, accountLockedUntil, type Account } from '#domain/identity/account.js';
import type { AccountEvent } from '#domain/identity/events.js';
import type { LlmCircuitEvent, LlmForceEvent, LlmSettingsChanged } from '#domain/llm/events.js';
import { LLM_FORCE_STREAM, LLM_SETTINGS_STREAM } from '#domain/llm/events.js';
import { activeForce, forceDecider } from '#domain/llm/force.js';
import { llmSettingsDecider } from '#domain/llm/settings.js';
import { chatDecider } from '#domain/messaging/chat.js';
import {
  CHAT_STREAM_PREFIX,
  MESSAGE_STREAM_PREFIX,
  NUMBER_STREAM_PREFIX,
  type ChatEvent,
  type NumberEvent,
  type OutboundEvent,
} from '#domain/messaging/events.js';
import { numberDecider } from '#domain/messaging/number.js';
import { outboundDecider } from '#domain/messaging/outbound.js';
import {
  PROCESS_STREAM_PREFIX,
  RUNTIME_STREAM_PREFIX,
  type NumberRuntimeEvent,
  type ProcessEvent,
} from '#domain/runtime/events.js';
import { numberRuntimeDecider } from '#domain/runtime/numberRuntime.js';
import { processDecider } from '#domain/runtime/process.js';
import { SECRET_STREAM_PREFIX, type SecretEvent } from '#domain/secrets/events.js';
import { secretDecider } from '#domain/secrets/secret.js';
import { eventView, redactData, type EventView } from './eventQuery.js';

/**
 * Time travel: the state of one stream as of an instant, folded with the same `evolve` the live
 * system decides with, over the events that occurred at or before it. Each stream family names its
 * decider here (accounts, chats, numbers, outbound messages, processes, secrets, the LLM force and
 * settings, and each LLM provider's circuit); a family without one is refused, not guessed.
 */
export type StateAsOf = {
  streamId: string;
  at: string;
  kind: string;
  /** the folded state, secrets redacted (Sets as arrays) */
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

/** The one shape every stream family folds with: its live decider's evolve and initial state. */
type Evolver<S> = { evolve: (state: S, event: { type: string; data: unknown }) => S; initialState: () => S };

export type StreamFamily = {
  kind: string;
  /** a prefix (`account-`) or a whole stream id (`llm-settings`) */
  prefix: string;
  exact: boolean;
  /** the types the decider evolves (other types on the stream are not folded) */
  types: ReadonlySet<string>;
  initialState: () => unknown;
  evolve: (state: unknown, event: RecordedEvent) => unknown;
  /** facts derived from the state at an instant, with the events folded so far */
  summary: (state: unknown, folded: readonly RecordedEvent[], at: string) => Record<string, unknown>;
};

const family = <S, E extends { type: string }>(
  kind: string,
  prefix: string,
  types: Readonly<Record<E['type'], true>>,
  decider: { evolve: (state: S, event: E) => S; initialState: () => S },
  summary: (state: S, folded: readonly RecordedEvent[], at: string) => Record<string, unknown>,
  exact = false,
): StreamFamily => {
  const live = decider as unknown as Evolver<S>;
  return {
    kind,
    prefix,
    exact,
    types: new Set(Object.keys(types)),
    initialState: live.initialState,
    evolve: (state, event) => live.evolve(state as S, { type: event.type, data: event.data }),
    summary: (state, folded, at) => summary(state as S, folded, at),
  };
};

const CHAT_TYPES: Readonly<Record<ChatEvent['type'], true>> = {
  MessageReceived: true,
  ConversationPaused: true,
  ConversationResumed: true,
};
const NUMBER_TYPES: Readonly<Record<NumberEvent['type'], true>> = {
  NumberAdded: true,
  NumberDisabled: true,
  NumberEnabled: true,
  NumberRemoved: true,
};
const OUTBOUND_TYPES: Readonly<Record<OutboundEvent['type'], true>> = {
  MessageQueued: true,
  MessageSendAttempted: true,
  MessageSent: true,
  MessageSendFailed: true,
  MessageDeadLettered: true,
  MessageRequeued: true,
  MessageDropped: true,
  MessageStatusUpdated: true,
};
const PROCESS_TYPES: Readonly<Record<ProcessEvent['type'], true>> = {
  ProcessStarted: true,
  ProcessStopped: true,
  ProcessCrashed: true,
};
const NUMBER_RUNTIME_TYPES: Readonly<Record<NumberRuntimeEvent['type'], true>> = {
  RuntimeStartRequested: true,
  RuntimeStopRequested: true,
  RuntimeRestartRequested: true,
  RuntimeLogoutRequested: true,
  RuntimeRequestCompleted: true,
  RuntimeRequestFailed: true,
  RuntimeRequestTimedOut: true,
};
const FORCE_TYPES: Readonly<Record<LlmForceEvent['type'], true>> = { ProviderForced: true, ProviderForceEnded: true };
const SETTINGS_TYPES: Readonly<Record<LlmSettingsChanged['type'], true>> = { LlmSettingsChanged: true };
const SECRET_TYPES: Readonly<Record<SecretEvent['type'], true>> = {
  SecretStored: true,
  SecretRotated: true,
  SecretDeleted: true,
};
const CIRCUIT_TYPES: Readonly<Record<LlmCircuitEvent['type'], true>> = {
  ProviderCircuitOpened: true,
  ProviderCircuitHalfOpened: true,
  ProviderCircuitClosed: true,
};

/**
 * A provider's circuit. The breaker itself lives in memory (cockatiel, application/llm/chain.ts) and
 * has no decider: its stream records each transition, so the state as of T is the last transition
 * recorded, read the way the llm_providers read model reads it.
 */
type CircuitFold = { circuit: 'closed' | 'open' | 'half_open'; since: string | null; halfOpenAfterMs: number | null };
const circuitEvolver = {
  initialState: (): CircuitFold => ({ circuit: 'closed', since: null, halfOpenAfterMs: null }),
  evolve: (state: CircuitFold, event: LlmCircuitEvent & { occurredAt?: string }): CircuitFold => {
    switch (event.type) {
      case 'ProviderCircuitOpened':
        return { circuit: 'open', since: event.occurredAt ?? null, halfOpenAfterMs: event.data.halfOpenAfterMs };
      case 'ProviderCircuitHalfOpened':
        return { circuit: 'half_open', since: event.occurredAt ?? null, halfOpenAfterMs: null };
      case 'ProviderCircuitClosed':
        return { circuit: 'closed', since: event.occurredAt ?? null, halfOpenAfterMs: null };
      default:
        return state;
    }
  },
};

const families: readonly StreamFamily[] = [
  family('account', 'account-', ACCOUNT_TYPE_LIST, accountDecider, (state, folded, at) =>
    accountSummary(state, folded, at),
  ),
  family('chat', CHAT_STREAM_PREFIX, CHAT_TYPES, chatDecider, (state) =>
    state.status === 'none'
      ? { exists: false }
      : {
          exists: true,
          paused: state.paused,
          lastInboundAt: state.lastInboundAt,
          messagesReceived: state.receivedCount,
        },
  ),
  family('number', NUMBER_STREAM_PREFIX, NUMBER_TYPES, numberDecider, (state) =>
    state.status === 'none' ? { exists: false } : { exists: true, status: state.status },
  ),
  family('message', MESSAGE_STREAM_PREFIX, OUTBOUND_TYPES, outboundDecider, (state) =>
    state.status === 'none'
      ? { exists: false }
      : { exists: true, status: state.status, attempts: state.attempts, lastStatus: state.statuses.at(-1) ?? null },
  ),
  family('process', PROCESS_STREAM_PREFIX, PROCESS_TYPES, processDecider, (state) => ({
    running: [...state.running].sort(),
  })),
  family('runtime', RUNTIME_STREAM_PREFIX, NUMBER_RUNTIME_TYPES, numberRuntimeDecider, (state) => ({
    desired: state.desired,
    openRequests: state.open.map((r) => ({ requestId: r.requestId, action: r.action, status: r.status })),
    lastRequest: state.last,
  })),
  family('secret', SECRET_STREAM_PREFIX, SECRET_TYPES, secretDecider, (state) => ({ status: state.status })),
  family(
    'llm-force',
    LLM_FORCE_STREAM,
    FORCE_TYPES,
    forceDecider,
    (state, _folded, at) => ({ forcedInForce: activeForce(state, new Date(at)) }),
    true,
  ),
  family(
    'llm-settings',
    LLM_SETTINGS_STREAM,
    SETTINGS_TYPES,
    llmSettingsDecider,
    (state) => ({ version: state.version }),
    true,
  ),
  {
    ...family('llm-provider', 'llm-provider-', CIRCUIT_TYPES, circuitEvolver, (state) => ({
      circuit: state.circuit,
      since: state.since,
    })),
    evolve: (state, event) =>
      circuitEvolver.evolve(
        state as CircuitFold,
        {
          type: event.type,
          data: event.data,
          occurredAt: event.metadata.occurredAt,
        } as LlmCircuitEvent & { occurredAt: string },
      ),
  },
];

/** The family that folds `streamId`, or null when no decider folds it (sessions, LLM turns...). */
export const familyOf = (streamId: string): StreamFamily | null =>
  families.find((f) =>
    f.exact ? streamId === f.prefix : streamId.startsWith(f.prefix) && streamId.length > f.prefix.length,
  ) ?? null;

/** Folds events onto a state with the family's live evolve; events of other types are skipped. */
export const foldEvents = (
  f: StreamFamily,
  state: unknown,
  events: readonly RecordedEvent[],
  folded?: RecordedEvent[],
): unknown => {
  let current = state;
  for (const event of events) {
    if (!f.types.has(event.type)) continue;
    current = f.evolve(current, event);
    folded?.push(event);
  }
  return current;
};

/** A state as JSON shows it: Sets become arrays in insertion order (the first 100 and a count when larger). */
export const plainState = (value: unknown, depth = 0): unknown => {
  if (depth > 20) return null;
  if (value instanceof Set) {
    const items = [...(value as Set<unknown>)].map((item) => plainState(item, depth + 1));
    return items.length <= 100 ? items : { size: items.length, first: items.slice(0, 100) };
  }
  if (value instanceof Map) return plainState(Object.fromEntries(value as Map<string, unknown>), depth + 1);
  if (Array.isArray(value)) return value.map((item) => plainState(item, depth + 1));
  if (value !== null && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plainState(v, depth + 1)]));
  return value;
};

/** What a client sees of a state: plain JSON, secrets redacted. */
export const stateView = (state: unknown): unknown => redactData(plainState(state));

export const SUPPORTED_STATE_PREFIXES = families.map((f) => (f.exact ? f.prefix : `${f.prefix}<id>`));

export const stateAsOf = async (store: EventStore, streamId: string, at: Date): Promise<StateAsOf> => {
  const f = familyOf(streamId);
  if (!f)
    throw new ValidationError(
      `Time travel folds ${SUPPORTED_STATE_PREFIXES.join(', ')} streams; ${streamId} is not one.`,
      { supported: SUPPORTED_STATE_PREFIXES },
      'unsupported_stream',
    );
  const atIso = at.toISOString();
  const all = await store.readStream(streamId);
  // occurredAt, not position: "as of T" is about when things happened (a stream's events are in time order).
  const upTo = all.filter((event) => Date.parse(event.metadata.occurredAt) <= at.getTime());
  const folded: RecordedEvent[] = [];
  const state = foldEvents(f, f.initialState(), upTo, folded);
  return {
    streamId,
    at: atIso,
    kind: f.kind,
    state: stateView(state),
    summary: f.summary(state, folded, atIso),
    events: folded.map(eventView),
    laterEvents: all.length - upTo.length,
  };
};
