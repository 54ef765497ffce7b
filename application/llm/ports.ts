import type { LlmErrorKind } from '#domain/llm/events.js';
import type { PromptMessage } from '#domain/llm/prompt.js';

/** One chat completion request to one provider. */
export type CompletionRequest = {
  messages: readonly PromptMessage[];
  model: string;
  temperature: number;
  maxTokens: number;
};

export type Completion = { text: string; model: string; tokensIn: number; tokensOut: number };

/**
 * One OpenAI-compatible endpoint (infrastructure/llm/openaiProvider.ts). `complete` makes exactly one
 * HTTP request (no retries of its own: the chain decides), gives up after `timeoutMs`, and throws
 * `LlmCallError` with a kind for every failure.
 */
export interface LlmProvider {
  readonly name: string;
  readonly model: string;
  readonly baseUrl: string;
  readonly timeoutMs: number;
  /** further attempts at this provider for a retryable error, before falling back */
  readonly maxRetries: number;
  complete(request: CompletionRequest): Promise<Completion>;
}

export class LlmCallError extends Error {
  constructor(
    readonly errorKind: LlmErrorKind,
    /** the provider's HTTP status, when it answered */
    readonly status: number | null,
    /** from Retry-After (429, 503), when the provider sent it */
    readonly retryAfterMs: number | null,
    message: string,
  ) {
    super(message);
    this.name = 'LlmCallError';
  }
}

export type CircuitState = 'closed' | 'open' | 'half_open';

/** What a circuit breaker tells its owner (turned into events and log lines by the chain). */
export type CircuitListener = {
  onOpen(halfOpenAfterMs: number): void;
  onHalfOpen(): void;
  onClose(): void;
};

/**
 * A circuit breaker per provider (infrastructure/llm/circuit.ts, on cockatiel). `execute` throws
 * `CircuitOpenError` without calling `fn` while the circuit is open.
 */
export interface CircuitBreaker {
  readonly state: CircuitState;
  execute<T>(fn: () => Promise<T>): Promise<T>;
}

export class CircuitOpenError extends Error {
  constructor(readonly provider: string) {
    super(`circuit open for provider ${provider}`);
    this.name = 'CircuitOpenError';
  }
}

export type CircuitFactory = (provider: string, listener: CircuitListener) => CircuitBreaker;

/** The log lines of the chain; a winston logger fits. Never passed prompt or completion text. */
export type LlmLog = {
  info(message: string, fields?: Record<string, unknown>): unknown;
  warn(message: string, fields?: Record<string, unknown>): unknown;
};
