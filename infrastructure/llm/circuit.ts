import {
  BrokenCircuitError,
  CircuitState as CockatielState,
  ConsecutiveBreaker,
  circuitBreaker,
  handleWhen,
  IsolatedCircuitError,
} from 'cockatiel';
import {
  CircuitOpenError,
  LlmCallError,
  type CircuitBreaker,
  type CircuitFactory,
  type CircuitState,
} from '#application/llm/ports.js';

export type CircuitOptions = {
  /** consecutive failures that open the circuit */
  threshold: number;
  /** how long it stays open before one probe call is let through (half-open) */
  halfOpenAfterMs: number;
};

const STATES: Record<CockatielState, CircuitState> = {
  [CockatielState.Closed]: 'closed',
  [CockatielState.Open]: 'open',
  [CockatielState.HalfOpen]: 'half_open',
  [CockatielState.Isolated]: 'open',
};

/** A request the provider refused as malformed says nothing about the provider's health. */
const REQUEST_FAULTS = new Set([400, 413, 422]);
const countsAgainstProvider = (error: Error): boolean =>
  !(error instanceof LlmCallError && error.status !== null && REQUEST_FAULTS.has(error.status));

/**
 * Circuit breakers on cockatiel (ConsecutiveBreaker): `threshold` consecutive failures open the
 * circuit, calls are then refused without reaching the provider, and after `halfOpenAfterMs` one probe
 * goes through: its success closes the circuit, its failure opens it again. The breaker's state lives
 * in this process (each app process judges the provider by its own calls); every transition is an event.
 */
export const cockatielCircuits =
  (optionsFor: (provider: string) => CircuitOptions): CircuitFactory =>
  (provider, listener): CircuitBreaker => {
    const options = optionsFor(provider);
    const policy = circuitBreaker(handleWhen(countsAgainstProvider), {
      halfOpenAfter: options.halfOpenAfterMs,
      breaker: new ConsecutiveBreaker(options.threshold),
    });
    policy.onBreak(() => listener.onOpen(options.halfOpenAfterMs));
    policy.onHalfOpen(() => listener.onHalfOpen());
    policy.onReset(() => listener.onClose());
    return {
      get state() {
        return STATES[policy.state];
      },
      execute: async <T>(fn: () => Promise<T>): Promise<T> => {
        try {
          return await policy.execute(fn);
        } catch (error) {
          if (error instanceof BrokenCircuitError || error instanceof IsolatedCircuitError)
            throw new CircuitOpenError(provider);
          throw error;
        }
      },
    };
  };
