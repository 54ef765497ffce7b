import type { Decider } from '#domain/shared/event.js';
import { InvalidLlmSettings, UnknownLlmCommand } from './errors.js';
import type { LlmSettings, LlmSettingsChanged } from './events.js';

/**
 * The LLM settings aggregate (stream `llm-settings`): one current value, every change an event
 * (so the audit trail says who changed the prompt or the temperature, and when).
 */
export const DEFAULT_LLM_SETTINGS: LlmSettings = Object.freeze({
  systemPrompt:
    'You are the WhatsApp assistant of this business. Answer briefly and politely, in the language the contact writes in. If you do not know, say so and offer to pass the conversation to a person.',
  model: null,
  temperature: 0.3,
  maxPromptTokens: 3000,
  maxReplyTokens: 512,
  fallbackText:
    'Lo siento, ahora mismo no puedo responder. Una persona te contestará pronto. / Sorry, I cannot answer right now; a person will reply soon.',
  rulesFirst: true,
  prices: Object.freeze({}),
});

export const SETTINGS_LIMITS = {
  systemPromptMaxChars: 8000,
  fallbackTextMaxChars: 1000,
  temperature: [0, 2],
  maxPromptTokens: [256, 128_000],
  maxReplyTokens: [16, 16_384],
} as const;

export type LlmSettingsState = Readonly<{ settings: LlmSettings; version: number }>;
export type ChangeLlmSettings = Readonly<{ type: 'ChangeLlmSettings'; data: { settings: LlmSettings; by: string } }>;

const inRange = (value: number, [min, max]: readonly [number, number]): boolean =>
  Number.isFinite(value) && value >= min && value <= max;

export const settingsProblems = (s: LlmSettings): string[] => {
  const problems: string[] = [];
  const L = SETTINGS_LIMITS;
  if (s.systemPrompt.length > L.systemPromptMaxChars)
    problems.push(`systemPrompt is longer than ${L.systemPromptMaxChars} characters`);
  if (s.fallbackText.trim() === '' || s.fallbackText.length > L.fallbackTextMaxChars)
    problems.push(`fallbackText must be 1-${L.fallbackTextMaxChars} characters`);
  if (s.model !== null && (s.model.trim() === '' || s.model.length > 200))
    problems.push('model must be 1-200 characters or null');
  if (!inRange(s.temperature, L.temperature)) problems.push('temperature must be between 0 and 2');
  if (!Number.isInteger(s.maxPromptTokens) || !inRange(s.maxPromptTokens, L.maxPromptTokens))
    problems.push(`maxPromptTokens must be a whole number from ${L.maxPromptTokens[0]} to ${L.maxPromptTokens[1]}`);
  if (!Number.isInteger(s.maxReplyTokens) || !inRange(s.maxReplyTokens, L.maxReplyTokens))
    problems.push(`maxReplyTokens must be a whole number from ${L.maxReplyTokens[0]} to ${L.maxReplyTokens[1]}`);
  for (const [model, price] of Object.entries(s.prices))
    if (!inRange(price.inputPerMTokUsd, [0, 10_000]) || !inRange(price.outputPerMTokUsd, [0, 10_000]))
      problems.push(`prices.${model.slice(0, 60)} must be between 0 and 10000 USD per million tokens`);
  return problems;
};

const changedKeys = (before: LlmSettings, after: LlmSettings): string[] =>
  (Object.keys(after) as (keyof LlmSettings)[]).filter(
    (key) => JSON.stringify(before[key]) !== JSON.stringify(after[key]),
  );

export const initialState = (): LlmSettingsState => ({ settings: DEFAULT_LLM_SETTINGS, version: 0 });

export const decide = (command: ChangeLlmSettings, state: LlmSettingsState): LlmSettingsChanged[] => {
  switch (command.type) {
    case 'ChangeLlmSettings': {
      const problems = settingsProblems(command.data.settings);
      if (problems.length > 0) throw new InvalidLlmSettings(problems);
      const changed = changedKeys(state.settings, command.data.settings);
      if (changed.length === 0) return [];
      return [{ type: 'LlmSettingsChanged', data: { settings: command.data.settings, changed, by: command.data.by } }];
    }
    default: {
      const _exhaustive: never = command.type;
      throw new UnknownLlmCommand(_exhaustive);
    }
  }
};

export const evolve = (state: LlmSettingsState, event: LlmSettingsChanged): LlmSettingsState => {
  switch (event.type) {
    case 'LlmSettingsChanged':
      return { settings: { ...DEFAULT_LLM_SETTINGS, ...event.data.settings }, version: state.version + 1 };
    default: {
      const _exhaustive: never = event.type;
      return state;
    }
  }
};

export const llmSettingsDecider: Decider<LlmSettingsState, ChangeLlmSettings, LlmSettingsChanged> = {
  decide,
  evolve,
  initialState,
};
