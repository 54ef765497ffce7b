import { expect } from 'chai';
import type { Page } from 'playwright-core';
import { waitFor } from '../support/events.js';
import { startTestWorker } from '../support/messaging.js';
import {
  skipWithoutChromium,
  openConsole,
  loginInBrowser,
  expectAxeClean,
  waitForText,
  type ConsoleInBrowser,
  type ConsoleApp,
  type Problems,
} from './support.js';

describe('Conversations page in a real browser (simulator, human takeover, manual send)', function () {
  this.timeout(120_000);
  let app: ConsoleApp;
  let worker: ReturnType<typeof startTestWorker>;
  let ui: ConsoleInBrowser;
  let page: Page;
  let problems: Problems;

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

  const simulate = async (text: string) => {
    await page.fill('#sim-form input[name="from"]', '34600000077');
    await page.fill('#sim-form input[name="text"]', text);
    await page.click('#sim-form button[type="submit"]');
  };
  const responderDone = async () => {
    const head = await app.test.app.infra.store.headPosition();
    const row = await app.test.app.infra.db.knex('process_manager_checkpoints').where({ name: 'responder' }).first();
    const lastInbound = (await app.test.app.infra.store.readAll({ filter: { eventTypes: ['MessageReceived'] } })).at(
      -1,
    );
    return head > 0 && row !== undefined && Number(row.position) >= (lastInbound?.position ?? 0);
  };

  it('chatting through the simulator shows the bot’s reply in the chat, with its delivery status', async () => {
    await page.click('#nav a[data-route="chats"]');
    await page.locator('#view-chats h1').waitFor();
    await simulate('hola');
    await page.locator('#chat-log li[data-source="bot"]').waitFor({ timeout: 15_000 });
    expect(await page.textContent('#chat-log li[data-source="bot"] .msg-text')).to.include('asistente virtual');
    await waitForText(
      page,
      '#chat-log li[data-source="bot"] .msg-status',
      (text) => text.includes('entregado'),
      10_000,
    );
    expect(await page.textContent('#chat-title')).to.equal('34600000077');
    expect(await page.locator('#chat-list [data-chat]').count()).to.equal(1);
  });

  it('a paused chat gets no reply', async () => {
    await page.click('#chat-toggle');
    await waitForText(page, '#chat-state', (text) => text.startsWith('Bot en pausa'));
    await simulate('¿horario?');
    await waitFor(
      async () => (await page.locator('#chat-log li[data-source="contact"]').count()) === 2,
      10_000,
      'the second inbound',
    );
    await waitFor(responderDone, 10_000, 'the responder to pass the paused message');
    await page.waitForTimeout(1_600); // one refresh of the view after the responder passed
    expect(await page.locator('#chat-log li[data-source="bot"]').count()).to.equal(1);
  });

  it('a manual send from the chat is sent and appears in the audit log', async () => {
    await page.fill('#chat-send textarea', 'Le atiende una persona');
    await page.click('#chat-send button[type="submit"]');
    await page.locator('#chat-log li[data-source="manual"]').waitFor({ timeout: 10_000 });
    await waitForText(
      page,
      '#chat-log li[data-source="manual"] .msg-status',
      (text) => /enviado|entregado/.test(text),
      10_000,
    );
    // still paused: a manual send does not resume the bot
    expect(await page.textContent('#chat-state')).to.match(/^Bot en pausa/);
    await page.click('#nav a[data-route="audit"]');
    await page.fill('#audit-form input[name="action"]', 'message.queued');
    await page.click('#audit-form button[type="submit"]');
    await page.locator('#audit-list tr[data-action="message.queued"]').waitFor({ timeout: 10_000 });
    expect(await page.locator('#audit-list tr[data-action="message.queued"]').count()).to.equal(1);
  });

  it('is clean for axe-core (WCAG 2.1 AA) in Spanish and English, and reported no console or CSP problem', async () => {
    await page.click('#nav a[data-route="chats"]');
    await page.locator('#chat-log li').first().waitFor();
    for (const lang of ['es', 'en']) {
      await page.click(`[data-lang="${lang}"]`);
      await expectAxeClean(page, lang);
    }
    expect(problems).to.deep.equal({ console: [], page: [], csp: [] });
  });
});
