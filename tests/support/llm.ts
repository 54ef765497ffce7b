import { randomUUID } from 'node:crypto';
import type { AutoReplyRequest, ChatTurn } from '#application/messaging/autoReply.js';
import { createProviderChain, type ProviderChain } from '#application/llm/chain.js';
import { createLlmAutoReplier } from '#application/llm/llmResponder.js';
import type { LlmLog } from '#application/llm/ports.js';
import type { EventStore } from '#application/shared/eventStore.js';
import type { Runtime } from '#application/shared/runtime.js';
import type { AutoReplier } from '#application/messaging/autoReply.js';
import { cockatielCircuits } from '#infrastructure/llm/circuit.js';
import { createOpenAiProvider } from '#infrastructure/llm/openaiProvider.js';
import type { FakeOpenAi } from './openaiServer.js';

export type TestProvider = {
  name: string;
  server: FakeOpenAi;
  model?: string;
  timeoutMs?: number;
  maxRetries?: number;
  threshold?: number;
  halfOpenAfterMs?: number;
};

/** The real chain (openai SDK, cockatiel) against fake servers; retries wait for nothing, and say how long they would have. */
export const buildLlm = (options: {
  store: EventStore;
  runtime: Runtime;
  log: LlmLog;
  providers: TestProvider[];
}): { chain: ProviderChain; replier: AutoReplier; sleeps: number[] } => {
  const sleeps: number[] = [];
  const byName = new Map(options.providers.map((p) => [p.name, p]));
  const chain = createProviderChain({
    store: options.store,
    runtime: options.runtime,
    log: options.log,
    providers: options.providers.map((p) =>
      createOpenAiProvider({
        name: p.name,
        baseUrl: p.server.baseUrl,
        model: p.model ?? `${p.name}-model`,
        timeoutMs: p.timeoutMs ?? 2_000,
        maxRetries: p.maxRetries ?? 0,
        apiKey: () => Promise.resolve(`sk-test-${p.name}`),
      }),
    ),
    circuits: cockatielCircuits((name) => ({
      threshold: byName.get(name)?.threshold ?? 5,
      halfOpenAfterMs: byName.get(name)?.halfOpenAfterMs ?? 60_000,
    })),
    sleep: (ms) => {
      sleeps.push(ms);
      return Promise.resolve();
    },
    random: () => 0.5,
  });
  return { chain, replier: createLlmAutoReplier({ store: options.store, chain, log: options.log }), sleeps };
};

export const replyRequest = (text = '¿Abrís el domingo?', history: ChatTurn[] = []): AutoReplyRequest => ({
  numberId: 'number-1',
  chatId: 'chat-1',
  contact: '34600000000',
  inboundMessageId: randomUUID(),
  inboundEventId: randomUUID(),
  correlationId: randomUUID(),
  text,
  history,
});

/** A manual clock with real UUIDs (tests in one schema must not reuse event ids). */
export const manualClockRuntime = (runtime: { clock: () => Date }): Runtime => ({
  clock: runtime.clock,
  newId: randomUUID,
});
