import type { Decider } from '#domain/shared/event.js';
import { InvalidForceDuration, UnknownLlmCommand, UnknownProvider } from './errors.js';
import type { LlmForceEvent } from './events.js';

/**
 * The force override (stream `llm-force`): an admin puts one provider first in the chain for a while.
 * It ends by itself: whoever reads it compares `until` with its clock (`activeForce`), so expiry needs
 * no timer and holds across restarts; ProviderForceEnded is only for ending it early.
 */
export type ForceState = Readonly<{ provider: string | null; until: string | null }>;

export type ForceProvider = Readonly<{
  type: 'ForceProvider';
  data: { provider: string; minutes: number; now: string; chain: readonly string[]; by: string };
}>;
export type EndForce = Readonly<{ type: 'EndForce'; data: { now: string; by: string } }>;
export type ForceCommand = ForceProvider | EndForce;

export const MAX_FORCE_MINUTES = 24 * 60;

export const initialState = (): ForceState => ({ provider: null, until: null });

/** The forced provider while its time lasts, else null. */
export const activeForce = (state: ForceState, now: Date): { provider: string; until: string } | null =>
  state.provider !== null && state.until !== null && Date.parse(state.until) > now.getTime()
    ? { provider: state.provider, until: state.until }
    : null;

export const decide = (command: ForceCommand, state: ForceState): LlmForceEvent[] => {
  switch (command.type) {
    case 'ForceProvider': {
      const { provider, minutes, now, chain, by } = command.data;
      if (!chain.includes(provider)) throw new UnknownProvider(provider, chain);
      if (!Number.isInteger(minutes) || minutes < 1 || minutes > MAX_FORCE_MINUTES) throw new InvalidForceDuration();
      const until = new Date(Date.parse(now) + minutes * 60_000).toISOString();
      const previous = activeForce(state, new Date(now));
      return [
        {
          type: 'ProviderForced',
          data: { provider, minutes, until, previousProvider: previous?.provider ?? null, by },
        },
      ];
    }
    case 'EndForce': {
      const active = activeForce(state, new Date(command.data.now));
      // Nothing forced (or already expired): nothing to end, nothing appended.
      if (active === null) return [];
      return [
        {
          type: 'ProviderForceEnded',
          data: { provider: active.provider, reason: 'ended_by_admin', by: command.data.by },
        },
      ];
    }
    default: {
      const _exhaustive: never = command;
      throw new UnknownLlmCommand((_exhaustive as { type?: unknown }).type);
    }
  }
};

export const evolve = (state: ForceState, event: LlmForceEvent): ForceState => {
  switch (event.type) {
    case 'ProviderForced':
      return { provider: event.data.provider, until: event.data.until };
    case 'ProviderForceEnded':
      return { provider: null, until: null };
    default: {
      const _exhaustive: never = event;
      return state;
    }
  }
};

export const forceDecider: Decider<ForceState, ForceCommand, LlmForceEvent> = { decide, evolve, initialState };
