import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { expect } from 'chai';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { ADMIN_PASSWORD } from '../support/app.js';
import { waitFor } from '../support/events.js';
import { startTestWorker } from '../support/messaging.js';
import {
  SKIP_LINE,
  chromiumInstalled,
  launchChromium,
  startConsoleApp,
  waitForText,
  watchProblems,
  type ConsoleApp,
  type Problems,
} from './support.js';

const require = createRequire(import.meta.url);

describe('Conversations page in a real browser (simulator, human takeover, manual send)', function () {
  this.timeout(120_000);
  let app: ConsoleApp;
  let worker: ReturnType<typeof startTestWorker>;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let problems: Problems;

  before(async function () {
    if (!chromiumInstalled()) {
      console.log(SKIP_LINE);
      this.skip();
    }
    app = await startConsoleApp();
    worker = startTestWorker(app.test);
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'es-ES' });
    page = await context.newPage();
    problems = await watchProblems(page);
    await page.goto(app.baseUrl);
    await page.fill('#login-username', 'admin');
    await page.fill('#login-password', ADMIN_PASSWORD);
    await page.click('#login-submit');
    await page.locator('#nav a[data-route="chats"]').waitFor();
  });

  after(async () => {
    await context?.close();
    await browser?.close();
    await worker?.stop();
    await app?.close();
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
    const source = await readFile(require.resolve('axe-core/axe.min.js'), 'utf8');
    await page.evaluate(source);
    for (const lang of ['es', 'en']) {
      await page.click(`[data-lang="${lang}"]`);
      type Axe = { run: (context: unknown, options: unknown) => Promise<{ violations: AxeViolation[] }> };
      type AxeViolation = { id: string; nodes: Array<{ target: string[] }> };
      const result = await page.evaluate(async () => {
        const globals = globalThis as unknown as { axe: Axe; document: unknown };
        const run = await globals.axe.run(globals.document, {
          runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] },
        });
        return run.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
      });
      expect(result, lang).to.deep.equal([]);
    }
    expect(problems).to.deep.equal({ console: [], page: [], csp: [] });
  });
});
