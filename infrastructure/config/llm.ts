// LLM_PROVIDERS (a JSON array, first = primary) or OPENAI_API_KEY / OPENAI_BASE_URL / OPENAI_MODEL alone
// for a one-provider chain. Each entry is checked with zod and every problem is reported with its entry
// number and name; an API key is never echoed.
import { z } from 'zod';
import { PROVIDER_NAME } from '#domain/llm/events.js';
import { envVar, parseUrl, type Env } from './fields.js';

export type LlmProviderConfig = {
  readonly name: string;
  readonly baseUrl: string;
  readonly model: string;
  readonly apiKey: string | null;
  readonly timeoutMs: number;
  readonly maxRetries: number;
  readonly circuitThreshold: number;
  readonly halfOpenAfterMs: number;
};

const HTTP = ['http:', 'https:'];
export const DEFAULT_OPENAI_BASE_URL = 'https://api.openai.com/v1';
export const DEFAULT_OPENAI_MODEL = 'gpt-4o-mini';

const Entry = z
  .object({
    name: z.string().regex(PROVIDER_NAME, 'must be 1-40 of a-z, 0-9, "-" or "_", starting with a letter or digit'),
    baseUrl: z
      .string()
      .refine((url) => parseUrl(url, HTTP) !== undefined, 'must be an http(s) URL such as https://api.openai.com/v1'),
    model: z.string().min(1, 'must name a model').max(200),
    apiKey: z.string().min(1, 'must not be empty (leave it out for servers that need none)').optional(),
    timeoutMs: z.number().int().min(100).max(300_000).optional(),
    maxRetries: z.number().int().min(0).max(5).optional(),
    circuitThreshold: z.number().int().min(1).max(100).optional(),
    halfOpenAfterMs: z.number().int().min(100).max(3_600_000).optional(),
  })
  .strict();

const FIX =
  'LLM_PROVIDERS is a JSON array, first = primary, e.g. [{"name":"primary","baseUrl":"https://api.openai.com/v1","model":"gpt-4o-mini","timeoutMs":8000},{"name":"local","baseUrl":"http://ollama:11434/v1","model":"llama3.1"}]; optional per entry: apiKey, timeoutMs (100-300000), maxRetries (0-5), circuitThreshold (1-100), halfOpenAfterMs (100-3600000).';

const withDefaults = (entry: z.infer<typeof Entry>): LlmProviderConfig => ({
  name: entry.name,
  baseUrl: entry.baseUrl.trim().replace(/\/+$/, ''),
  model: entry.model,
  apiKey: entry.apiKey ?? null,
  timeoutMs: entry.timeoutMs ?? 8_000,
  maxRetries: entry.maxRetries ?? 1,
  circuitThreshold: entry.circuitThreshold ?? 5,
  halfOpenAfterMs: entry.halfOpenAfterMs ?? 30_000,
});

/** The chain from the environment, primary first; empty when no LLM is configured (the rules answer). */
export const llmProviders = (env: Env) =>
  envVar((value, report): LlmProviderConfig[] => {
    if (value === undefined) {
      const key = env.OPENAI_API_KEY;
      const baseUrl = env.OPENAI_BASE_URL;
      if (key === undefined && baseUrl === undefined) return [];
      if (baseUrl !== undefined && parseUrl(baseUrl, HTTP) === undefined) {
        report('OPENAI_BASE_URL is not an http(s) URL', 'Set OPENAI_BASE_URL like http://ollama:11434/v1.');
        return [];
      }
      return [
        withDefaults({
          name: 'openai',
          baseUrl: baseUrl ?? DEFAULT_OPENAI_BASE_URL,
          model: env.OPENAI_MODEL ?? DEFAULT_OPENAI_MODEL,
          ...(key !== undefined ? { apiKey: key } : {}),
        }),
      ];
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(value);
    } catch {
      report('is not valid JSON', FIX);
      return [];
    }
    if (!Array.isArray(parsed) || parsed.length === 0) {
      report('must be a non-empty JSON array of providers', FIX);
      return [];
    }
    const providers: LlmProviderConfig[] = [];
    const names = new Set<string>();
    parsed.forEach((raw: unknown, i) => {
      const name =
        typeof (raw as { name?: unknown })?.name === 'string' ? (raw as { name: string }).name.slice(0, 40) : '?';
      const duplicate = name !== '?' && names.has(name);
      names.add(name);
      if (duplicate) report(`entry #${i + 1} (${name}): the name is used twice`, 'Give each provider its own name.');
      const result = Entry.safeParse(raw);
      if (!result.success) {
        for (const issue of result.error.issues) {
          const where = issue.path.length > 0 ? issue.path.join('.') : 'entry';
          // Zod's message for an unknown key names the key, never its value; values are never shown.
          report(`entry #${i + 1} (${name}): ${where} ${issue.message}`, FIX);
        }
        return;
      }
      if (!duplicate) providers.push(withDefaults(result.data));
    });
    return providers;
  });
