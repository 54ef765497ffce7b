// Helpers for the browser tests: the system Chromium through playwright-core (never a downloaded browser),
// the real app serving the console, and collectors for console errors, page errors and CSP violations.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type http from 'node:http';
import type { Duplex } from 'node:stream';
import { PassThrough } from 'node:stream';
import { expect } from 'chai';
import { Router, type Express } from 'express';
import { chromium, type Browser, type BrowserContext, type BrowserContextOptions, type Page } from 'playwright-core';
import { createLogger } from '#infrastructure/logging/logger.js';
import { createHttpApp } from '#interfaces/http/app.js';
import { webRoutes } from '#interfaces/web/webRoutes.js';
import { attachMetricsSocket, type MetricsSocket } from '#interfaces/ws/metricsSocket.js';
import { ADMIN_PASSWORD, startTestApp, type TestApp } from '../support/app.js';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const chromiumInstalled = (): boolean => existsSync(CHROMIUM_PATH);
export const SKIP_LINE = 'SKIPPED: browser e2e (chromium not installed)';

export const launchChromium = (): Promise<Browser> =>
  chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });

/** In a mocha `before`: skips the suite, saying so, where the system Chromium is not installed. */
export const skipWithoutChromium = (suite: Mocha.Context): void => {
  if (!chromiumInstalled()) {
    console.log(SKIP_LINE);
    suite.skip();
  }
};

export type BrowserPage = {
  browser: Browser;
  context: BrowserContext;
  page: Page;
  /** console errors, page errors and CSP violations seen since the page opened */
  problems: Problems;
  close: () => Promise<void>;
};

/** Chromium, one context (desktop size, Spanish unless told) and one page whose problems are watched. */
export const openBrowserPage = async (options: BrowserContextOptions = {}): Promise<BrowserPage> => {
  const browser = await launchChromium();
  const context = await browser.newContext({ viewport: { width: 1280, height: 1000 }, locale: 'es-ES', ...options });
  const page = await context.newPage();
  const problems = await watchProblems(page);
  return {
    browser,
    context,
    page,
    problems,
    close: async () => {
      await context.close();
      await browser.close();
    },
  };
};

export type ConsoleInBrowser = BrowserPage & { app: ConsoleApp };

/** The console app (startConsoleApp with `env`) and a watched page in Chromium; close() closes both. */
export const openConsole = async (
  env: Record<string, string> = {},
  context: BrowserContextOptions = {},
): Promise<ConsoleInBrowser> => {
  const app = await startConsoleApp(env);
  const browser = await openBrowserPage(context).catch(async (error: unknown) => {
    await app.close();
    throw error;
  });
  return {
    ...browser,
    app,
    close: async () => {
      await browser.close();
      await app.close();
    },
  };
};

/** Opens the console at baseUrl and logs in through its form (admin by default). */
export const loginInBrowser = async (
  page: Page,
  baseUrl: string,
  username = 'admin',
  password = ADMIN_PASSWORD,
): Promise<void> => {
  await page.goto(`${baseUrl}/`);
  await submitLogin(page, username, password);
};

/** Fills and sends the console's login form on the page as it is. */
export const submitLogin = async (page: Page, username: string, password: string): Promise<void> => {
  await page.fill('#login-username', username);
  await page.fill('#login-password', password);
  await page.click('#login-submit');
};

type AxeResult = {
  violations: Array<{ id: string; impact: string; nodes: Array<{ target: string[] }> }>;
  passes: unknown[];
};
export type AxeViolation = { id: string; impact: string; nodes: Array<{ target: string[] }> };
let axeSource: Promise<string> | undefined;

/**
 * axe-core (WCAG 2.1 A and AA rules) over the page, evaluated through the debugger protocol so the strict CSP
 * does not refuse it; checks that axe really ran (dozens of rules pass) and answers the violations.
 */
export const axeViolations = async (page: Page): Promise<AxeViolation[]> => {
  axeSource ??= readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
  await page.evaluate(await axeSource);
  const result = await page.evaluate(async () => {
    const w = globalThis as unknown as {
      axe: { run(context: unknown, options: unknown): Promise<AxeResult> };
      document: unknown;
    };
    return w.axe.run(w.document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } });
  });
  expect(result.passes.length, 'axe ran over the page').to.be.above(10);
  return result.violations.map((v) => ({
    id: v.id,
    impact: v.impact,
    nodes: v.nodes.map((n) => ({ target: n.target })),
  }));
};

/** No axe violation on the page as it is (`where` names the state in the failure message). */
export const expectAxeClean = async (page: Page, where?: string): Promise<void> => {
  expect(await axeViolations(page), where).to.deep.equal([]);
};

/** No axe violation at a 390 px phone width either; the desktop size is restored after. */
export const expectAxeCleanOnPhone = async (page: Page, where?: string): Promise<void> => {
  await page.setViewportSize({ width: 390, height: 900 });
  await expectAxeClean(page, where);
  await page.setViewportSize({ width: 1280, height: 1000 });
};

export type ConsoleApp = {
  test: TestApp;
  baseUrl: string;
  /** destroys every WebSocket connection the server holds (the browser sees a 1006 and reconnects) */
  dropWebSockets: () => void;
  close: () => Promise<void>;
};

/**
 * The real app (startTestApp) serving the console. Until interfaces/process/app.ts mounts webRoutes and
 * attaches the metrics WebSocket, this wires what is missing onto the same server, loudly, with the
 * app's own createHttpApp (same CSP and headers), identity and live feed.
 */
export const startConsoleApp = async (env: Record<string, string> = {}): Promise<ConsoleApp> => {
  const test = await startTestApp({ env });
  const server: http.Server = test.app.server;
  const closers: Array<() => Promise<void>> = [];
  const logger = createLogger({ level: 'warn', service: 'e2e', stream: new PassThrough() });

  const served = await fetch(`${test.baseUrl}/assets/app.js`);
  await served.arrayBuffer();
  if (served.status !== 200) {
    console.warn('    NOTE: startApp does not mount webRoutes yet; the e2e test mounts it in front of the app itself');
    const inner = server.listeners('request')[0] as Express;
    const delegate = Router();
    delegate.use((req, res, next) => inner(req, res, next));
    const outer = createHttpApp({ logger, corsOrigins: [], bodyLimit: '100kb', routers: [webRoutes(), delegate] });
    server.removeAllListeners('request');
    server.on('request', outer);
  }
  if (server.listenerCount('upgrade') === 0) {
    console.warn('    NOTE: startApp does not attach /ws/metrics yet; the e2e test attaches it itself');
    const socket: MetricsSocket = attachMetricsSocket(server, {
      feed: test.app.feed,
      identity: test.app.identity,
      allowedOrigins: [],
      logger,
    });
    closers.push(() => socket.close());
  }
  const upgraded = new Set<Duplex>();
  server.on('upgrade', (_req, socket: Duplex) => {
    upgraded.add(socket);
    socket.once('close', () => upgraded.delete(socket));
  });

  return {
    test,
    baseUrl: test.baseUrl,
    dropWebSockets: () => {
      for (const socket of upgraded) socket.destroy();
    },
    close: async () => {
      for (const close of closers) await close();
      await test.close();
    },
  };
};

/**
 * The few browser globals the page callbacks touch. tsconfig has no DOM lib on purpose (the code base is
 * Node), so callbacks run in the page say `const w = globalThis as unknown as PageGlobals`.
 */
type StyleLike = { color: string; removeProperty(name: string): string };
type ElementLike = {
  getAttribute(name: string): string | null;
  setAttribute(name: string, value: string): void;
  style: StyleLike;
};
export type PageGlobals = {
  localStorage: object;
  sessionStorage: object;
  document: {
    body: ElementLike;
    querySelectorAll(selector: string): Iterable<ElementLike> & { length: number };
    addEventListener(
      type: 'securitypolicyviolation',
      listener: (event: {
        effectiveDirective: string;
        blockedURI: string;
        sourceFile: string;
        lineNumber: number;
      }) => void,
    ): void;
  };
  __reportCspViolation: (text: string) => Promise<void>;
};

/** The keys in the page's localStorage and sessionStorage (where a token must never be, or only the refresh token). */
export const storageKeys = (page: Page): Promise<{ local: string[]; session: string[] }> =>
  page.evaluate(() => {
    const w = globalThis as unknown as PageGlobals;
    return { local: Object.keys(w.localStorage), session: Object.keys(w.sessionStorage) };
  });

/** The `attribute` of every element that matches `selector`, in document order. */
export const attributesOf = (page: Page, selector: string, attribute: string): Promise<Array<string | null>> =>
  page.evaluate(
    ([css, name]) =>
      [...(globalThis as unknown as PageGlobals).document.querySelectorAll(css)].map((element) =>
        element.getAttribute(name),
      ),
    [selector, attribute] as const,
  );

export type Problems = { console: string[]; page: string[]; csp: string[] };

/**
 * Records console errors, uncaught page errors and CSP violations (a securitypolicyviolation listener
 * installed before any page script runs, in every document the page loads).
 */
export const watchProblems = async (page: Page): Promise<Problems> => {
  const problems: Problems = { console: [], page: [], csp: [] };
  page.on('console', (message) => {
    if (message.type() === 'error') problems.console.push(message.text());
  });
  page.on('pageerror', (error) => problems.page.push(error.message));
  await page.exposeFunction('__reportCspViolation', (text: string) => problems.csp.push(text));
  await page.addInitScript(() => {
    const w = globalThis as unknown as PageGlobals;
    w.document.addEventListener('securitypolicyviolation', (event) => {
      void w.__reportCspViolation(
        `${event.effectiveDirective} blocked ${event.blockedURI || 'inline'} at ${event.sourceFile}:${event.lineNumber}`,
      );
    });
  });
  return problems;
};

/** Waits until the element's trimmed text satisfies check (or times out with what it last saw). */
export const waitForText = async (
  page: Page,
  selector: string,
  check: (text: string) => boolean,
  timeoutMs = 5_000,
): Promise<string> => {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    last = (
      (await page
        .locator(selector)
        .first()
        .textContent({ timeout: timeoutMs })
        .catch(() => '')) ?? ''
    ).trim();
    if (check(last)) return last;
    await page.waitForTimeout(50);
  }
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for the text of ${selector}; last seen: ${JSON.stringify(last)}`,
  );
};

/** A datetime-local input value `seconds` from now, in the browser's own time zone. */
export const localDateTimeIn = (page: Page, seconds: number): Promise<string> =>
  // a string, not a function: tsx would wrap an inner arrow function in a helper the page does not have
  page.evaluate(`(() => {
    const d = new Date(Date.now() + ${seconds * 1000});
    const p = (n) => String(n).padStart(2, '0');
    return d.getFullYear() + '-' + p(d.getMonth() + 1) + '-' + p(d.getDate()) + 'T' + p(d.getHours()) + ':' +
      p(d.getMinutes()) + ':' + p(d.getSeconds());
  })()`);
