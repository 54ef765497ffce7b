import type * as OpenAiModule from 'openai';
import type OpenAI from 'openai';
import { LlmCallError, type Completion, type CompletionRequest, type LlmProvider } from '#application/llm/ports.js';
import { estimateMessageTokens, estimateTokens } from '#domain/llm/prompt.js';

export type OpenAiProviderOptions = {
  name: string;
  /** any OpenAI-compatible base URL, e.g. https://api.openai.com/v1 or http://ollama:11434/v1 */
  baseUrl: string;
  model: string;
  timeoutMs: number;
  maxRetries: number;
  /**
   * The API key at call time: the stored secret `llm-<name>-api-key` when there is one, else the
   * configured key, else null (local servers such as Ollama need none). Never logged.
   */
  apiKey: () => Promise<string | null>;
};

/** Retry-After (seconds or an HTTP date) or OpenAI's retry-after-ms, in milliseconds. */
export const retryAfterMs = (headers: Headers | undefined, now = Date.now()): number | null => {
  const ms = headers?.get('retry-after-ms');
  if (ms && Number.isFinite(Number(ms)) && Number(ms) >= 0) return Number(ms);
  const value = headers?.get('retry-after')?.trim();
  if (!value) return null;
  // eslint-disable-next-line security/detect-unsafe-regex -- anchored and bounded (a Retry-After date); the input is one response header
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isFinite(at) ? Math.max(0, at - now) : null;
};

type OpenAiSdk = typeof OpenAiModule;

// The SDK (about 150 modules) is loaded when a provider is configured (createOpenAiProvider), not with
// this module: a process without an LLM provider never loads it.
let sdkLoading: Promise<OpenAiSdk> | null = null;
const loadSdk = (): Promise<OpenAiSdk> => (sdkLoading ??= import('openai'));

const classify = (
  { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError }: OpenAiSdk,
  error: unknown,
  timedOut: boolean,
): LlmCallError => {
  if (error instanceof LlmCallError) return error;
  if (timedOut || error instanceof APIConnectionTimeoutError)
    return new LlmCallError('timeout', null, null, 'the provider did not answer in time');
  if (error instanceof APIUserAbortError) return new LlmCallError('timeout', null, null, 'the call was aborted');
  if (error instanceof APIConnectionError)
    return new LlmCallError('network', null, null, 'connection to the provider failed');
  if (error instanceof APIError && typeof error.status === 'number') {
    const status = error.status;
    const headers = (error as { headers?: Headers }).headers;
    if (status === 429) return new LlmCallError('rate_limited', status, retryAfterMs(headers), 'rate limited (429)');
    if (status >= 500) return new LlmCallError('http_5xx', status, retryAfterMs(headers), `server error (${status})`);
    return new LlmCallError('http_4xx', status, null, `request refused (${status})`);
  }
  // The SDK parses the body with response.json(): a malformed body surfaces as a SyntaxError.
  if (error instanceof SyntaxError)
    return new LlmCallError('bad_response', null, null, 'the provider sent malformed JSON');
  // undici's "terminated" / "fetch failed": the connection dropped while the body was coming in.
  if (error instanceof TypeError) return new LlmCallError('network', null, null, 'connection to the provider dropped');
  return new LlmCallError('bad_response', null, null, 'unexpected failure reading the provider response');
};

/**
 * An OpenAI-compatible chat completions endpoint through the official `openai` SDK. The SDK's own
 * retries are off (the chain retries, with events); the timeout covers the whole call, body included.
 */
export const createOpenAiProvider = (options: OpenAiProviderOptions): LlmProvider => {
  // loaded now, in the background, so the first call does not wait for it; a failure shows at that call
  loadSdk().catch(() => undefined);
  let client: { key: string; sdk: OpenAI } | null = null;
  const clientFor = (sdkModule: OpenAiSdk, key: string): OpenAI => {
    if (client?.key !== key)
      client = {
        key,
        sdk: new sdkModule.default({
          apiKey: key,
          baseURL: options.baseUrl,
          maxRetries: 0,
          timeout: options.timeoutMs,
        }),
      };
    return client.sdk;
  };
  return {
    name: options.name,
    model: options.model,
    baseUrl: options.baseUrl,
    timeoutMs: options.timeoutMs,
    maxRetries: options.maxRetries,
    async complete(request: CompletionRequest): Promise<Completion> {
      // The SDK refuses an empty key; servers that need none accept any.
      const sdkModule = await loadSdk();
      const sdk = clientFor(sdkModule, (await options.apiKey()) ?? 'not-needed');
      const controller = new AbortController();
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        controller.abort();
      }, options.timeoutMs);
      try {
        const response = await sdk.chat.completions.create(
          {
            model: request.model,
            messages: request.messages.map((m) => ({ role: m.role, content: m.content })),
            temperature: request.temperature,
            max_tokens: request.maxTokens,
          },
          { signal: controller.signal },
        );
        const text = (response as { choices?: Array<{ message?: { content?: unknown } }> }).choices?.[0]?.message
          ?.content;
        if (typeof text !== 'string' || text.trim() === '')
          throw new LlmCallError('bad_response', null, null, 'the provider answered without a message');
        const usage = (response as { usage?: { prompt_tokens?: unknown; completion_tokens?: unknown } }).usage;
        return {
          text,
          model: typeof response.model === 'string' && response.model !== '' ? response.model : request.model,
          tokensIn:
            typeof usage?.prompt_tokens === 'number' ? usage.prompt_tokens : estimateMessageTokens(request.messages),
          tokensOut: typeof usage?.completion_tokens === 'number' ? usage.completion_tokens : estimateTokens(text),
        };
      } catch (error) {
        throw classify(sdkModule, error, timedOut);
      } finally {
        clearTimeout(timer);
      }
    },
  };
};
