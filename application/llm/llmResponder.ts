import type { AutoReplier, AutoReply, AutoReplyRequest } from '#application/messaging/autoReply.js';
import type { EventStore } from '#application/shared/eventStore.js';
import { buildPrompt } from '#domain/llm/prompt.js';
import type { ProviderChain } from './chain.js';
import { loadLlmSettings } from './control.js';
import type { LlmLog } from './ports.js';

export type LlmAutoReplierDeps = {
  store: EventStore;
  chain: ProviderChain;
  log: LlmLog;
  /**
   * Whether the reply to this inbound event is queued (the messaging context's reply stream exists).
   * Given (the app), a turn another caller holds, or one that ended and whose reply is not queued yet,
   * is waited for — until the reply is queued (null), or the turn goes stale (its runner died: this
   * caller runs it again) — so that no inbound message is left unanswered by a crash. Not given, such
   * a request answers null at once.
   */
  replyQueued?: (inboundEventId: string) => Promise<boolean>;
  /** waits between looks at a held turn (tests pass a fast one) */
  sleep?: (ms: number) => Promise<void>;
  /** answers kept in memory for a repeated request (default 1000) */
  rememberAnswers?: number;
};

const POLL_FIRST_MS = 100;
const POLL_MAX_MS = 2_000;
const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * The LLM responder behind the auto-reply port: the settings' system prompt plus the chat's history
 * within the token budget, through the provider chain; every provider failing answers the settings'
 * fallback text (source 'fallback').
 *
 * One provider call per inbound message: the turn's stream is `llm-<inboundEventId>`.
 * - A request for an inbound message whose turn already has a LlmCallSucceeded makes no provider call.
 *   In this process the answer is remembered and returned again (the same text); after a restart it
 *   is not (completion text is never stored in LLM events). The reply the messaging context queued
 *   with this inbound event as causation is where once-per-inbound is decided: with `replyQueued`, a
 *   turn answered but never queued (its process died in between) is run again once it is stale.
 * - Two concurrent requests for one inbound message in this process share one call; across processes
 *   the turn's decider (under the stream's expected revision) lets one of them run it.
 * - A turn that ended on the fallback text may be asked again (the providers may be back).
 */
export const createLlmAutoReplier = (deps: LlmAutoReplierDeps): AutoReplier => {
  const limit = deps.rememberAnswers ?? 1000;
  const sleep = deps.sleep ?? defaultSleep;
  const answers = new Map<string, AutoReply>();
  const inFlight = new Map<string, Promise<AutoReply | null>>();
  const remember = (turnId: string, answer: AutoReply) => {
    answers.set(turnId, answer);
    if (answers.size > limit) answers.delete(answers.keys().next().value!);
  };

  /** null: run the turn; else what to answer (a reply, or null after waiting) */
  const ask = async (request: AutoReplyRequest): Promise<AutoReply | null> => {
    const turnId = request.inboundEventId;
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

  const answer = async (request: AutoReplyRequest): Promise<AutoReply | null> => {
    const turnId = request.inboundEventId;
    for (let wait = POLL_FIRST_MS; ; wait = Math.min(POLL_MAX_MS, wait * 2)) {
      // The chain runs the turn unless another caller holds it (a live run, or one that just ended
      // there with its reply about to be queued); a turn quiet for longer than staleTurnMs it runs again.
      const reply = await ask(request);
      if (reply !== null || deps.replyQueued === undefined) return reply;
      await sleep(wait);
      if (await deps.replyQueued(turnId)) return null;
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
