import type { Decider } from '#domain/shared/event.js';
import { UnknownLlmCommand } from './errors.js';
import type { LlmCircuitEvent } from './events.js';

/**
 * A provider's circuit as recorded (stream `llm-provider-<name>`). Each process has its own breaker
 * (cockatiel, in memory) and records each of its transitions: the stream is the story of every
 * process's breaker, so a transition is recorded even when another process recorded the same one.
 */
export type CircuitRecord = Readonly<{ state: 'closed' | 'open' | 'half_open'; transitions: number }>;

export type RecordCircuit = Readonly<{
  type: 'RecordCircuit';
  data: { provider: string; to: 'open'; halfOpenAfterMs: number } | { provider: string; to: 'half_open' | 'closed' };
}>;

export const initialState = (): CircuitRecord => ({ state: 'closed', transitions: 0 });

export const decide = (command: RecordCircuit, _state: CircuitRecord): LlmCircuitEvent[] => {
  switch (command.type) {
    case 'RecordCircuit': {
      const data = command.data;
      if (data.to === 'open')
        return [
          { type: 'ProviderCircuitOpened', data: { provider: data.provider, halfOpenAfterMs: data.halfOpenAfterMs } },
        ];
      return data.to === 'half_open'
        ? [{ type: 'ProviderCircuitHalfOpened', data: { provider: data.provider } }]
        : [{ type: 'ProviderCircuitClosed', data: { provider: data.provider } }];
    }
    default: {
      const _exhaustive: never = command.type;
      throw new UnknownLlmCommand(_exhaustive);
    }
  }
};

export const evolve = (state: CircuitRecord, event: LlmCircuitEvent): CircuitRecord => {
  const transitions = state.transitions + 1;
  switch (event.type) {
    case 'ProviderCircuitOpened':
      return { state: 'open', transitions };
    case 'ProviderCircuitHalfOpened':
      return { state: 'half_open', transitions };
    case 'ProviderCircuitClosed':
      return { state: 'closed', transitions };
    default: {
      const _exhaustive: never = event;
      return state;
    }
  }
};

export const circuitDecider: Decider<CircuitRecord, RecordCircuit, LlmCircuitEvent> = {
  decide,
  evolve,
  initialState,
};
