import { expect } from 'chai';
import type { Page } from 'playwright-core';
import { chatIdFor } from '#application/messaging/ids.js';
import { ADMIN_PASSWORD, adminAndOperator, request } from '../support/app.js';
import { waitFor } from '../support/events.js';
import { startTestWorker } from '../support/messaging.js';
import {
  skipWithoutChromium,
  openConsole,
  loginInBrowser,
  expectAxeClean,
  submitLogin,
  waitForText,
  type ConsoleInBrowser,
  type ConsoleApp,
  type Problems,
} from './support.js';

const CONTACT = '34600000088';
const SECRET = 'TEXTO-SECRETO-DE-ANA';
const CHAT = chatIdFor('simulator', CONTACT);

describe('Forgetting a contact from the console (Conversations, admins only)', function () {
  this.timeout(120_000);
  let app: ConsoleApp;
  let worker: ReturnType<typeof startTestWorker>;
  let ui: ConsoleInBrowser;
  let page: Page;
  let problems: Problems;
  let inboundEventId: string;
  let adminToken: string;

  before(async function () {
    skipWithoutChromium(this);
    ui = await openConsole({}, { viewport: { width: 1280, height: 900 } });
    ({ app, page, problems } = ui);
    worker = startTestWorker(app.test);
    await loginInBrowser(page, app.baseUrl);
    await page.locator('#nav a[data-route="chats"]').waitFor();
  });

  after(async () => {
    await worker?.stop();
    await ui?.close();
  });

  const focused = () =>
    page.evaluate(
      () =>
        (globalThis as unknown as { document: { activeElement: { id: string } | null } }).document.activeElement?.id,
    );
  const logout = async () => {
    await page.click('#logout');
    await page.locator('#login-form').waitFor();
  };

  it('chatting through the simulator, then an operator sees no forget button (and the API refuses them)', async () => {
    await page.click('#nav a[data-route="chats"]');
    await page.locator('#view-chats h1').waitFor();
    await page.fill('#sim-form input[name="from"]', CONTACT);
    await page.fill('#sim-form input[name="text"]', SECRET);
    await page.click('#sim-form button[type="submit"]');
    await page.locator('#chat-log li[data-source="bot"]').waitFor({ timeout: 15_000 });
    expect(await page.textContent('#chat-log li[data-source="contact"] .msg-text')).to.equal(SECRET);
    expect(await page.isVisible('#chat-forget')).to.equal(true);

    const { admin, operator } = await adminAndOperator(app.baseUrl);
    adminToken = admin;
    const refused = await request(app.baseUrl, 'POST', `/api/contacts/${CONTACT}/forget`, { token: operator });
    expect(refused.status).to.equal(403);
    await logout();
    await submitLogin(page, 'oncall', 'operator-password-1');
    await page.click('#nav a[data-route="chats"]');
    await page.click(`#chat-list [data-chat="${CHAT}"]`);
    await waitForText(page, '#chat-log li[data-source="contact"] .msg-text', (text) => text === SECRET);
    // the operator acts on the chat (pause/resume), but is offered no forget
    await page.locator('#chat-toggle').waitFor({ state: 'visible' });
    await page.waitForTimeout(1_600); // a refresh of the view with the operator's session
    expect(await page.isVisible('#chat-forget')).to.equal(false);
    await logout();
    await submitLogin(page, 'admin', ADMIN_PASSWORD);
    await page.click('#nav a[data-route="chats"]');
    await page.click(`#chat-list [data-chat="${CHAT}"]`);
    await waitForText(page, '#chat-log li[data-source="contact"] .msg-text', (text) => text === SECRET);
    await page.locator('#chat-forget').waitFor({ state: 'visible' });
  });

  it('the button is named by its contact; the dialog says what is destroyed, is labelled, axe-clean, and Escape cancels', async () => {
    const button = page.getByRole('button', { name: `Olvidar a ${CONTACT}` });
    expect(await button.count()).to.equal(1);
    await button.click();
    const dialog = page.getByRole('dialog', { name: `¿Olvidar a ${CONTACT}?` });
    await dialog.waitFor();
    expect(await dialog.textContent())
      .to.include('[erased]')
      .and.to.include('No se puede deshacer');
    // the safe choice has the focus
    expect(await focused()).to.equal('forget-cancel');
    await expectAxeClean(page, 'forget dialog, es');
    // modal: the page behind is inert; Escape closes it and the focus goes back to the button
    await page.keyboard.press('Escape');
    await page.locator('#forget-dialog').waitFor({ state: 'hidden' });
    expect(await focused()).to.equal('chat-forget');
    await page.click('[data-lang="en"]');
    await page.getByRole('button', { name: `Forget ${CONTACT}` }).click();
    await page.getByRole('dialog', { name: `Forget ${CONTACT}?` }).waitFor();
    expect(await page.textContent('#forget-undo')).to.include('cannot be undone');
    await expectAxeClean(page, 'forget dialog, en');
    await page.click('#forget-cancel');
    await page.locator('#forget-dialog').waitFor({ state: 'hidden' });
    expect(await focused()).to.equal('chat-forget');
    // nothing was forgotten
    const forgotten = await app.test.app.infra.store.readAll({ filter: { eventTypes: ['ContactForgotten'] } });
    expect(forgotten).to.have.length(0);
    await page.click('[data-lang="es"]');
  });

  it('confirming forgets the contact: the result is shown and its messages read [erased] in the chat view', async () => {
    const received = await app.test.app.infra.store.readAll({ filter: { eventTypes: ['MessageReceived'] } });
    inboundEventId = received.find((e) => e.data.chatId === CHAT)!.id;
    await page.click('#chat-forget');
    await page.click('#forget-confirm');
    await page.locator('#forget-dialog').waitFor({ state: 'hidden' });
    const result = await waitForText(page, '#chats-message', (text) => text.includes('olvidado'));
    expect(result).to.match(new RegExp(`${CONTACT} olvidado en 1 número\\(s\\): \\d+ claves destruidas`));
    expect(await page.textContent('#chat-title')).to.equal('Contacto olvidado');
    expect(await focused()).to.equal('chat-title');
    const texts = await page.locator('#chat-log .msg-text').allTextContents();
    expect(texts.length).to.be.at.least(2); // the contact's message and the bot's reply
    expect(
      texts.every((text) => text === '[erased]'),
      texts.join(' | '),
    ).to.equal(true);
    expect(await page.isVisible('#chat-forget')).to.equal(false);
    expect(await page.isVisible('#chat-send')).to.equal(false);
    // the chat leaves the list once the read models apply ContactForgotten
    await waitFor(
      async () => (await page.locator(`#chat-list [data-chat="${CHAT}"]`).count()) === 0,
      15_000,
      'the chat gone from the list',
    );
    expect(await page.content()).to.not.include(SECRET);
    await expectAxeClean(page, 'forgotten chat');
  });

  it('the Events page shows the message as [erased], and the audit trail records who forgot the chat', async () => {
    await page.click('#chat-stream-link');
    await waitForText(page, '#ev-h1', (text) => text.includes(`chat-${CHAT}`));
    await page.goto(`${app.baseUrl}/#/events/event/${inboundEventId}`);
    const data = await waitForText(page, '#ev-event-data', (text) => text.includes('[erased]'));
    expect(data).to.not.include(SECRET).and.to.not.include(CONTACT);
    await expectAxeClean(page, 'events page, erased event');
    const stored = await app.test.app.infra.store.readAll({ filter: { eventTypes: ['MessageReceived'] } });
    expect(stored.find((e) => e.id === inboundEventId)!.data).to.include({ text: '[erased]', contact: '[erased]' });
    await waitFor(
      async () => {
        const audit = await request(app.baseUrl, 'GET', '/api/audit?action=contact.forgotten', { token: adminToken });
        return (audit.body.entries as { target: string; actor: string }[]).some((e) => e.target === CHAT);
      },
      15_000,
      'the audit entry naming the chat',
    );
    expect(problems).to.deep.equal({ console: [], page: [], csp: [] });
  });
});
