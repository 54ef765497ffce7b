import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { rulesThenLlm } from '#application/llm/composite.js';
import { changeLlmSettings, forceProvider } from '#application/llm/control.js';
import type { AutoReplier } from '#application/messaging/autoReply.js';
import type { CommandContext } from '#application/shared/commandHandler.js';
import { DEFAULT_LLM_SETTINGS } from '#domain/llm/settings.js';
import { rebuildProjection, startProjections } from '#projections/runner.js';
import { forceView, llmControlProjection, settingsView } from '#projections/llm/llmControl.js';
import { dailyUsage, llmProvidersProjection, providerFigures } from '#projections/llm/llmProviders.js';
import { waitFor } from '../../support/events.js';
import { buildLlm, manualClockRuntime, replyRequest } from '../../support/llm.js';
import { startOpenAiServer, type FakeOpenAi } from '../../support/openaiServer.js';
import { manualRuntime } from '../../support/runtime.js';
import { captureLogger, openSecretsTestDb, type SecretsTestDb } from '../../support/secrets.js';

const admin: CommandContext = { correlationId: randomUUID(), actor: 'admin-1' };

describe('LLM read models (PostgreSQL): figures per provider, per day, force and settings; rebuilt identically', function () {
  this.timeout(60_000);
  let testDb: SecretsTestDb;
  let servers: FakeOpenAi[];
  const clock = manualRuntime('2026-03-02T10:00:00.000Z');
  const runtime = manualClockRuntime(clock);

  before(async () => {
    testDb = await openSecretsTestDb();
    servers = [await startOpenAiServer(), await startOpenAiServer()];
  });
  after(async () => {
    await Promise.all(servers.map((s) => s.close()));
    await testDb.close();
  });

  it('folds calls into 15-minute figures and daily tokens and cost, and a rebuild gives the same answers', async () => {
    const { store, db } = testDb;
    const [good, bad] = servers as [FakeOpenAi, FakeOpenAi];
    const log = captureLogger().logger;
    await changeLlmSettings(
      { store, runtime, log, chain: ['bad', 'good'] },
      { ...DEFAULT_LLM_SETTINGS, prices: { 'good-model': { inputPerMTokUsd: 1000, outputPerMTokUsd: 2000 } } },
      admin,
    );
    bad.setDefault({ kind: 'status', status: 500 });
    const { replier } = buildLlm({
      store,
      runtime,
      log,
      providers: [
        { name: 'bad', server: bad },
        { name: 'good', server: good },
      ],
    });
    // yesterday one turn, today three
    clock.set('2026-03-01T23:00:00.000Z');
    await replier.reply(replyRequest());
    clock.set('2026-03-02T10:00:00.000Z');
    for (let i = 0; i < 3; i++) await replier.reply(replyRequest());
    await forceProvider({ store, runtime, log, chain: ['bad', 'good'] }, { provider: 'good', minutes: 10 }, admin);

    const runner = startProjections({
      db,
      store,
      projections: [llmProvidersProjection, llmControlProjection],
      logger: { info: () => undefined, warn: () => undefined, error: () => undefined },
    });
    const now = clock.clock();
    try {
      await waitFor(async () => (await forceView(db.knex, now)) !== null, 10_000, 'the projections');
      await waitFor(async () => (await providerFigures(db.knex, now)).length === 2, 10_000, 'the figures');
    } finally {
      await runner.stop();
    }
    const answers = async () => ({
      figures: await providerFigures(db.knex, now, ['bad', 'good']),
      daily: await dailyUsage(db.knex, now),
      force: await forceView(db.knex, now),
      settings: (await settingsView(db.knex)).settings.prices,
    });
    const first = await answers();
    const [badFigures, goodFigures] = first.figures;
    expect(badFigures).to.deep.include({ provider: 'bad', calls: 3, errors: 3, errorRate: 1 });
    expect(badFigures!.latencyMs).to.deep.equal({ p50: null, p95: null });
    expect(goodFigures).to.deep.include({ provider: 'good', calls: 3, errors: 0, errorRate: 0, circuit: 'closed' });
    expect(goodFigures!.today).to.deep.equal({ calls: 3, tokensIn: 126, tokensOut: 21, costUsd: 0.168 });
    expect(first.daily.map((d) => [d.day, d.provider, d.calls, d.tokensIn])).to.deep.equal([
      ['2026-03-01', 'bad', 1, 0],
      ['2026-03-01', 'good', 1, 42],
      ['2026-03-02', 'bad', 3, 0],
      ['2026-03-02', 'good', 3, 126],
    ]);
    expect(first.force).to.include({ provider: 'good', until: '2026-03-02T10:10:00.000Z' });
    // the force ends by the clock alone
    expect(await forceView(db.knex, new Date('2026-03-02T10:10:00.000Z'))).to.equal(null);

    for (const projection of [llmProvidersProjection, llmControlProjection])
      await rebuildProjection({ db, store, projection });
    expect(await answers()).to.deep.equal(first);
  });

  it('rules first: an exact rule answers, anything else goes to the LLM; without providers only the rules answer', async () => {
    const rules: AutoReplier = {
      reply: (request) => Promise.resolve(request.text === 'horario' ? { text: '9-14', source: 'rules' } : null),
    };
    const llm: AutoReplier = { reply: () => Promise.resolve({ text: 'del modelo', source: 'llm:good' }) };
    const bot = rulesThenLlm({ rules, llm, store: testDb.store });
    expect(await bot.reply(replyRequest('horario'))).to.deep.equal({ text: '9-14', source: 'rules' });
    expect(await bot.reply(replyRequest('¿y mañana?'))).to.deep.equal({ text: 'del modelo', source: 'llm:good' });
    expect(rulesThenLlm({ rules, llm: null, store: testDb.store })).to.equal(rules);
  });
});
