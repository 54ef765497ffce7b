import type { Decider } from '#domain/shared/event.js';
import {
  RUNTIME_REQUEST_TYPES,
  type NumberRuntimeEvent,
  type RuntimeAction,
  type RuntimeOutcome,
  type RuntimeRequested,
} from './events.js';

/**
 * A number's runtime control, stream `runtime-<numberId>`: what an admin asked (the desired state) and
 * which requests the worker holding the number has not answered yet. The worker obeys the open requests
 * in order and records each outcome through this decider, so an outcome is recorded once even when a
 * lease moves mid-request and two workers try; a request nobody answers is marked timed out (once), and
 * a late answer is still recorded.
 */
export type RuntimeRequestState = Readonly<{
  requestId: string;
  action: RuntimeAction;
  scope: 'number' | 'all';
  status: 'pending' | 'timed_out' | 'completed' | 'failed';
}>;

export type NumberRuntime = Readonly<{
  /** what the number should be: `running` until someone stops it (a new number runs) */
  desired: 'running' | 'stopped';
  /** requests not answered yet (pending or timed out), oldest first */
  open: readonly RuntimeRequestState[];
  /** the newest request and its status */
  last: RuntimeRequestState | null;
  /** every request id seen: a repeated request decides nothing */
  seen: ReadonlySet<string>;
}>;

export type NumberRuntimeCommand =
  | Readonly<{
      type: 'RequestRuntime';
      data: { requestId: string; numberId: string; action: RuntimeAction; scope: 'number' | 'all' };
    }>
  | Readonly<{
      type: 'RecordRuntimeOutcome';
      data: { requestId: string; numberId: string; workerId: string } & (
        { ok: true; outcome: RuntimeOutcome } | { ok: false; error: string }
      );
    }>
  | Readonly<{ type: 'TimeOutRuntimeRequest'; data: { requestId: string; numberId: string; timeoutSeconds: number } }>;

export const initialState = (): NumberRuntime => ({ desired: 'running', open: [], last: null, seen: new Set() });

const ACTION_OF: Record<RuntimeRequested['type'], RuntimeAction> = {
  RuntimeStartRequested: 'start',
  RuntimeStopRequested: 'stop',
  RuntimeRestartRequested: 'restart',
  RuntimeLogoutRequested: 'logout',
};

/** The state a number's runtime is in once the action is done. */
export const desiredAfter = (action: RuntimeAction): 'running' | 'stopped' =>
  action === 'start' || action === 'restart' ? 'running' : 'stopped';

export const decide = (command: NumberRuntimeCommand, state: NumberRuntime): NumberRuntimeEvent[] => {
  switch (command.type) {
    case 'RequestRuntime': {
      const { requestId, numberId, action, scope } = command.data;
      if (state.seen.has(requestId)) return [];
      return [{ type: RUNTIME_REQUEST_TYPES[action], data: { requestId, numberId, scope } }];
    }
    case 'RecordRuntimeOutcome': {
      const d = command.data;
      const request = state.open.find((r) => r.requestId === d.requestId);
      if (!request) return [];
      const base = { requestId: d.requestId, numberId: d.numberId, action: request.action, workerId: d.workerId };
      return d.ok
        ? [{ type: 'RuntimeRequestCompleted', data: { ...base, outcome: d.outcome } }]
        : [{ type: 'RuntimeRequestFailed', data: { ...base, outcome: 'failed', error: d.error.slice(0, 500) } }];
    }
    case 'TimeOutRuntimeRequest': {
      const d = command.data;
      const request = state.open.find((r) => r.requestId === d.requestId);
      if (request?.status !== 'pending') return [];
      return [
        {
          type: 'RuntimeRequestTimedOut',
          data: {
            requestId: d.requestId,
            numberId: d.numberId,
            action: request.action,
            timeoutSeconds: d.timeoutSeconds,
          },
        },
      ];
    }
    default: {
      const _exhaustive: never = command;
      return [];
    }
  }
};

const withStatus = (state: NumberRuntime, requestId: string, status: RuntimeRequestState['status']): NumberRuntime => {
  const request = state.open.find((r) => r.requestId === requestId);
  if (!request) return state;
  const updated = { ...request, status };
  const resolved = status === 'completed' || status === 'failed';
  return {
    ...state,
    open: resolved
      ? state.open.filter((r) => r.requestId !== requestId)
      : state.open.map((r) => (r.requestId === requestId ? updated : r)),
    last: state.last?.requestId === requestId ? updated : state.last,
  };
};

export const evolve = (state: NumberRuntime, event: NumberRuntimeEvent): NumberRuntime => {
  switch (event.type) {
    case 'RuntimeStartRequested':
    case 'RuntimeStopRequested':
    case 'RuntimeRestartRequested':
    case 'RuntimeLogoutRequested': {
      const action = ACTION_OF[event.type];
      const request: RuntimeRequestState = {
        requestId: event.data.requestId,
        action,
        scope: event.data.scope,
        status: 'pending',
      };
      return {
        desired: desiredAfter(action),
        open: [...state.open, request],
        last: request,
        seen: new Set(state.seen).add(event.data.requestId),
      };
    }
    case 'RuntimeRequestCompleted':
      return withStatus(state, event.data.requestId, 'completed');
    case 'RuntimeRequestFailed':
      return withStatus(state, event.data.requestId, 'failed');
    case 'RuntimeRequestTimedOut':
      return withStatus(state, event.data.requestId, 'timed_out');
    default: {
      const _exhaustive: never = event;
      return state;
    }
  }
};

export const numberRuntimeDecider: Decider<NumberRuntime, NumberRuntimeCommand, NumberRuntimeEvent> = {
  decide,
  evolve,
  initialState,
};
