import { expect } from 'chai';
import type { Page } from 'playwright-core';
import { replyRequest } from '../support/llm.js';
import { startOpenAiServer, type FakeOpenAi } from '../support/openaiServer.js';
import {
  skipWithoutChromium,
  openConsole,
  loginInBrowser,
  expectAxeClean,
  expectAxeCleanOnPhone,
  waitForText,
  attributesOf,
  type ConsoleInBrowser,
  type ConsoleApp,
  type Problems,
} from './support.js';

describe('console LLM page in a real browser (Chromium, real app, fake providers)', function () {
  this.timeout(120_000);
  let app: ConsoleApp;
  let primary: FakeOpenAi;
  let local: FakeOpenAi;
  let ui: ConsoleInBrowser;
  let page: Page;
  let problems: Problems;

  before(async function () {
    skipWithoutChromium(this);
    [primary, local] = [await startOpenAiServer(), await startOpenAiServer()];
    ui = await openConsole({
      LLM_PROVIDERS: JSON.stringify([
        { name: 'primary', baseUrl: primary.baseUrl, model: 'gpt-4o-mini' },
        { name: 'local', baseUrl: local.baseUrl, model: 'llama3.1' },
      ]),
    });
    ({ app, page, problems } = ui);
    // one answered turn, so the figures have something to show
    await app.test.app.llm.replier!.reply(replyRequest());
  });

  after(async () => {
    await ui?.close();
    await Promise.all([primary?.close(), local?.close()]);
  });

  const chainOrder = () => attributesOf(page, '#llm-chain tr', 'data-provider');

  it('shows the chain with its circuit states and figures, in Spanish and English, with no axe violation', async () => {
    await loginInBrowser(page, app.baseUrl);
    await page.click('#nav a[data-route="llm"]');
    await page.locator('#llm-chain tr[data-provider="primary"]').waitFor();
    expect(await chainOrder()).to.deep.equal(['primary', 'local']);
    const row = page.locator('#llm-chain tr[data-provider="primary"]');
    expect(await row.getAttribute('data-circuit')).to.equal('closed');
    expect(await row.locator('.badge').last().textContent()).to.equal('cerrado');
    await waitForText(page, '#llm-daily', (text) => text.includes('primary'));
    // the live charts name the providers the live feed has seen
    await waitForText(page, '#legend-llm-latency', (text) => text.includes('primary'), 15_000);
    await expectAxeClean(page);
    await page.click('[data-lang="en"]');
    expect(await row.locator('.badge').last().textContent()).to.equal('closed');
    expect(await page.locator('#view-llm h1').textContent()).to.equal('LLM: providers');
    await expectAxeClean(page);
    // and on a phone
    await expectAxeCleanOnPhone(page);
    await page.click('[data-lang="es"]');
  });

  it('forcing a provider puts it first in the chain and shows in the audit log; ending it restores the order', async () => {
    await page.selectOption('#llm-force-provider', 'local');
    await page.fill('#llm-force-minutes', '15');
    await page.click('#llm-force-form button[type="submit"]');
    await page.locator('#llm-chain tr[data-provider="local"][data-forced="true"]').waitFor();
    expect(await chainOrder()).to.deep.equal(['local', 'primary']);
    expect(await waitForText(page, '#llm-forced', (text) => text !== '')).to.match(/^Proveedor forzado: local hasta/);
    expect(await waitForText(page, '#llm-message', (text) => text !== '')).to.match(/^local va primero hasta las/);
    await expectAxeClean(page);

    await page.goto(`${app.baseUrl}/#/audit?action=llm.provider_forced`);
    await page.locator('#audit-list tr[data-action="llm.provider_forced"]').first().waitFor({ timeout: 10_000 });
    expect(await page.locator('#audit-list tr[data-action="llm.provider_forced"]').first().textContent()).to.include(
      'local',
    );

    await page.click('#nav a[data-route="llm"]');
    await page.locator('#llm-chain tr[data-provider="local"][data-forced="true"]').waitFor();
    await page.click('#llm-unforce');
    await page.locator('#llm-chain tr[data-provider="local"][data-forced="false"]').waitFor();
    expect(await chainOrder()).to.deep.equal(['primary', 'local']);
    expect(await page.isVisible('#llm-forced')).to.equal(false);
  });

  it('saves the settings and refuses an out-of-range value in the browser, before sending', async () => {
    await page.fill('#llm-settings-form [name="temperature"]', '7');
    await page.click('#llm-settings-form button[type="submit"]');
    expect(await waitForText(page, '#llm-message', (text) => text.startsWith('Revisa'))).to.equal(
      'Revisa los campos marcados.',
    );
    expect(await page.getAttribute('#llm-settings-form [name="temperature"]', 'aria-invalid')).to.equal('true');
    await page.fill('#llm-settings-form [name="temperature"]', '0.7');
    await page.fill('#llm-settings-form [name="prices"]', '{"gpt-4o-mini": {"inputPerMTokUsd": -1}}');
    await page.click('#llm-settings-form button[type="submit"]');
    expect(await page.getAttribute('#llm-settings-form [name="prices"]', 'aria-invalid')).to.equal('true');
    await page.fill(
      '#llm-settings-form [name="prices"]',
      '{"gpt-4o-mini": {"inputPerMTokUsd": 0.15, "outputPerMTokUsd": 0.6}}',
    );
    await page.fill('#llm-settings-form [name="systemPrompt"]', 'Eres el asistente de la panadería.');
    await page.click('#llm-settings-form button[type="submit"]');
    expect(await waitForText(page, '#llm-message', (text) => text.startsWith('Ajustes'))).to.equal(
      'Ajustes guardados: systemPrompt, temperature, prices.',
    );
    expect(problems).to.deep.equal({ console: [], page: [], csp: [] });
  });
});
