import type { Decider } from '#domain/shared/event.js';
import { TurnBusy, UnknownLlmCommand } from './errors.js';
import type {
  FallbackUsed,
  LlmCallFailed,
  LlmCallStarted,
  LlmCallSucceeded,
  LlmErrorKind,
  LlmTurnEvent,
} from './events.js';

/**
 * One LLM turn (stream `llm-<turnId>`, turnId = the inbound MessageReceived event id): the provider
 * attempts that answer one inbound message. A caller *runs* the turn: its first LlmCallStarted claims
 * it, every later event of the run names the call before it, so a second caller (another process, or
 * this one after a restart) cannot interleave with a live run — the decider refuses with TurnBusy and
 * the command handler's expected revision makes the refusal hold under races.
 *
 * A new run may start when the turn never started, when it ended on the fallback text (the providers
 * may be back), or when it has been quiet for longer than any step of a live run can take (`staleMs`,
 * from the providers' timeouts: its runner died mid-call) — and, for an answered turn, only then (its
 * reply was lost with the process before it was queued).
 */
export type TurnStatus = 'idle' | 'calling' | 'between' | 'answered' | 'failed';

export type TurnState = Readonly<{
  status: TurnStatus;
  /** the call started and not finished yet */
  openCallId: string | null;
  /** the last call started (finished or not) */
  lastCallId: string | null;
  /** events in the stream */
  events: number;
}>;

type CallData = Omit<LlmCallStarted['data'], never>;

/** What a new run saw when it read the turn: the decider refuses if anything was appended since. */
export type TurnSeen = Readonly<{ events: number; lastEventAt: string | null; now: string; staleMs: number }>;

export type StartCall = Readonly<{
  type: 'StartCall';
  /** previousCallId: the run's previous call (null: this call starts a run, `seen` says what it read) */
  data: { call: CallData; previousCallId: string | null; seen: TurnSeen | null };
}>;
export type RecordSuccess = Readonly<{ type: 'RecordSuccess'; data: LlmCallSucceeded['data'] }>;
export type RecordFailure = Readonly<{ type: 'RecordFailure'; data: LlmCallFailed['data'] }>;
export type RecordFallback = Readonly<{
  type: 'RecordFallback';
  data: { afterCallId: string; turnId: string; from: string; to: string | null; reason: LlmErrorKind };
}>;
export type TurnCommand = StartCall | RecordSuccess | RecordFailure | RecordFallback;

export const initialState = (): TurnState => ({ status: 'idle', openCallId: null, lastCallId: null, events: 0 });

/** A run may start on this state, having seen it as `seen` (null: nothing was read before). */
export const mayStartRun = (state: TurnState, seen: TurnSeen | null): boolean => {
  if (state.status === 'idle' || state.status === 'failed') return true;
  if (seen === null || seen.events !== state.events || seen.lastEventAt === null) return false;
  return Date.parse(seen.now) - Date.parse(seen.lastEventAt) > seen.staleMs;
};

export const decide = (command: TurnCommand, state: TurnState): LlmTurnEvent[] => {
  switch (command.type) {
    case 'StartCall': {
      const { call, previousCallId, seen } = command.data;
      const continues = previousCallId !== null && state.status === 'between' && state.lastCallId === previousCallId;
      if (previousCallId === null ? !mayStartRun(state, seen) : !continues) throw new TurnBusy(call.turnId);
      return [{ type: 'LlmCallStarted', data: { ...call } }];
    }
    case 'RecordSuccess':
    case 'RecordFailure': {
      if (state.status !== 'calling' || state.openCallId !== command.data.callId)
        throw new TurnBusy(command.data.turnId);
      return command.type === 'RecordSuccess'
        ? [{ type: 'LlmCallSucceeded', data: { ...command.data } }]
        : [{ type: 'LlmCallFailed', data: { ...command.data } }];
    }
    case 'RecordFallback': {
      const { afterCallId, ...data } = command.data;
      if (state.status !== 'between' || state.lastCallId !== afterCallId) throw new TurnBusy(data.turnId);
      const event: FallbackUsed = { type: 'FallbackUsed', data };
      return [event];
    }
    default: {
      const _exhaustive: never = command;
      throw new UnknownLlmCommand((_exhaustive as { type?: unknown }).type);
    }
  }
};

export const evolve = (state: TurnState, event: LlmTurnEvent): TurnState => {
  const events = state.events + 1;
  switch (event.type) {
    case 'LlmCallStarted':
      return { status: 'calling', openCallId: event.data.callId, lastCallId: event.data.callId, events };
    case 'LlmCallSucceeded':
      return { ...state, status: 'answered', openCallId: null, events };
    case 'LlmCallFailed':
      return { ...state, status: 'between', openCallId: null, events };
    case 'FallbackUsed':
      return { ...state, status: event.data.to === null ? 'failed' : 'between', events };
    default: {
      const _exhaustive: never = event;
      return { ...state, events };
    }
  }
};

export const turnDecider: Decider<TurnState, TurnCommand, LlmTurnEvent> = { decide, evolve, initialState };
