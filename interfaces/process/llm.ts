import type { Knex } from 'knex';
import { createProviderChain, type ProviderChain } from '#application/llm/chain.js';
import type { LlmControlDeps } from '#application/llm/control.js';
import { createLlmAutoReplier } from '#application/llm/llmResponder.js';
import type { LlmLog } from '#application/llm/ports.js';
import type { AutoReplier } from '#application/messaging/autoReply.js';
import { replyMessageIdFor } from '#application/messaging/ids.js';
import { messageStreamId } from '#domain/messaging/events.js';
import type { SecretCipher } from '#application/secrets/ports.js';
import { readSecret } from '#application/secrets/secrets.js';
import type { EventStore } from '#application/shared/eventStore.js';
import type { Runtime } from '#application/shared/runtime.js';
import type { LlmProviderConfig } from '#infrastructure/config/llm.js';
import { cockatielCircuits } from '#infrastructure/llm/circuit.js';
import { createOpenAiProvider } from '#infrastructure/llm/openaiProvider.js';
import { apiKeySecretName, llmRoutes, type LlmRoutesOptions } from '#interfaces/http/llm/llmRoutes.js';
import { forceView, settingsView } from '#projections/llm/llmControl.js';
import { dailyUsage, providerFigures } from '#projections/llm/llmProviders.js';
import { listSecretMetadata } from '#projections/secrets/secrets.js';
import type { Router } from 'express';

export type Llm = {
  /** the chain, primary first; empty when no provider is configured */
  chain: ProviderChain;
  /** null without providers: the rules responder is then the bot */
  replier: AutoReplier | null;
  control: LlmControlDeps;
  routes(auth: LlmRoutesOptions['auth']): Router;
};

/** scheme://host:port/path only: user info and query strings can carry credentials. */
const shownUrl = (url: string): string => {
  const parsed = new URL(url);
  return `${parsed.protocol}//${parsed.host}${parsed.pathname === '/' ? '' : parsed.pathname}`;
};

/**
 * The LLM context of one process: providers from the configuration (the key of each is the stored
 * secret `llm-<name>-api-key` when there is one, else the configured key), the chain with a
 * cockatiel breaker per provider, the auto-replier the messaging responder calls, and the routes.
 */
export const createLlm = (deps: {
  providers: readonly LlmProviderConfig[];
  store: EventStore;
  knex: Knex;
  cipher: SecretCipher | null;
  runtime: Runtime;
  log: LlmLog;
}): Llm => {
  const apiKeyOf = (config: LlmProviderConfig) => async (): Promise<string | null> => {
    if (deps.cipher !== null) {
      try {
        const stored = await readSecret({ store: deps.store, cipher: deps.cipher }, apiKeySecretName(config.name));
        if (stored !== null) return stored;
      } catch (error) {
        // an undecryptable secret: say which, use the configured key meanwhile
        deps.log.warn('llm provider api key secret unreadable', {
          provider: config.name,
          code: (error as { code?: string }).code,
        });
      }
    }
    return config.apiKey;
  };
  const byName = new Map(deps.providers.map((p) => [p.name, p]));
  const chain = createProviderChain({
    store: deps.store,
    runtime: deps.runtime,
    log: deps.log,
    providers: deps.providers.map((config) =>
      createOpenAiProvider({
        name: config.name,
        baseUrl: config.baseUrl,
        model: config.model,
        timeoutMs: config.timeoutMs,
        maxRetries: config.maxRetries,
        apiKey: apiKeyOf(config),
      }),
    ),
    circuits: cockatielCircuits((name) => ({
      threshold: byName.get(name)?.circuitThreshold ?? 5,
      halfOpenAfterMs: byName.get(name)?.halfOpenAfterMs ?? 30_000,
    })),
  });
  const control: LlmControlDeps = {
    store: deps.store,
    runtime: deps.runtime,
    log: deps.log,
    chain: deps.providers.map((p) => p.name),
  };
  return {
    chain,
    replier:
      deps.providers.length === 0
        ? null
        : createLlmAutoReplier({
            store: deps.store,
            chain,
            log: deps.log,
            // once per inbound message is the messaging context's reply stream: until it exists, a turn
            // another process holds is waited for, and one left by a dead process is run again
            replyQueued: async (inboundEventId) =>
              (await deps.store.readStream(messageStreamId(replyMessageIdFor(inboundEventId)), { maxCount: 1 }))
                .length > 0,
          }),
    control,
    routes: (auth) =>
      llmRoutes({
        auth,
        control,
        chain: deps.providers.map((p) => ({
          name: p.name,
          model: p.model,
          baseUrl: shownUrl(p.baseUrl),
          configuredKey: p.apiKey !== null,
        })),
        readModels: {
          figures: (now, known) => providerFigures(deps.knex, now, known),
          daily: (now) => dailyUsage(deps.knex, now),
          force: (now) => forceView(deps.knex, now),
          settings: () => settingsView(deps.knex),
          secretNames: async () => (await listSecretMetadata(deps.knex)).map((s) => s.name),
        },
      }),
  };
};
