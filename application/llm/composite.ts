import type { AutoReplier } from '#application/messaging/autoReply.js';
import type { EventStore } from '#application/shared/eventStore.js';
import { loadLlmSettings } from './control.js';

/**
 * The bot as the responder process manager sees it: with no LLM provider the rules responder alone
 * (so the embedded default works offline); with providers, the rules first when the `rulesFirst`
 * setting says so — the rules responder answers null when it has no exact match — and the LLM for
 * everything else.
 */
export const rulesThenLlm = (deps: { rules: AutoReplier; llm: AutoReplier | null; store: EventStore }): AutoReplier => {
  const { rules, llm } = deps;
  if (llm === null) return rules;
  return {
    reply: async (request) => {
      if ((await loadLlmSettings(deps.store)).rulesFirst) {
        const answer = await rules.reply(request);
        if (answer !== null) return answer;
      }
      return llm.reply(request);
    },
  };
};
