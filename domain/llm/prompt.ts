/**
 * The prompt of one turn: the system prompt, as much recent history as the token budget allows
 * (newest kept, oldest dropped first), and the inbound text. Tokens are estimated at ~4 characters
 * each plus a few per message for the chat format's framing: close enough for a budget, with no
 * tokenizer to download per model (the provider's own `usage` is what gets recorded).
 */
export type PromptMessage = { role: 'system' | 'user' | 'assistant'; content: string };
export type PromptTurn = { role: 'contact' | 'bot'; text: string };

const PER_MESSAGE_TOKENS = 4;

export const estimateTokens = (text: string): number => Math.ceil(text.length / 4);
export const estimateMessageTokens = (messages: readonly PromptMessage[]): number =>
  messages.reduce((sum, m) => sum + PER_MESSAGE_TOKENS + estimateTokens(m.content), 0);

export const buildPrompt = (input: {
  systemPrompt: string;
  history: readonly PromptTurn[];
  text: string;
  maxPromptTokens: number;
}): PromptMessage[] => {
  const system: PromptMessage[] =
    input.systemPrompt.trim() === '' ? [] : [{ role: 'system', content: input.systemPrompt }];
  let budget = input.maxPromptTokens - estimateMessageTokens(system) - PER_MESSAGE_TOKENS;
  // The inbound text always goes in; an enormous one is cut to what the budget leaves (at least 1 token).
  const text = input.text.slice(0, Math.max(4, budget * 4));
  budget -= estimateTokens(text);
  const kept: PromptMessage[] = [];
  for (let i = input.history.length - 1; i >= 0; i--) {
    const turn = input.history[i]!;
    const cost = PER_MESSAGE_TOKENS + estimateTokens(turn.text);
    if (cost > budget) break;
    budget -= cost;
    kept.push({ role: turn.role === 'contact' ? 'user' : 'assistant', content: turn.text });
  }
  return [...system, ...kept.reverse(), { role: 'user', content: text }];
};
