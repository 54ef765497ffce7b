import { Router } from 'express';
import { z } from 'zod';
import type { Authenticator } from '#application/identity/sessions.js';
import {
  changeLlmSettings,
  endForce,
  forceProvider,
  loadLlmSettings,
  type LlmControlDeps,
} from '#application/llm/control.js';
import type { LlmSettings } from '#domain/llm/events.js';
import { MAX_FORCE_MINUTES } from '#domain/llm/force.js';
import { SETTINGS_LIMITS } from '#domain/llm/settings.js';
import type { DailyUsage, ProviderFigures } from '#projections/llm/llmProviders.js';
import type { ForceView, SettingsView } from '#projections/llm/llmControl.js';
import { commandContext } from '../shared/context.js';
import { parseInput } from '../shared/validate.js';
import { authOf, requireAuth } from '../identity/authenticate.js';

/** One configured provider as the console shows it: never its key, and its URL without user info or query. */
export type ChainEntry = { name: string; model: string; baseUrl: string };

export type LlmReadModels = {
  figures(now: Date, known: readonly string[]): Promise<ProviderFigures[]>;
  daily(now: Date): Promise<DailyUsage[]>;
  force(now: Date): Promise<ForceView | null>;
  settings(): Promise<SettingsView>;
  /** names of the stored secrets (to say whether a provider's key is stored) */
  secretNames(): Promise<string[]>;
};

export type LlmRoutesOptions = {
  auth: Authenticator;
  control: LlmControlDeps;
  chain: readonly (ChainEntry & { configuredKey: boolean })[];
  readModels: LlmReadModels;
};

/** The stored secret that holds a provider's API key (set with PUT /api/secrets/<name>, kind llm_api_key). */
export const apiKeySecretName = (provider: string): string => `llm-${provider}-api-key`;

const L = SETTINGS_LIMITS;
export const SettingsPatch = z
  .object({
    systemPrompt: z.string().max(L.systemPromptMaxChars),
    model: z.string().trim().min(1).max(200).nullable(),
    temperature: z.number().min(L.temperature[0]).max(L.temperature[1]),
    maxPromptTokens: z.number().int().min(L.maxPromptTokens[0]).max(L.maxPromptTokens[1]),
    maxReplyTokens: z.number().int().min(L.maxReplyTokens[0]).max(L.maxReplyTokens[1]),
    fallbackText: z.string().trim().min(1).max(L.fallbackTextMaxChars),
    rulesFirst: z.boolean(),
    prices: z.record(
      z.string().min(1).max(200),
      z
        .object({ inputPerMTokUsd: z.number().min(0).max(10_000), outputPerMTokUsd: z.number().min(0).max(10_000) })
        .strict(),
    ),
  })
  .partial()
  .strict();
export const ForceBody = z
  .object({ provider: z.string().min(1).max(100), minutes: z.number().int().min(1).max(MAX_FORCE_MINUTES) })
  .strict();

/**
 * /api/llm: the provider chain with its figures (admins and operators read), forcing a provider for a
 * while and ending it (admins), the settings (admins). Every change is an event, hence audited.
 */
export const llmRoutes = ({ auth, control, chain, readModels }: LlmRoutesOptions): Router => {
  const router = Router();
  const admin = requireAuth(auth, 'admin');
  const reader = requireAuth(auth, 'admin', 'operator');
  const names = chain.map((p) => p.name);

  router.get('/api/llm/providers', reader, async (_req, res) => {
    const now = control.runtime.clock();
    const [figures, daily, forced, secrets] = await Promise.all([
      readModels.figures(now, names),
      readModels.daily(now),
      readModels.force(now),
      readModels.secretNames(),
    ]);
    const forcedName = forced !== null && names.includes(forced.provider) ? forced.provider : null;
    const order = forcedName === null ? names : [forcedName, ...names.filter((n) => n !== forcedName)];
    const providers = chain.map((entry, index) => {
      const f = figures.find((x) => x.provider === entry.name);
      return {
        name: entry.name,
        model: entry.model,
        baseUrl: entry.baseUrl,
        primary: index === 0,
        forced: entry.name === forcedName,
        apiKey: secrets.includes(apiKeySecretName(entry.name)) ? 'secret' : entry.configuredKey ? 'config' : 'none',
        apiKeySecret: apiKeySecretName(entry.name),
        circuit: f?.circuit ?? 'closed',
        circuitChangedAt: f?.circuitChangedAt ?? null,
        calls: f?.calls ?? 0,
        errors: f?.errors ?? 0,
        errorRate: f?.errorRate ?? 0,
        latencyMs: f?.latencyMs ?? { p50: null, p95: null },
        today: f?.today ?? { calls: 0, tokensIn: 0, tokensOut: 0, costUsd: 0 },
      };
    });
    res.json({
      providers,
      order,
      forced: forcedName === null ? null : forced,
      windowMinutes: 15,
      daily,
      now: now.toISOString(),
    });
  });

  router.post('/api/llm/providers/force', admin, async (req, res) => {
    const body = parseInput(ForceBody, req.body);
    const forced = await forceProvider(control, body, commandContext(req, authOf(req).accountId));
    res.json(forced);
  });

  router.delete('/api/llm/providers/force', admin, async (req, res) => {
    await endForce(control, commandContext(req, authOf(req).accountId));
    res.status(204).end();
  });

  router.get('/api/llm/settings', admin, async (_req, res) => {
    res.json({ ...(await readModels.settings()), limits: SETTINGS_LIMITS });
  });

  router.put('/api/llm/settings', admin, async (req, res) => {
    const patch = parseInput(SettingsPatch, req.body);
    // A patch onto the current value (from the stream: the read model may lag a moment behind).
    const current = await loadLlmSettings(control.store);
    const next: LlmSettings = { ...current, ...patch };
    const result = await changeLlmSettings(control, next, commandContext(req, authOf(req).accountId));
    res.json(result);
  });

  return router;
};
