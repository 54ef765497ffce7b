import type { AutoReplier, AutoReply, AutoReplyRequest } from '#application/messaging/autoReply.js';
import type { EventStore } from '#application/shared/eventStore.js';
import { llmTurnStreamId, type LlmTurnEvent } from '#domain/llm/events.js';
import { buildPrompt } from '#domain/llm/prompt.js';
import type { ProviderChain } from './chain.js';
import { loadLlmSettings } from './control.js';
import type { LlmLog } from './ports.js';

export type LlmAutoReplierDeps = {
  store: EventStore;
  chain: ProviderChain;
  log: LlmLog;
  /** answers kept in memory for a repeated request (default 1000) */
  rememberAnswers?: number;
};

/**
 * The LLM responder behind the auto-reply port: the settings' system prompt plus the chat's history
 * within the token budget, through the provider chain; every provider failing answers the settings'
 * fallback text (source 'fallback').
 *
 * One provider call per inbound message: the turn's stream is `llm-<inboundEventId>`.
 * - A request for an inbound message whose turn already has a LlmCallSucceeded makes no provider call.
 *   In this process the answer is remembered and returned again (the same text); after a restart it
 *   is not (completion text is never stored in LLM events), and the reply is null: the text went into
 *   the reply the messaging context queued with this inbound event as causation, which is where
 *   once-per-inbound is decided.
 * - Two concurrent requests for one inbound message in this process share one call; across processes
 *   the turn stream's expected revision lets one of them answer and the other return null.
 * - A turn that ended on the fallback text may be asked again (the providers may be back).
 */
export const createLlmAutoReplier = (deps: LlmAutoReplierDeps): AutoReplier => {
  const limit = deps.rememberAnswers ?? 1000;
  const answers = new Map<string, AutoReply>();
  const inFlight = new Map<string, Promise<AutoReply | null>>();
  const remember = (turnId: string, answer: AutoReply) => {
    answers.set(turnId, answer);
    if (answers.size > limit) answers.delete(answers.keys().next().value!);
  };

  const answer = async (request: AutoReplyRequest): Promise<AutoReply | null> => {
    const turnId = request.inboundEventId;
    const earlier = await deps.store.readStream<LlmTurnEvent>(llmTurnStreamId(turnId));
    if (earlier.some((event) => event.type === 'LlmCallSucceeded')) {
      deps.log.info('llm turn already answered: no second provider call', { turnId });
      return null;
    }
    const settings = await loadLlmSettings(deps.store);
    const messages = buildPrompt({
      systemPrompt: settings.systemPrompt,
      history: request.history,
      text: request.text,
      maxPromptTokens: settings.maxPromptTokens,
    });
    const outcome = await deps.chain.run({
      turnId,
      chatId: request.chatId,
      correlationId: request.correlationId,
      causationId: request.inboundEventId,
      messages,
      settings,
    });
    switch (outcome.kind) {
      case 'answered': {
        const reply = { text: outcome.text, source: `llm:${outcome.provider}` };
        remember(turnId, reply);
        return reply;
      }
      case 'failed':
        return { text: settings.fallbackText, source: 'fallback' };
      case 'busy':
        return null;
      default: {
        const _exhaustive: never = outcome;
        return null;
      }
    }
  };

  return {
    reply: (request) => {
      const remembered = answers.get(request.inboundEventId);
      if (remembered) return Promise.resolve(remembered);
      const running = inFlight.get(request.inboundEventId);
      if (running) return running;
      const promise = answer(request).finally(() => inFlight.delete(request.inboundEventId));
      inFlight.set(request.inboundEventId, promise);
      return promise;
    },
  };
};
