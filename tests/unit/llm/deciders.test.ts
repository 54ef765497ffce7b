import { expect } from 'chai';
import { InvalidForceDuration, InvalidLlmSettings, UnknownProvider } from '#domain/llm/errors.js';
import type { LlmForceEvent } from '#domain/llm/events.js';
import { activeForce, forceDecider } from '#domain/llm/force.js';
import { DEFAULT_LLM_SETTINGS, llmSettingsDecider } from '#domain/llm/settings.js';
import { deciderSpec } from '../support/decider.js';

const force = deciderSpec(forceDecider);
const settings = deciderSpec(llmSettingsDecider);
const chain = ['primary', 'local'];
const now = '2026-03-01T10:00:00.000Z';
const forced: LlmForceEvent = {
  type: 'ProviderForced',
  data: { provider: 'local', minutes: 10, until: '2026-03-01T10:10:00.000Z', previousProvider: null, by: 'admin-1' },
};

describe('the force override', () => {
  it('forcing a provider of the chain records until when it lasts', () => {
    force
      .given()
      .when({ type: 'ForceProvider', data: { provider: 'local', minutes: 10, now, chain, by: 'admin-1' } })
      .then([forced]);
  });

  it('a provider outside the chain, or a duration out of 1..1440 minutes, is refused', () => {
    force
      .given()
      .when({ type: 'ForceProvider', data: { provider: 'other', minutes: 10, now, chain, by: 'a' } })
      .thenThrows(UnknownProvider, { known: chain });
    for (const minutes of [0, 1441, 1.5])
      force
        .given()
        .when({ type: 'ForceProvider', data: { provider: 'local', minutes, now, chain, by: 'a' } })
        .thenThrows(InvalidForceDuration);
  });

  it('expires by the clock alone: active before until, gone at until', () => {
    const state = forceDecider.evolve(forceDecider.initialState(), forced);
    expect(activeForce(state, new Date('2026-03-01T10:09:59.999Z'))).to.deep.equal({
      provider: 'local',
      until: '2026-03-01T10:10:00.000Z',
    });
    expect(activeForce(state, new Date('2026-03-01T10:10:00.000Z'))).to.equal(null);
  });

  it('ending it early is an event; ending an expired or absent force appends nothing', () => {
    force
      .given([forced])
      .when({ type: 'EndForce', data: { now, by: 'admin-2' } })
      .then([{ type: 'ProviderForceEnded', data: { provider: 'local', reason: 'ended_by_admin', by: 'admin-2' } }]);
    force
      .given([forced])
      .when({ type: 'EndForce', data: { now: '2026-03-01T11:00:00.000Z', by: 'a' } })
      .thenNothing();
    force
      .given()
      .when({ type: 'EndForce', data: { now, by: 'a' } })
      .thenNothing();
  });
});

describe('the LLM settings', () => {
  it('a change records the new settings and which keys changed; the same settings again record nothing', () => {
    const next = { ...DEFAULT_LLM_SETTINGS, temperature: 0.9, systemPrompt: 'Sé breve.' };
    settings
      .given()
      .when({ type: 'ChangeLlmSettings', data: { settings: next, by: 'admin-1' } })
      .then([
        {
          type: 'LlmSettingsChanged',
          data: { settings: next, changed: ['systemPrompt', 'temperature'], by: 'admin-1' },
        },
      ]);
    settings
      .given()
      .when({ type: 'ChangeLlmSettings', data: { settings: DEFAULT_LLM_SETTINGS, by: 'a' } })
      .thenNothing();
  });

  it('out-of-range values are refused, each named', () => {
    const error = settings
      .given()
      .when({
        type: 'ChangeLlmSettings',
        data: {
          settings: { ...DEFAULT_LLM_SETTINGS, temperature: 3, maxPromptTokens: 10, fallbackText: ' ' },
          by: 'a',
        },
      })
      .thenThrows(InvalidLlmSettings);
    expect(error.message).to.include('temperature').and.include('maxPromptTokens').and.include('fallbackText');
  });
});
