import { handleCommand, loadAggregate, type CommandContext } from '#application/shared/commandHandler.js';
import type { EventStore } from '#application/shared/eventStore.js';
import type { Runtime } from '#application/shared/runtime.js';
import { LLM_FORCE_STREAM, LLM_SETTINGS_STREAM, type LlmSettings } from '#domain/llm/events.js';
import { activeForce, forceDecider } from '#domain/llm/force.js';
import { llmSettingsDecider } from '#domain/llm/settings.js';
import type { LlmLog } from './ports.js';

/** The admin's levers on the chain: settings and the force override, every change an event. */
export type LlmControlDeps = {
  store: EventStore;
  runtime: Runtime;
  log: LlmLog;
  /** the configured chain's provider names, primary first */
  chain: readonly string[];
};

/** The current settings, from the `llm-settings` stream (the defaults until someone changes them). */
export const loadLlmSettings = async (store: EventStore): Promise<LlmSettings> =>
  (await loadAggregate(store, LLM_SETTINGS_STREAM, llmSettingsDecider)).state.settings;

export const changeLlmSettings = async (
  deps: LlmControlDeps,
  settings: LlmSettings,
  context: CommandContext,
): Promise<{ settings: LlmSettings; changed: string[] }> => {
  const result = await handleCommand(
    deps.store,
    LLM_SETTINGS_STREAM,
    llmSettingsDecider,
    () => ({ type: 'ChangeLlmSettings' as const, data: { settings, by: context.actor } }),
    context,
    { runtime: deps.runtime },
  );
  const changed = result.events[0]?.data.changed ?? [];
  // The names of what changed, never the prompt itself.
  if (changed.length > 0) deps.log.info('llm settings changed', { changed, by: context.actor });
  return { settings: result.state.settings, changed: [...changed] };
};

export const currentForce = async (
  deps: Pick<LlmControlDeps, 'store' | 'runtime'>,
): Promise<{ provider: string; until: string } | null> =>
  activeForce((await loadAggregate(deps.store, LLM_FORCE_STREAM, forceDecider)).state, deps.runtime.clock());

export const forceProvider = async (
  deps: LlmControlDeps,
  input: { provider: string; minutes: number },
  context: CommandContext,
): Promise<{ provider: string; until: string }> => {
  const result = await handleCommand(
    deps.store,
    LLM_FORCE_STREAM,
    forceDecider,
    () => ({
      type: 'ForceProvider' as const,
      data: {
        provider: input.provider,
        minutes: input.minutes,
        now: deps.runtime.clock().toISOString(),
        chain: deps.chain,
        by: context.actor,
      },
    }),
    context,
    { runtime: deps.runtime },
  );
  const until = result.state.until!;
  deps.log.warn('llm provider forced', { provider: input.provider, minutes: input.minutes, until, by: context.actor });
  return { provider: input.provider, until };
};

/** Ends the force early; nothing forced is not an error (nothing is appended). */
export const endForce = async (deps: LlmControlDeps, context: CommandContext): Promise<{ ended: string | null }> => {
  const result = await handleCommand(
    deps.store,
    LLM_FORCE_STREAM,
    forceDecider,
    () => ({ type: 'EndForce' as const, data: { now: deps.runtime.clock().toISOString(), by: context.actor } }),
    context,
    { runtime: deps.runtime },
  );
  const ended = result.events[0]?.type === 'ProviderForceEnded' ? result.events[0].data.provider : null;
  if (ended !== null) deps.log.warn('llm provider force ended', { provider: ended, by: context.actor });
  return { ended };
};
