import { expect } from 'chai';
import type { Page } from 'playwright-core';
import { appendWorkload } from '../support/replayWorkload.js';
import { waitFor } from '../support/events.js';
import { allProjections } from '#projections/registry.js';
import { projectionStatus } from '#projections/runner.js';
import {
  skipWithoutChromium,
  openConsole,
  loginInBrowser,
  expectAxeClean,
  expectAxeCleanOnPhone,
  waitForText,
  type ConsoleInBrowser,
  type ConsoleApp,
  type Problems,
} from './support.js';

describe('console Projections page in a real browser (Chromium, real app)', function () {
  this.timeout(180_000);
  let app: ConsoleApp;
  let ui: ConsoleInBrowser;
  let page: Page;
  let problems: Problems;

  before(async function () {
    skipWithoutChromium(this);
    ui = await openConsole();
    ({ app, page, problems } = ui);
    await appendWorkload(app.test.app.infra.store, { events: 600, accounts: 20, chats: 10 });
    const { db, store } = app.test.app.infra;
    await waitFor(
      async () => (await projectionStatus(db, store, allProjections())).every((p) => p.lagEvents === 0),
      60_000,
      'every projection caught up',
    );
  });

  after(async () => {
    await ui?.close();
  });

  type Focus = { activeElement: { tagName: string; closest(selector: string): { id: string } | null } | null };
  const focusedId = () =>
    page.evaluate(() => {
      const active = (globalThis as unknown as { document: Focus }).document.activeElement;
      return active ? `${active.tagName}:${active.closest('section')?.id ?? ''}` : null;
    });

  it('lists the read models with their lag and state, in Spanish and English, with no axe violation', async () => {
    await loginInBrowser(page, app.baseUrl);
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
    await expectAxeClean(page);

    await page.click('[data-lang="en"]');
    expect(await accounts.locator('.badge').textContent()).to.equal('live');
    expect(await button.getAttribute('aria-label')).to.equal('Rebuild accounts');
    expect(await page.locator('#view-projections h1').textContent()).to.equal('Projections (read models)');
    expect(await page.title()).to.match(/^Projections \(read models\) · /);
    await expectAxeClean(page);
    await expectAxeCleanOnPhone(page);
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
    await expectAxeClean(page);

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
