import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { expect } from 'chai';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { ADMIN_PASSWORD } from '../support/app.js';
import { replyRequest } from '../support/llm.js';
import { startOpenAiServer, type FakeOpenAi } from '../support/openaiServer.js';
import {
  chromiumInstalled,
  launchChromium,
  SKIP_LINE,
  startConsoleApp,
  waitForText,
  watchProblems,
  type ConsoleApp,
  type PageGlobals,
  type Problems,
} from './support.js';

type AxeResult = {
  violations: Array<{ id: string; impact: string; nodes: Array<{ target: string[] }> }>;
  passes: unknown[];
};

describe('console LLM page in a real browser (Chromium, real app, fake providers)', function () {
  this.timeout(120_000);
  let app: ConsoleApp;
  let primary: FakeOpenAi;
  let local: FakeOpenAi;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let problems: Problems;
  let axeSource: string;

  before(async function () {
    if (!chromiumInstalled()) {
      console.log(SKIP_LINE);
      this.skip();
    }
    axeSource = await readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
    [primary, local] = [await startOpenAiServer(), await startOpenAiServer()];
    app = await startConsoleApp({
      LLM_PROVIDERS: JSON.stringify([
        { name: 'primary', baseUrl: primary.baseUrl, model: 'gpt-4o-mini' },
        { name: 'local', baseUrl: local.baseUrl, model: 'llama3.1' },
      ]),
    });
    // one answered turn, so the figures have something to show
    await app.test.app.llm.replier!.reply(replyRequest());
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1280, height: 1000 }, locale: 'es-ES' });
    page = await context.newPage();
    problems = await watchProblems(page);
  });

  after(async () => {
    await context?.close();
    await browser?.close();
    await app?.close();
    await Promise.all([primary?.close(), local?.close()]);
  });

  /** axe-core in the page (evaluated through the debugger protocol, so the strict CSP does not refuse it) */
  const axe = async (): Promise<AxeResult['violations']> => {
    await page.evaluate(axeSource);
    const result = await page.evaluate(async () => {
      const w = globalThis as unknown as {
        axe: { run(context: unknown, options: unknown): Promise<AxeResult> };
        document: unknown;
      };
      return w.axe.run(w.document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } });
    });
    // axe really ran over the page: dozens of rules pass
    expect(result.passes.length).to.be.above(10);
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      nodes: v.nodes.map((n) => ({ target: n.target })),
    }));
  };
  const chainOrder = () =>
    page.evaluate(() =>
      [...(globalThis as unknown as PageGlobals).document.querySelectorAll('#llm-chain tr')].map((tr) =>
        tr.getAttribute('data-provider'),
      ),
    );

  it('shows the chain with its circuit states and figures, in Spanish and English, with no axe violation', async () => {
    await page.goto(`${app.baseUrl}/`);
    await page.fill('#login-username', 'admin');
    await page.fill('#login-password', ADMIN_PASSWORD);
    await page.click('#login-submit');
    await page.click('#nav a[data-route="llm"]');
    await page.locator('#llm-chain tr[data-provider="primary"]').waitFor();
    expect(await chainOrder()).to.deep.equal(['primary', 'local']);
    const row = page.locator('#llm-chain tr[data-provider="primary"]');
    expect(await row.getAttribute('data-circuit')).to.equal('closed');
    expect(await row.locator('.badge').last().textContent()).to.equal('cerrado');
    await waitForText(page, '#llm-daily', (text) => text.includes('primary'));
    // the live charts name the providers the live feed has seen
    await waitForText(page, '#legend-llm-latency', (text) => text.includes('primary'), 15_000);
    expect(await axe()).to.deep.equal([]);
    await page.click('[data-lang="en"]');
    expect(await row.locator('.badge').last().textContent()).to.equal('closed');
    expect(await page.locator('#view-llm h1').textContent()).to.equal('LLM: providers');
    expect(await axe()).to.deep.equal([]);
    // and on a phone
    await page.setViewportSize({ width: 390, height: 900 });
    expect(await axe()).to.deep.equal([]);
    await page.setViewportSize({ width: 1280, height: 1000 });
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
    expect(await axe()).to.deep.equal([]);

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
