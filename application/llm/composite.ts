import type { AutoReplier } from '#application/messaging/autoReply.js';
import type { EventStore } from '#application/shared/eventStore.js';
import { loadLlmSettings } from './control.js';

/** The source of the rules responder's answer when no rule matched (application/messaging/rules.ts). */
export const RULES_FALLBACK_SOURCE = 'rules:fallback';

/**
 * The bot as the responder process manager sees it: with no LLM provider the rules responder alone
 * (so the embedded default works offline); with providers, the rules first when the `rulesFirst`
 * setting says so — a rule that matched; the rules' catch-all fallback text (source `rules:fallback`)
 * is not a match, the LLM answers those — and the LLM for everything else.
 */
export const rulesThenLlm = (deps: { rules: AutoReplier; llm: AutoReplier | null; store: EventStore }): AutoReplier => {
  const { rules, llm } = deps;
  if (llm === null) return rules;
  return {
    reply: async (request) => {
      if ((await loadLlmSettings(deps.store)).rulesFirst) {
        const answer = await rules.reply(request);
        if (answer !== null && answer.source !== RULES_FALLBACK_SOURCE) return answer;
      }
      return llm.reply(request);
    },
  };
};
