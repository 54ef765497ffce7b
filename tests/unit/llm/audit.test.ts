import { expect } from 'chai';
import type { RecordedEvent } from '#application/shared/eventStore.js';
import { DEFAULT_LLM_SETTINGS } from '#domain/llm/settings.js';
import { AUDIT_EVENT_TYPES, auditFactsOf } from '#projections/audit/auditEntries.js';

const recorded = (type: string, data: Record<string, unknown>, streamId: string): RecordedEvent => ({
  id: '00000000-0000-4000-8000-000000000001',
  type,
  data,
  streamId,
  revision: 0,
  position: 1,
  recordedAt: '2026-03-01T10:00:00.000Z',
  metadata: {
    correlationId: 'c-1',
    causationId: null,
    actor: 'admin-1',
    ip: '203.0.113.9',
    userAgent: 'mocha',
    occurredAt: '2026-03-01T10:00:00.000Z',
    schemaVersion: 1,
  },
});

describe('audit entries of the LLM admin actions', () => {
  it('forcing a provider, ending the force and changing the settings are audited', () => {
    expect(AUDIT_EVENT_TYPES).to.include.members(['ProviderForced', 'ProviderForceEnded', 'LlmSettingsChanged']);
    const forced = auditFactsOf(
      recorded(
        'ProviderForced',
        { provider: 'local', minutes: 30, until: '2026-03-01T10:30:00.000Z', previousProvider: null, by: 'admin-1' },
        'llm-force',
      ),
    );
    expect(forced).to.include({ action: 'llm.provider_forced', target: 'local', actor: 'admin-1', ip: '203.0.113.9' });
    expect(forced?.details).to.include({ until: '2026-03-01T10:30:00.000Z' });
    const ended = auditFactsOf(
      recorded('ProviderForceEnded', { provider: 'local', reason: 'ended_by_admin', by: 'admin-1' }, 'llm-force'),
    );
    expect(ended).to.include({ action: 'llm.provider_force_ended', target: 'local' });
  });

  it('a settings change names what changed and the numbers, never the prompt text', () => {
    const prompt = 'Eres el asistente secreto de la panadería 7f3a';
    const facts = auditFactsOf(
      recorded(
        'LlmSettingsChanged',
        {
          settings: { ...DEFAULT_LLM_SETTINGS, systemPrompt: prompt, temperature: 0.9 },
          changed: ['systemPrompt', 'temperature'],
          by: 'admin-1',
        },
        'llm-settings',
      ),
    );
    expect(facts).to.include({ action: 'llm.settings_changed', target: 'llm-settings' });
    expect(facts?.details).to.include({ changed: 'systemPrompt,temperature', temperature: 0.9, promptBudget: 3000 });
    expect(JSON.stringify(facts)).not.to.include('7f3a');
  });
});
