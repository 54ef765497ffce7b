import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { expect } from 'chai';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { RecordedEvent } from '#application/shared/eventStore.js';
import { messageStreamId, type MessagingEvent } from '#domain/messaging/events.js';
import { webMessageId } from '#infrastructure/channels/web/ids.js';
import { Fernet } from '#infrastructure/secrets/fernet.js';
import { ADMIN_PASSWORD, loginAs, request } from '../support/app.js';
import { waitFor } from '../support/events.js';
import { startTestScheduler } from '../support/scheduling.js';
import { startWaPeer, trustPeer, type WaPeer } from '../support/waPeer.js';
import { startWebWorker, waitForWhatsAppEvent, whatsappEvents } from '../support/webWorker.js';
import {
  chromiumInstalled,
  launchChromium,
  SKIP_LINE,
  startConsoleApp,
  waitForText,
  watchProblems,
  type ConsoleApp,
  type Problems,
  localDateTimeIn,
} from './support.js';

type AxeResult = {
  violations: Array<{ id: string; impact: string; nodes: Array<{ target: string[] }> }>;
  passes: unknown[];
};

const FERNET_KEY = Fernet.generateKey();
const PHONE = '34600000001';
const CONTACT = '34600000088';
const NUMBER = 'shop-wa';

/**
 * The "Done when" browser test, end to end: the real app, worker-web running the real baileys
 * client against the local WhatsApp peer (tests/support/waPeer.ts), the scheduler, and Chromium on the
 * console. A web number is paired through the QR the WhatsApp page shows, its runtime is stopped and
 * started from its row, and a message scheduled from the Scheduled page goes out on the wire.
 */
describe('console WhatsApp Web end to end in a real browser (Chromium, app, worker-web with baileys, peer, scheduler)', function () {
  this.timeout(240_000);
  let peer: WaPeer;
  let app: ConsoleApp;
  let worker: ReturnType<typeof startWebWorker>;
  let scheduler: ReturnType<typeof startTestScheduler>;
  let admin: string;
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
    peer = await startWaPeer({ refs: 6, phone: PHONE });
    trustPeer(peer.rootPublicKey);
    app = await startConsoleApp({ FERNET_KEYS: FERNET_KEY });
    admin = (await loginAs(app.baseUrl, 'admin', ADMIN_PASSWORD)).access;
    worker = startWebWorker(app.test, { peerUrl: peer.url, fernetKeys: FERNET_KEY });
    scheduler = startTestScheduler(app.test);
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1280, height: 1000 }, locale: 'es-ES' });
    page = await context.newPage();
    problems = await watchProblems(page);
  });

  after(async () => {
    await context?.close();
    await browser?.close();
    await scheduler?.stop();
    await worker?.stop();
    await app?.close();
    await peer?.close();
  });

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
  const row = () => page.locator(`#wa-numbers tr[data-number="${NUMBER}"]`);
  const localIn = (seconds: number) => localDateTimeIn(page, seconds);

  it('adds a web number; its QR (from the real pair-device exchange) shows in the pairing panel; the peer scans it; the page says connected', async () => {
    const added = await request(app.baseUrl, 'POST', '/api/numbers', {
      token: admin,
      body: { id: NUMBER, name: 'Tienda WA', kind: 'web' },
    });
    expect(added.status).to.equal(201);

    await page.goto(`${app.baseUrl}/`);
    await page.fill('#login-username', 'admin');
    await page.fill('#login-password', ADMIN_PASSWORD);
    await page.click('#login-submit');
    await page.click('#nav a[data-route="whatsapp"]');
    await row().waitFor({ timeout: 20_000 });
    await row().locator('button[data-action="pair"]').click();
    await page.locator('#wa-pairing-card').waitFor();
    expect(await page.locator('#wa-pairing-title').textContent()).to.equal('Vincular Tienda WA');
    // the panel polls the pairing API until baileys has the peer's refs and emits the QR
    const image = page.locator('#wa-qr img.qr-image');
    await image.waitFor({ timeout: 40_000 });
    expect(await image.getAttribute('alt')).to.include('Tienda WA');
    expect(await image.getAttribute('src')).to.match(/^data:image\/svg\+xml/);
    expect(await waitForText(page, '#wa-pairing-state', (t) => t.includes('Escanea'), 10_000)).to.match(
      /Intento 1 de 5/,
    );
    expect(await axe()).to.deep.equal([]);

    // the QR the page shows is the one on the API, and the one the peer's refs made
    const pairing = (await request(app.baseUrl, 'GET', `/api/numbers/${NUMBER}/pairing`, { token: admin })).body;
    expect(pairing.state).to.equal('qr');
    const registration = peer.connections.find((c) => c.kind === 'registration')!;
    expect(registration.refs.some((ref) => pairing.qr.includes(ref))).to.equal(true);
    expect(worker.printed).to.include(pairing.qr);

    // the phone scans it (the peer sends pair-success), baileys restarts, logs in with the new creds
    await peer.scan(pairing.qr);
    expect(await waitForText(page, '#wa-pairing-state', (t) => t === 'Vinculado y conectado.', 40_000)).to.equal(
      'Vinculado y conectado.',
    );
    expect(await image.count()).to.equal(0);
    await page.locator(`#wa-numbers tr[data-number="${NUMBER}"][data-connection="connected"]`).waitFor({
      timeout: 30_000,
    });
    expect(await row().locator('td').nth(2).textContent()).to.equal('conectado');
    expect(await row().locator('.badge').textContent()).to.equal('en marcha');
    expect(peer.connections.filter((c) => c.kind === 'login')).to.have.length(1);
    expect(await axe()).to.deep.equal([]);
    await page.click('#wa-pairing-close');
  });

  it('stops the number’s runtime from its row (the socket closes), starts it again: the stored session logs in, no QR', async () => {
    const connectedBefore = (await whatsappEvents(app.test, NUMBER)).at(-1)!.position;
    await row().locator('button[data-action="stop"]').click();
    expect(await waitForText(page, '#wa-message', (text) => text !== '')).to.match(/^Parar de Tienda WA solicitado/);
    await page.locator(`#wa-numbers tr[data-number="${NUMBER}"][data-runtime="stopped"]`).waitFor({ timeout: 30_000 });
    expect(await waitForText(page, '#wa-message', (text) => text.includes('hecho'), 30_000)).to.equal(
      'Tienda WA: Parar hecho (parado).',
    );
    expect(worker.dispatcher.runningNumbers()).to.not.include(NUMBER);
    await waitForWhatsAppEvent(
      app.test,
      NUMBER,
      (e) => e.type === 'WhatsAppDisconnected' && e.position > connectedBefore,
      20_000,
      'the socket closed',
    );
    await page.locator(`#wa-numbers tr[data-number="${NUMBER}"]:not([data-connection="connected"])`).waitFor({
      timeout: 30_000,
    });
    expect(await row().locator('.badge').textContent()).to.equal('parado');
    expect(await axe()).to.deep.equal([]);

    const connections = peer.connections.length;
    await row().locator('button[data-action="start"]').click();
    await page.locator(`#wa-numbers tr[data-number="${NUMBER}"][data-runtime="running"]`).waitFor({ timeout: 30_000 });
    expect(await waitForText(page, '#wa-message', (text) => text.includes('Arrancar hecho'), 30_000)).to.equal(
      'Tienda WA: Arrancar hecho (en marcha).',
    );
    await page.locator(`#wa-numbers tr[data-number="${NUMBER}"][data-connection="connected"]`).waitFor({
      timeout: 40_000,
    });
    expect(peer.connections.slice(connections).map((c) => c.kind)).to.deep.equal(['login']);
    const since = (await whatsappEvents(app.test, NUMBER)).filter((e) => e.position > connectedBefore);
    expect(since.some((e) => e.type === 'WhatsAppQrIssued')).to.equal(false);
    expect(since.map((e) => e.type)).to.include.members(['WhatsAppDisconnected', 'WhatsAppConnected']);
  });

  it('schedules a message from the Scheduled page for the web number; the scheduler fires it and baileys sends it, encrypted, under the derived id', async () => {
    await page.click('#nav a[data-route="scheduled"]');
    await page.locator(`#scheduled-number option[value="${NUMBER}"]`).waitFor({ state: 'attached' });
    await page.fill('#scheduled-to', CONTACT);
    await page.fill('#scheduled-text', 'Su cita es mañana a las 10');
    await page.fill('#scheduled-at', await localIn(4));
    await page.selectOption('#scheduled-number', NUMBER);
    await page.click('#scheduled-form button[type="submit"]');
    expect(await waitForText(page, '#scheduled-message', (text) => text !== '')).to.match(/^Mensaje programado para /);
    const listed = page.locator('#scheduled-list tr', { hasText: 'Su cita es mañana' });
    await listed.waitFor();
    expect(await listed.getAttribute('data-state')).to.equal('pending');
    await page.locator('#scheduled-list tr[data-state="fired"]', { hasText: 'Su cita es mañana' }).waitFor({
      timeout: 30_000,
    });
    expect(await axe()).to.deep.equal([]);

    const scheduleId = (await listed.getAttribute('data-schedule'))!;
    const fired = (await request(app.baseUrl, 'GET', `/api/scheduled-messages/${scheduleId}`, { token: admin })).body;
    expect(fired).to.include({ state: 'fired', numberId: NUMBER });
    const messageId = fired.messageId as string;
    expect(messageId).to.be.a('string');
    const derived = webMessageId(messageId);
    let events: RecordedEvent<MessagingEvent>[] = [];
    await waitFor(
      async () =>
        (events = await app.test.app.infra.store.readStream<MessagingEvent>(messageStreamId(messageId))).some(
          (e) => e.type === 'MessageSent',
        ),
      40_000,
      'MessageSent',
    );
    expect(events.find((e) => e.type === 'MessageSent')!.data).to.include({ providerMessageId: derived });
    // on the wire: the message stanza under the derived id, to the contact, the text Signal-encrypted
    const stanza = peer.connections
      .flatMap((c) => c.received)
      .find((n) => n.tag === 'message' && n.attrs.id === derived);
    expect(stanza, 'the message stanza on the wire').to.not.equal(undefined);
    expect(stanza!.attrs.to).to.equal(`${CONTACT}@s.whatsapp.net`);
    const wire = JSON.stringify(stanza, (_k, v: unknown) =>
      v instanceof Uint8Array ? Buffer.from(v).toString('latin1') : v,
    );
    expect(wire).to.include('pkmsg');
    expect(wire).not.to.include('Su cita');
    expect(problems).to.deep.equal({ console: [], page: [], csp: [] });
  });
});
