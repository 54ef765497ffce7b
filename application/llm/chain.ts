import { handleCommand, loadAggregate, type CommandContext } from '#application/shared/commandHandler.js';
import type { EventStore } from '#application/shared/eventStore.js';
import type { Runtime } from '#application/shared/runtime.js';
import { circuitDecider, type RecordCircuit } from '#domain/llm/circuit.js';
import { TurnBusy } from '#domain/llm/errors.js';
import { activeForce, forceDecider } from '#domain/llm/force.js';
import { mayStartRun, turnDecider, type TurnCommand, type TurnSeen } from '#domain/llm/turn.js';
import {
  isRetryable,
  LLM_FORCE_STREAM,
  llmProviderStreamId,
  llmTurnStreamId,
  type LlmErrorKind,
  type LlmSettings,
  type LlmTurnEvent,
} from '#domain/llm/events.js';
import { estimateMessageTokens, type PromptMessage } from '#domain/llm/prompt.js';
import {
  CircuitOpenError,
  LlmCallError,
  type CircuitBreaker,
  type CircuitFactory,
  type CircuitState,
  type LlmLog,
  type LlmProvider,
} from './ports.js';

export type RetryPolicy = {
  /** first backoff; doubles per attempt, with jitter (50-100 % of the value) */
  baseDelayMs: number;
  maxDelayMs: number;
  /** a Retry-After longer than this is not waited for: the next provider is asked instead */
  maxRetryAfterMs: number;
};

export const DEFAULT_RETRY: RetryPolicy = { baseDelayMs: 250, maxDelayMs: 4_000, maxRetryAfterMs: 10_000 };

export type ChainDeps = {
  store: EventStore;
  runtime: Runtime;
  log: LlmLog;
  providers: readonly LlmProvider[];
  circuits: CircuitFactory;
  retry?: RetryPolicy;
  /** waits between retries; tests pass a fast one */
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  /** a monotonic millisecond counter for latencies (default: the runtime's clock) */
  elapsed?: () => number;
  /**
   * a turn quiet this long (its process died mid-call, or before it queued the reply) may be run again;
   * default: the longest step a live run can take (the slowest provider's timeout, or the longest
   * Retry-After waited for) plus 5 s
   */
  staleTurnMs?: number;
};

export type Turn = {
  turnId: string;
  chatId: string | null;
  correlationId: string;
  /** the inbound message's event id */
  causationId: string;
  messages: readonly PromptMessage[];
  settings: LlmSettings;
};

export type TurnOutcome =
  | { kind: 'answered'; provider: string; text: string }
  | { kind: 'failed'; lastError: LlmErrorKind | null }
  /** another caller appended to this turn's stream first: it answers, this one stays quiet */
  | { kind: 'busy' };

export type ProviderChain = {
  readonly providers: readonly LlmProvider[];
  /** a turn quiet this long was left by a dead runner and may be run again */
  readonly staleTurnMs: number;
  circuitState(provider: string): CircuitState;
  /** the order the next turn would try, the forced provider first while the force lasts */
  order(): Promise<LlmProvider[]>;
  run(turn: Turn): Promise<TurnOutcome>;
};

/** The longest quiet spell of a live run, plus a margin: any quieter turn was left by a dead runner. */
export const defaultStaleTurnMs = (providers: readonly LlmProvider[], retry: RetryPolicy): number =>
  Math.max(
    0,
    ...providers.map((p) => p.timeoutMs),
    ...(providers.some((p) => p.maxRetries > 0) ? [retry.maxRetryAfterMs, retry.maxDelayMs] : []),
  ) + 5_000;

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

const errorKindOf = (error: unknown): { kind: LlmErrorKind; status: number | null; retryAfterMs: number | null } => {
  if (error instanceof CircuitOpenError) return { kind: 'circuit_open', status: null, retryAfterMs: null };
  if (error instanceof LlmCallError)
    return { kind: error.errorKind, status: error.status, retryAfterMs: error.retryAfterMs };
  return { kind: 'bad_response', status: null, retryAfterMs: null };
};

/**
 * The provider chain: for each provider in order (the forced one first), attempts with a per-call
 * timeout (the provider's), retries with jittered exponential backoff for retryable errors only
 * (429 honouring Retry-After, 5xx, network, timeout), behind a circuit breaker per provider; then the
 * next provider (FallbackUsed). Every attempt is a LlmCallStarted + LlmCallSucceeded|LlmCallFailed pair
 * on the turn's stream, every breaker transition an event on the provider's stream, and the log lines
 * carry the runbook's words (provider, fallback, timeout, circuit) — never prompt or completion text.
 */
export const createProviderChain = (deps: ChainDeps): ProviderChain => {
  const retry = deps.retry ?? DEFAULT_RETRY;
  const sleep = deps.sleep ?? defaultSleep;
  const random = deps.random ?? Math.random;
  const elapsed = deps.elapsed ?? (() => deps.runtime.clock().getTime());
  const staleTurnMs = deps.staleTurnMs ?? defaultStaleTurnMs(deps.providers, retry);
  // Breaker transitions happen inside cockatiel's callbacks; their writes are awaited before a turn
  // goes on, so the events are in the store by the time the caller sees the outcome.
  let pending: Promise<unknown> = Promise.resolve();
  let correlation: { correlationId: string; causationId: string | null } = {
    correlationId: 'llm-circuit',
    causationId: null,
  };
  const recordCircuit = (data: RecordCircuit['data']) => {
    const context: CommandContext = { ...correlation, actor: 'llm' };
    const write = handleCommand(
      deps.store,
      llmProviderStreamId(data.provider),
      circuitDecider,
      () => ({ type: 'RecordCircuit' as const, data }),
      context,
      { runtime: deps.runtime },
    );
    pending = Promise.all([
      pending,
      write.catch((error: unknown) =>
        deps.log.warn('llm provider circuit event not stored', { provider: data.provider, error }),
      ),
    ]);
  };
  const circuits = new Map<string, CircuitBreaker>(
    deps.providers.map((provider) => [
      provider.name,
      deps.circuits(provider.name, {
        onOpen: (halfOpenAfterMs) => {
          deps.log.warn('llm provider circuit opened', { provider: provider.name, halfOpenAfterMs });
          recordCircuit({ provider: provider.name, to: 'open', halfOpenAfterMs });
        },
        onHalfOpen: () => {
          deps.log.info('llm provider circuit half-open: probing', { provider: provider.name });
          recordCircuit({ provider: provider.name, to: 'half_open' });
        },
        onClose: () => {
          deps.log.info('llm provider circuit closed', { provider: provider.name });
          recordCircuit({ provider: provider.name, to: 'closed' });
        },
      }),
    ]),
  );

  const order = async (): Promise<LlmProvider[]> => {
    const { state } = await loadAggregate(deps.store, LLM_FORCE_STREAM, forceDecider);
    const forced = activeForce(state, deps.runtime.clock());
    const first = forced === null ? undefined : deps.providers.find((p) => p.name === forced.provider);
    return first === undefined ? [...deps.providers] : [first, ...deps.providers.filter((p) => p !== first)];
  };

  const run = async (turn: Turn): Promise<TurnOutcome> => {
    const streamId = llmTurnStreamId(turn.turnId);
    const existing = await deps.store.readStream<LlmTurnEvent>(streamId);
    const last = existing[existing.length - 1];
    const seen: TurnSeen = {
      events: existing.length,
      lastEventAt: last?.metadata.occurredAt ?? null,
      now: deps.runtime.clock().toISOString(),
      staleMs: staleTurnMs,
    };
    // Someone else is answering this turn right now (another process, or this one before a restart):
    // only a turn never started, one that ended on the fallback text, or one quiet for longer than a
    // live run can be (its runner died) is run again. The decider says so again under the write.
    const state = existing.reduce(
      (s, e) => turnDecider.evolve(s, { type: e.type, data: e.data } as LlmTurnEvent),
      turnDecider.initialState(),
    );
    if (!mayStartRun(state, seen)) {
      deps.log.info('llm turn taken by another caller', { turnId: turn.turnId });
      return { kind: 'busy' };
    }
    if (state.status === 'answered')
      deps.log.warn('llm turn ended but its reply was never queued: asking the provider again', {
        turnId: turn.turnId,
      });
    else if (state.status === 'calling' || state.status === 'between')
      deps.log.warn('llm turn left unfinished (its process stopped): taking it over, asking the provider again', {
        turnId: turn.turnId,
      });
    const context: CommandContext = {
      correlationId: turn.correlationId,
      causationId: turn.causationId,
      actor: 'llm',
    };
    /** one decision on the turn's stream; every command of a run names the call before it */
    const decide = (command: TurnCommand) =>
      handleCommand(deps.store, streamId, turnDecider, () => command, context, { runtime: deps.runtime });
    let previousCallId: string | null = null;
    const promptChars = turn.messages.reduce((sum, m) => sum + m.content.length, 0);
    const promptTokensEstimate = estimateMessageTokens(turn.messages);
    const providers = await order();
    let lastError: LlmErrorKind | null = null;
    correlation = { correlationId: turn.correlationId, causationId: turn.causationId };
    try {
      for (const [index, provider] of providers.entries()) {
        const model =
          provider === deps.providers[0] && turn.settings.model !== null ? turn.settings.model : provider.model;
        const circuit = circuits.get(provider.name)!;
        for (let attempt = 1; ; attempt++) {
          const callId = deps.runtime.newId();
          const call = { turnId: turn.turnId, callId, provider: provider.name, model, attempt };
          await decide({
            type: 'StartCall',
            data: {
              call: { ...call, messages: turn.messages.length, promptChars, promptTokensEstimate, chatId: turn.chatId },
              previousCallId,
              seen: previousCallId === null ? seen : null,
            },
          });
          previousCallId = callId;
          const started = elapsed();
          try {
            const completion = await circuit.execute(() =>
              provider.complete({
                messages: turn.messages,
                model,
                temperature: turn.settings.temperature,
                maxTokens: turn.settings.maxReplyTokens,
              }),
            );
            await pending;
            const latencyMs = Math.max(0, Math.round(elapsed() - started));
            const price = turn.settings.prices[completion.model] ?? turn.settings.prices[model];
            const costUsd = price
              ? (completion.tokensIn * price.inputPerMTokUsd + completion.tokensOut * price.outputPerMTokUsd) /
                1_000_000
              : 0;
            await decide({
              type: 'RecordSuccess',
              data: {
                ...call,
                model: completion.model || model,
                latencyMs,
                tokensIn: completion.tokensIn,
                tokensOut: completion.tokensOut,
                costUsd,
                completionChars: completion.text.length,
              },
            });
            deps.log.info('llm provider call succeeded', {
              provider: provider.name,
              model: completion.model || model,
              turnId: turn.turnId,
              attempt,
              latencyMs,
              tokensIn: completion.tokensIn,
              tokensOut: completion.tokensOut,
            });
            return { kind: 'answered', provider: provider.name, text: completion.text };
          } catch (error) {
            if (error instanceof TurnBusy) throw error;
            await pending;
            const latencyMs = Math.max(0, Math.round(elapsed() - started));
            const { kind, status, retryAfterMs } = errorKindOf(error);
            lastError = kind;
            const waitMs =
              retryAfterMs ??
              Math.min(retry.maxDelayMs, retry.baseDelayMs * 2 ** (attempt - 1)) * (0.5 + random() * 0.5);
            const willRetry =
              isRetryable(kind) &&
              attempt <= provider.maxRetries &&
              waitMs <= retry.maxRetryAfterMs &&
              circuit.state !== 'open';
            await decide({
              type: 'RecordFailure',
              data: { ...call, errorKind: kind, status, latencyMs, willRetry },
            });
            deps.log.warn(`llm provider call failed: ${kind}`, {
              provider: provider.name,
              model,
              turnId: turn.turnId,
              attempt,
              errorKind: kind,
              status,
              latencyMs,
              willRetry,
              ...(willRetry ? { retryInMs: Math.round(waitMs) } : {}),
            });
            if (!willRetry) break;
            await sleep(waitMs);
          }
        }
        const next = providers[index + 1] ?? null;
        await decide({
          type: 'RecordFallback',
          data: {
            afterCallId: previousCallId,
            turnId: turn.turnId,
            from: provider.name,
            to: next?.name ?? null,
            reason: lastError ?? 'bad_response',
          },
        });
        if (next !== null)
          deps.log.warn('llm fallback to next provider', {
            from: provider.name,
            provider: next.name,
            reason: lastError,
            turnId: turn.turnId,
          });
        else
          deps.log.warn('llm fallback text: every provider failed', {
            provider: provider.name,
            reason: lastError,
            turnId: turn.turnId,
          });
      }
      if (providers.length === 0) deps.log.warn('llm fallback text: no provider configured', { turnId: turn.turnId });
      return { kind: 'failed', lastError };
    } catch (error) {
      if (error instanceof TurnBusy) {
        deps.log.info('llm turn taken by another caller', { turnId: turn.turnId });
        return { kind: 'busy' };
      }
      throw error;
    }
  };

  return {
    providers: deps.providers,
    staleTurnMs,
    circuitState: (provider) => circuits.get(provider)?.state ?? 'closed',
    order,
    run,
  };
};
