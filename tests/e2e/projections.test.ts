import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { expect } from 'chai';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { ADMIN_PASSWORD } from '../support/app.js';
import { appendWorkload } from '../support/replayWorkload.js';
import { waitFor } from '../support/events.js';
import { allProjections } from '#projections/registry.js';
import { projectionStatus } from '#projections/runner.js';
import {
  chromiumInstalled,
  launchChromium,
  SKIP_LINE,
  startConsoleApp,
  waitForText,
  watchProblems,
  type ConsoleApp,
  type Problems,
} from './support.js';

type AxeResult = {
  violations: Array<{ id: string; impact: string; nodes: Array<{ target: string[] }> }>;
  passes: unknown[];
};

describe('console Projections page in a real browser (Chromium, real app)', function () {
  this.timeout(180_000);
  let app: ConsoleApp;
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
    app = await startConsoleApp();
    await appendWorkload(app.test.app.infra.store, { events: 600, accounts: 20, chats: 10 });
    const { db, store } = app.test.app.infra;
    await waitFor(
      async () => (await projectionStatus(db, store, allProjections())).every((p) => p.lagEvents === 0),
      60_000,
      'every projection caught up',
    );
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1280, height: 1000 }, locale: 'es-ES' });
    page = await context.newPage();
    problems = await watchProblems(page);
  });

  after(async () => {
    await context?.close();
    await browser?.close();
    await app?.close();
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
    expect(result.passes.length).to.be.above(10);
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      nodes: v.nodes.map((n) => ({ target: n.target })),
    }));
  };
  type Focus = { activeElement: { tagName: string; closest(selector: string): { id: string } | null } | null };
  const focusedId = () =>
    page.evaluate(() => {
      const active = (globalThis as unknown as { document: Focus }).document.activeElement;
      return active ? `${active.tagName}:${active.closest('section')?.id ?? ''}` : null;
    });

  it('lists the read models with their lag and state, in Spanish and English, with no axe violation', async () => {
    await page.goto(`${app.baseUrl}/`);
    await page.fill('#login-username', 'admin');
    await page.fill('#login-password', ADMIN_PASSWORD);
    await page.click('#login-submit');
    await page.click('#nav a[data-route="projections"]');
    const accounts = page.locator('#projections-list tr[data-projection="accounts"]');
    await accounts.waitFor();
    expect(await focusedId()).to.equal('H1:view-projections');
    expect(await page.title()).to.match(/^Proyecciones \(modelos de lectura\) · /);
    expect(await accounts.getAttribute('data-state')).to.equal('live');
    expect(await accounts.locator('.badge').textContent()).to.equal('al día');
    expect(await accounts.locator('td').nth(2).textContent()).to.equal('0');
    const button = accounts.locator('button[data-rebuild="accounts"]');
    expect(await button.getAttribute('aria-label')).to.equal('Reconstruir accounts');
    expect(await axe()).to.deep.equal([]);

    await page.click('[data-lang="en"]');
    expect(await accounts.locator('.badge').textContent()).to.equal('live');
    expect(await button.getAttribute('aria-label')).to.equal('Rebuild accounts');
    expect(await page.locator('#view-projections h1').textContent()).to.equal('Projections (read models)');
    expect(await page.title()).to.match(/^Projections \(read models\) · /);
    expect(await axe()).to.deep.equal([]);
    await page.setViewportSize({ width: 390, height: 900 });
    expect(await axe()).to.deep.equal([]);
    await page.setViewportSize({ width: 1280, height: 1000 });
    await page.click('[data-lang="es"]');
  });

  it('the row button rebuilds that read model blue/green; the page follows it back to live; the audit trail shows who asked', async () => {
    await page.click('#projections-list button[data-rebuild="accounts"]');
    expect(await waitForText(page, '#projections-message', (text) => text !== '')).to.equal(
      'Reconstrucción de accounts iniciada.',
    );
    const swapped = () => app.test.logs().find((line) => line.message === 'projection rebuild swapped in');
    await waitFor(() => swapped() !== undefined, 60_000, 'the rebuild swapped in');
    expect(swapped()).to.include({ projection: 'accounts' });
    // the page follows the rebuild (it reads again every 2 s while one is under way) back to live
    await page
      .locator(
        '#projections-list tr[data-projection="accounts"][data-state="live"] button[data-rebuild]:not([disabled])',
      )
      .waitFor({ timeout: 30_000 });
    expect(await axe()).to.deep.equal([]);

    await page.goto(`${app.baseUrl}/#/audit?action=projection.rebuild_requested`);
    await page
      .locator('#audit-list tr[data-action="projection.rebuild_requested"]')
      .first()
      .waitFor({ timeout: 15_000 });
    expect(
      await page.locator('#audit-list tr[data-action="projection.rebuild_requested"]').first().textContent(),
    ).to.include('accounts');
    expect(problems).to.deep.equal({ console: [], page: [], csp: [] });
  });
});
