import type { Knex } from 'knex';
import type { LlmSettings } from '#domain/llm/events.js';
import { DEFAULT_LLM_SETTINGS } from '#domain/llm/settings.js';
import type { Projection } from '#projections/runner.js';

const TABLE = 'llm_control';

/**
 * The admin's levers as last set: the force override (`until` as recorded: whoever reads it compares it
 * with the clock, so an expired force needs no event) and the settings. One row per key.
 */
export const llmControlProjection: Projection = {
  name: 'llm_control',
  version: 1,
  tables: [TABLE],
  handles: ['ProviderForced', 'ProviderForceEnded', 'LlmSettingsChanged'],
  async apply(trx, event) {
    const d = event.data as Record<string, unknown>;
    const put = (key: string, value: unknown) =>
      trx.raw(
        `insert into ${TABLE} (key, value, updated_at, updated_by, position) values (?, ?::jsonb, ?, ?, ?)
         on conflict (key) do update set value = excluded.value, updated_at = excluded.updated_at,
           updated_by = excluded.updated_by, position = excluded.position
         where ${TABLE}.position < excluded.position`,
        [key, JSON.stringify(value), event.metadata.occurredAt, event.metadata.actor, event.position],
      );
    switch (event.type) {
      case 'ProviderForced':
        await put('force', { provider: d.provider, until: d.until, minutes: d.minutes });
        return;
      case 'ProviderForceEnded':
        await put('force', null);
        return;
      case 'LlmSettingsChanged':
        await put('settings', d.settings);
        return;
      default:
        return;
    }
  },
};

export type ForceView = { provider: string; until: string; by: string; since: string };

/** The force while it lasts (`now` decides), else null. */
export const forceView = async (knex: Knex, now: Date): Promise<ForceView | null> => {
  const row = (await knex(TABLE).where({ key: 'force' }).first()) as Record<string, unknown> | undefined;
  const value = row?.value as { provider?: string; until?: string } | null | undefined;
  if (!row || !value?.provider || !value.until || Date.parse(value.until) <= now.getTime()) return null;
  return {
    provider: value.provider,
    until: value.until,
    by: row.updated_by as string,
    since: new Date(row.updated_at as string).toISOString(),
  };
};

export type SettingsView = { settings: LlmSettings; updatedAt: string | null; updatedBy: string | null };

export const settingsView = async (knex: Knex): Promise<SettingsView> => {
  const row = (await knex(TABLE).where({ key: 'settings' }).first()) as Record<string, unknown> | undefined;
  if (!row) return { settings: DEFAULT_LLM_SETTINGS, updatedAt: null, updatedBy: null };
  return {
    settings: { ...DEFAULT_LLM_SETTINGS, ...(row.value as Partial<LlmSettings>) },
    updatedAt: new Date(row.updated_at as string).toISOString(),
    updatedBy: row.updated_by as string,
  };
};
