import type { Event } from '#domain/shared/event.js';

/**
 * The llm context's event catalogue. Streams:
 * - `llm-<turnId>`: one turn (one inbound message answered), turnId = the inbound MessageReceived
 *   event id; every provider attempt of the turn is a Started/Succeeded|Failed pair, a switch to the
 *   next provider is a FallbackUsed.
 * - `llm-provider-<name>`: the circuit breaker's state changes for that provider.
 * - `llm-force`: the temporary override of the chain's order (ProviderForced / ProviderForceEnded).
 * - `llm-settings`: system prompt, model, temperature, token budget, prices (LlmSettingsChanged).
 *
 * Prompt and completion TEXT never appear here (they live in the conversation's own events, where
 * they can be shredded per contact): calls carry ids, sizes and token counts only.
 */

export type LlmErrorKind =
  'timeout' | 'rate_limited' | 'http_5xx' | 'http_4xx' | 'network' | 'bad_response' | 'circuit_open';
export const LLM_ERROR_KINDS: readonly LlmErrorKind[] = [
  'timeout',
  'rate_limited',
  'http_5xx',
  'http_4xx',
  'network',
  'bad_response',
  'circuit_open',
];
/** Worth another attempt at the same provider (after a jittered backoff, or Retry-After). */
export const isRetryable = (kind: LlmErrorKind): boolean =>
  kind === 'rate_limited' || kind === 'http_5xx' || kind === 'network' || kind === 'timeout';

export type LlmCallStarted = Event<
  'LlmCallStarted',
  {
    turnId: string;
    callId: string;
    provider: string;
    model: string;
    /** 1 for the first attempt at this provider in this turn, 2.. for retries */
    attempt: number;
    messages: number;
    promptChars: number;
    promptTokensEstimate: number;
    chatId: string | null;
  }
>;
export type LlmCallSucceeded = Event<
  'LlmCallSucceeded',
  {
    turnId: string;
    callId: string;
    provider: string;
    model: string;
    attempt: number;
    latencyMs: number;
    tokensIn: number;
    tokensOut: number;
    /** USD, from the price table of the settings (0 when the model has no price) */
    costUsd: number;
    completionChars: number;
  }
>;
export type LlmCallFailed = Event<
  'LlmCallFailed',
  {
    turnId: string;
    callId: string;
    provider: string;
    model: string;
    attempt: number;
    errorKind: LlmErrorKind;
    /** HTTP status when the provider answered */
    status: number | null;
    latencyMs: number;
    /** another attempt at the same provider follows */
    willRetry: boolean;
  }
>;
export type FallbackUsed = Event<
  'FallbackUsed',
  {
    turnId: string;
    from: string;
    /** the next provider, or null: every provider failed and the fallback text answers */
    to: string | null;
    reason: LlmErrorKind;
  }
>;
export type ProviderCircuitOpened = Event<'ProviderCircuitOpened', { provider: string; halfOpenAfterMs: number }>;
export type ProviderCircuitHalfOpened = Event<'ProviderCircuitHalfOpened', { provider: string }>;
export type ProviderCircuitClosed = Event<'ProviderCircuitClosed', { provider: string }>;
export type ProviderForced = Event<
  'ProviderForced',
  { provider: string; minutes: number; until: string; previousProvider: string | null; by: string }
>;
export type ProviderForceEnded = Event<
  'ProviderForceEnded',
  { provider: string; reason: 'ended_by_admin' | 'replaced'; by: string }
>;

export type PriceTable = Readonly<
  Record<string, { readonly inputPerMTokUsd: number; readonly outputPerMTokUsd: number }>
>;

export type LlmSettings = Readonly<{
  systemPrompt: string;
  /** overrides the primary provider's model; null: each provider's configured model */
  model: string | null;
  temperature: number;
  /** prompt budget: system prompt + history + the inbound text, estimated tokens */
  maxPromptTokens: number;
  /** max_tokens of the completion */
  maxReplyTokens: number;
  /** the text sent when every provider failed */
  fallbackText: string;
  /** the rules responder answers first when it has an exact match */
  rulesFirst: boolean;
  prices: PriceTable;
}>;

export type LlmSettingsChanged = Event<'LlmSettingsChanged', { settings: LlmSettings; changed: string[]; by: string }>;

export type LlmTurnEvent = LlmCallStarted | LlmCallSucceeded | LlmCallFailed | FallbackUsed;
export type LlmCircuitEvent = ProviderCircuitOpened | ProviderCircuitHalfOpened | ProviderCircuitClosed;
export type LlmForceEvent = ProviderForced | ProviderForceEnded;
export type LlmEvent = LlmTurnEvent | LlmCircuitEvent | LlmForceEvent | LlmSettingsChanged;

export const LLM_EVENT_TYPES: readonly LlmEvent['type'][] = [
  'LlmCallStarted',
  'LlmCallSucceeded',
  'LlmCallFailed',
  'FallbackUsed',
  'ProviderCircuitOpened',
  'ProviderCircuitHalfOpened',
  'ProviderCircuitClosed',
  'ProviderForced',
  'ProviderForceEnded',
  'LlmSettingsChanged',
];

export const llmTurnStreamId = (turnId: string): string => `llm-${turnId}`;
export const llmProviderStreamId = (provider: string): string => `llm-provider-${provider}`;
export const LLM_FORCE_STREAM = 'llm-force';
export const LLM_SETTINGS_STREAM = 'llm-settings';

/** A provider name: it becomes part of a stream id, a secret name and a metric label. */
export const PROVIDER_NAME = /^[a-z0-9][a-z0-9_-]{0,39}$/;
