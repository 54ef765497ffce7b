import { expect } from 'chai';
import type { Page } from 'playwright-core';
import { ADMIN_PASSWORD, loginAs, request } from '../support/app.js';
import { waitFor } from '../support/events.js';
import {
  skipWithoutChromium,
  openConsole,
  loginInBrowser,
  expectAxeClean,
  waitForText,
  attributesOf,
  type ConsoleInBrowser,
  type ConsoleApp,
  type PageGlobals,
  type Problems,
} from './support.js';

describe('console Events page in a real browser (Chromium, real app)', function () {
  this.timeout(120_000);
  let app: ConsoleApp;
  let ui: ConsoleInBrowser;
  let page: Page;
  let problems: Problems;
  let adminToken: string;
  let accountId: string;
  /** between the account's creation and its disabling */
  let beforeDisable: string;

  before(async function () {
    skipWithoutChromium(this);
    ui = await openConsole();
    ({ app, page, problems } = ui);
    adminToken = (await loginAs(app.baseUrl, 'admin', ADMIN_PASSWORD)).access;
    const created = await request(app.baseUrl, 'POST', '/api/users', {
      token: adminToken,
      body: { username: 'eve-replayed', password: 'eve-password-1', role: 'operator' },
    });
    expect(created.status).to.equal(201);
    accountId = String(created.body.id);
    beforeDisable = new Date().toISOString();
    const disabled = await request(app.baseUrl, 'POST', `/api/users/${accountId}/disable`, { token: adminToken });
    expect(disabled.status).to.equal(200);
  });

  after(async () => {
    await ui?.close();
  });

  /** axe at a desktop width and at a 390 px phone; `shot` names screenshots left in /tmp for people to look at */
  const axeEverywhere = async (shot?: string) => {
    await expectAxeClean(page);
    if (shot) await page.screenshot({ path: `/tmp/events-${shot}-1280.png`, fullPage: true });
    await page.setViewportSize({ width: 390, height: 900 });
    await expectAxeClean(page);
    if (shot) await page.screenshot({ path: `/tmp/events-${shot}-390.png`, fullPage: true });
    await page.setViewportSize({ width: 1280, height: 1000 });
  };
  const focusedId = () =>
    page.evaluate(
      () =>
        (globalThis as unknown as { document: { activeElement: { id: string } | null } }).document.activeElement?.id,
    );
  const treeTypes = () => attributesOf(page, '#ev-tree li', 'data-type');

  it('follows a login from its audit row to its causal chain, and lists events with cursor pages', async () => {
    await loginInBrowser(page, app.baseUrl);
    await page.locator('#nav a[data-route="events"]').waitFor({ state: 'visible' });

    await page.goto(`${app.baseUrl}/#/audit?action=login.succeeded`);
    const row = page.locator('#audit-list tr[data-action="login.succeeded"]').first();
    await row.waitFor({ timeout: 10_000 });
    const chainHref = await row.locator('a[data-link="chain"]').getAttribute('href');
    expect(chainHref).to.match(/^#\/events\/chain\//);
    expect(await row.locator('a[data-link="event"]').getAttribute('href')).to.match(
      /^#\/events\/event\/[0-9a-f-]{36}$/,
    );
    await axeEverywhere('audit');
    await row.locator('a[data-link="chain"]').click();
    await page.locator('#ev-tree li[data-type="LoginSucceeded"]').waitFor();
    expect(await page.locator('#ev-h1').textContent()).to.equal('Cadena causal');
    expect(await page.title()).to.equal('Cadena causal · Eventos · Consola del chatbot');
    expect(await focusedId()).to.equal('ev-h1');
    expect(await waitForText(page, '#ev-chain-summary', (text) => text !== '')).to.match(/^\d+ eventos en la cadena /);
    // each step below the root says how long after its cause it happened
    expect((await treeTypes()).length).to.be.above(1);
    // each step says when it happened after the start of the chain (and, below a cause, after its cause)
    const offsets = await page.locator('#ev-tree .ev-offset').allTextContents();
    expect(offsets.length).to.equal((await treeTypes()).length);
    expect(offsets[0]).to.equal('+0 ms desde el inicio');
    for (const offset of offsets) expect(offset).to.match(/^\+[\d.,]+ (ms|s) desde el inicio$/);
    await axeEverywhere('chain');

    // the X-Correlation-Id of a login response leads to the same kind of tree
    const login = await request(app.baseUrl, 'POST', '/api/auth/login', {
      body: { username: 'admin', password: ADMIN_PASSWORD },
    });
    const correlationId = login.headers.get('x-correlation-id')!;
    await page.goto(`${app.baseUrl}/#/events?correlation=${correlationId}`);
    await page.locator('#ev-tree li[data-type="LoginSucceeded"]').waitFor();
    expect(await waitForText(page, '#ev-chain-summary', (text) => text.includes(correlationId))).to.include(
      correlationId,
    );
    // its event detail, with the links back to the chain
    await page.locator('#ev-tree li[data-type="LoginSucceeded"] a').first().click();
    await waitForText(page, '#ev-h1', (text) => text === 'Evento LoginSucceeded');
    expect(await page.locator('#ev-event-chain').getAttribute('href')).to.equal(`#/events/chain/${correlationId}`);
    expect(await page.locator('#ev-event-data').textContent()).to.include('"accountId"');
    await axeEverywhere('event');

    // a message through the simulator: the bot's answer hangs below the message that caused it
    const sent = await request(app.baseUrl, 'POST', '/api/simulator/messages', {
      token: adminToken,
      body: { from: '34600000042', text: 'hola' },
    });
    expect(sent.status).to.equal(202);
    const messageChain = sent.headers.get('x-correlation-id')!;
    // the answer is appended by the bot after the 202: wait until the chain holds it
    await waitFor(
      async () => {
        const chain = await request(app.baseUrl, 'GET', `/api/events/chain/${messageChain}`, { token: adminToken });
        return JSON.stringify(chain.body).includes('"MessageQueued"');
      },
      20_000,
      'the bot to answer the simulated message',
    );
    await page.goto(`${app.baseUrl}/#/events?correlation=${messageChain}`);
    await page.locator('#ev-tree li[data-type="MessageReceived"] li[data-type="MessageQueued"]').waitFor();
    expect(await page.locator('#ev-tree li[data-type="MessageQueued"] .ev-gap-pill').first().textContent()).to.match(
      /^\+[\d.,]+ (ms|s) tras la causa$/,
    );

    // the explorer, filtered by type, one event per page... through the URL; then forwards and back
    await page.goto(`${app.baseUrl}/#/events?type=LoginSucceeded`);
    await page.locator('#ev-rows tr').first().waitFor();
    const firstPage = await page.locator('#ev-rows tr').count();
    expect(firstPage).to.be.at.least(2);
    expect(await page.title()).to.equal('Explorador de eventos · Eventos · Consola del chatbot');
    await page.goto(`${app.baseUrl}/#/events?type=LoginSucceeded,AccountCreated&direction=forward`);
    await page.locator('#ev-rows tr[data-type="AccountCreated"]').first().waitFor();
    expect(await page.locator('#ev-rows tr').first().getAttribute('data-type')).to.equal('AccountCreated');
    // a filter the API would refuse is explained in the page's language before anything is sent
    await page.fill('#ev-filters [name="type"]', 'Not A Type');
    await page.click('#ev-filters button[type="submit"]');
    expect(await waitForText(page, '#ev-message', (text) => text !== '')).to.match(/^Los tipos son nombres como/);
    await page.fill('#ev-filters [name="type"]', 'AccountCreated');
    await page.click('#ev-filters button[type="submit"]');
    await page.waitForFunction(() => {
      const rows = [...(globalThis as unknown as PageGlobals).document.querySelectorAll('#ev-rows tr')];
      return rows.length > 0 && rows.every((tr) => tr.getAttribute('data-type') === 'AccountCreated');
    });
    expect(await page.isVisible('#ev-message')).to.equal(false);
    expect(new URL(page.url()).hash).to.equal('#/events?type=AccountCreated&direction=forward');
    await axeEverywhere('explorer');
  });

  it('pages with the cursor forwards and backwards', async () => {
    // 50 per page: more than 50 events exist once the app has started, created users and logged in
    for (let i = 0; i < 30; i++) await loginAs(app.baseUrl, 'admin', ADMIN_PASSWORD);
    await page.goto(`${app.baseUrl}/#/events`);
    await page.locator('#ev-rows tr').first().waitFor();
    const firstOnPage = () => page.locator('#ev-rows tr').first().getAttribute('data-event-id');
    const pageOne = await firstOnPage();
    expect(await page.isDisabled('#ev-prev')).to.equal(true);
    await page.click('#ev-next');
    await page.waitForFunction(
      (id) =>
        (globalThis as unknown as PageGlobals).document.querySelectorAll(`#ev-rows tr[data-event-id="${id}"]`)
          .length === 0,
      pageOne,
    );
    expect(await page.isDisabled('#ev-prev')).to.equal(false);
    await page.click('#ev-prev');
    await page.locator(`#ev-rows tr[data-event-id="${pageOne}"]`).waitFor();
    expect(await firstOnPage()).to.equal(pageOne);
  });

  it('shows an account as of a past time (active before the disable, disabled after) and steps through it', async () => {
    const stream = `account-${accountId}`;
    // an admin picks the user from the list (it fills in the stream id) and opens its stream
    await page.goto(`${app.baseUrl}/#/events/stream`);
    expect(await page.locator('#ev-h1').textContent()).to.equal('Reproducir un flujo');
    await page.locator(`#ev-stream-pick option[value="${stream}"]`).waitFor({ state: 'attached' });
    await page.selectOption('#ev-stream-pick', stream);
    expect(await page.inputValue('#ev-stream-form input[name="stream"]')).to.equal(stream);
    await page.click('#ev-stream-form button[type="submit"]');
    await waitForText(page, '#ev-step-position', (text) => text === 'Revisión 0 de 1');
    expect(await page.locator('#ev-h1').textContent()).to.equal(`Flujo ${stream}`);

    await page.goto(`${app.baseUrl}/#/events/stream/${stream}?at=${encodeURIComponent(beforeDisable)}`);
    await page.locator('#ev-asof-result').waitFor();
    expect(await page.locator('#ev-h1').textContent()).to.equal(`Flujo ${stream}`);
    expect(await waitForText(page, '#ev-asof-summary', (text) => text.includes('status'))).to.include('active');
    expect(await page.locator('#ev-asof-summary').textContent()).not.to.include('disabled');
    expect(await page.locator('#ev-asof-events li').count()).to.equal(1);

    // after the disable, through the form (a minute ahead: the input has whole seconds)
    const later = new Date(Date.now() + 60_000);
    const pad = (n: number) => String(n).padStart(2, '0');
    const local = `${later.getFullYear()}-${pad(later.getMonth() + 1)}-${pad(later.getDate())}T${pad(
      later.getHours(),
    )}:${pad(later.getMinutes())}:${pad(later.getSeconds())}`;
    await page.fill('#ev-asof-form input[name="at"]', local);
    await page.click('#ev-asof-form button[type="submit"]');
    expect(await waitForText(page, '#ev-asof-summary', (text) => text.includes('disabled'))).to.include('disabled');
    expect(await page.locator('#ev-asof-events li').count()).to.equal(2);
    await axeEverywhere();

    // the stepper starts at revision 0 (the creation): active; next -> disabled; previous -> active again
    expect(await waitForText(page, '#ev-step-position', (text) => text !== '')).to.equal('Revisión 0 de 1');
    expect(await page.locator('#ev-step-state').textContent()).to.include('"status": "active"');
    expect(await page.locator('#ev-step-fields').textContent()).to.include('admin');
    expect(await page.isDisabled('#ev-step-prev')).to.equal(true);
    await page.click('#ev-step-next');
    expect(await waitForText(page, '#ev-step-position', (text) => text === 'Revisión 1 de 1')).to.equal(
      'Revisión 1 de 1',
    );
    expect(await page.locator('#ev-step-state').textContent()).to.include('"status": "disabled"');
    expect(await page.locator('#ev-step-changed').textContent()).to.equal('status');
    expect(await page.locator('#ev-step-fields').textContent()).to.include('AccountDisabled');
    expect(await page.isDisabled('#ev-step-next')).to.equal(true);
    // the URL now says where the stepper stands (a deep link to this step)
    expect(decodeURIComponent(new URL(page.url()).hash)).to.include(`#/events/stream/${stream}?revision=1`);
    await page.click('#ev-step-prev');
    await waitForText(page, '#ev-step-position', (text) => text === 'Revisión 0 de 1');
    expect(await page.locator('#ev-step-state').textContent()).to.include('"status": "active"');
    // play runs to the end by itself
    await page.click('#ev-step-play');
    await waitForText(page, '#ev-step-position', (text) => text === 'Revisión 1 de 1');
    await waitForText(page, '#ev-step-play', (text) => text === 'Reproducir');
    await axeEverywhere('stepper');

    // English, with the server's errors translated
    await page.click('[data-lang="en"]');
    expect(await page.locator('#ev-h1').textContent()).to.equal(`Stream ${stream}`);
    expect(await page.title()).to.equal(`Stream ${stream} · Events · Chatbot console`);
    expect(await page.locator('#ev-step-position').textContent()).to.equal('Revision 1 of 1');
    await page.goto(`${app.baseUrl}/#/events/stream/account-nobody`);
    expect(await waitForText(page, '#ev-message', (text) => text !== '')).to.equal('That stream has no events.');
    await page.goto(`${app.baseUrl}/#/events/chain/not-a-chain-id-0000`);
    expect(await waitForText(page, '#ev-message', (text) => text !== '')).to.equal('No event has that correlation id.');
    await axeEverywhere();
    await page.click('[data-lang="es"]');
    // leaving the page hands the document's title to the view it goes to (every view titles itself)
    await page.click('#nav a[data-route="dashboard"]');
    await page.waitForFunction(
      () =>
        (globalThis as unknown as { document: { title: string } }).document.title ===
        'Panel en vivo · Consola del chatbot',
    );
    expect(problems.page).to.deep.equal([]);
    expect(problems.csp).to.deep.equal([]);
    // the two 404s asked for above are the only console errors (the browser logs failed fetches)
    expect(problems.console.filter((line) => !line.includes('404'))).to.deep.equal([]);
  });
});
