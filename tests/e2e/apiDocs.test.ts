import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { expect } from 'chai';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { openApiDocument } from '#interfaces/http/openapi.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { chromiumInstalled, launchChromium, SKIP_LINE, waitForText, watchProblems, type Problems } from './support.js';

type AxeResult = {
  violations: Array<{ id: string; impact: string; nodes: Array<{ target: string[] }> }>;
  passes: unknown[];
};
type DocsGlobals = {
  document: {
    querySelectorAll(selector: string): ArrayLike<{ hidden: boolean; textContent: string | null }>;
    activeElement: { id: string } | null;
    documentElement: { lang: string };
    title: string;
  };
};

const operationCount = Object.values(openApiDocument.paths).reduce(
  (count, item) =>
    count + Object.keys(item).filter((m) => ['get', 'post', 'put', 'patch', 'delete'].includes(m)).length,
  0,
);

describe('API reference page /api/docs in a real browser (Chromium, real app, strict CSP)', function () {
  this.timeout(120_000);
  let t: TestApp;
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
    t = await startTestApp();
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1280, height: 1000 }, locale: 'es-ES' });
    page = await context.newPage();
    problems = await watchProblems(page);
  });
  after(async () => {
    await context?.close();
    await browser?.close();
    await t?.close();
  });

  const axe = async (): Promise<Array<{ id: string; impact: string; nodes: Array<{ target: string[] }> }>> => {
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
  const visibleOperations = () =>
    page.evaluate(
      () =>
        [...Array.from((globalThis as unknown as DocsGlobals).document.querySelectorAll('.docs-op'))].filter(
          (n) => !n.hidden,
        ).length,
    );

  it('renders every operation of the document under the CSP, with no violation, error or axe finding, in Spanish and English', async () => {
    const response = await page.goto(`${t.baseUrl}/api/docs`);
    expect(response?.status()).to.equal(200);
    expect(response?.headers()['content-security-policy']).to.include("script-src 'self'");
    await waitForText(page, '#docs-count', (text) => text === `${operationCount} de ${operationCount} operaciones`);
    expect(await page.title()).to.equal('API del chatbot');
    expect(await page.evaluate(() => (globalThis as unknown as DocsGlobals).document.activeElement?.id)).to.equal(
      'docs-title',
    );
    // a body schema generated from zod is there, with its bounds
    await page.locator('details.docs-op', { hasText: '/api/auth/login' }).first().locator('summary').click();
    const schema = await page.locator('details.docs-op[open] .docs-schema').first().textContent();
    expect(JSON.parse(schema ?? '{}')).to.deep.include({
      additionalProperties: false,
      required: ['username', 'password'],
    });
    expect(await axe()).to.deep.equal([]);

    await page.getByRole('button', { name: 'EN' }).click();
    await waitForText(page, '#docs-count', (text) => text === `${operationCount} of ${operationCount} operations`);
    expect(await page.title()).to.equal('chatbot API');
    expect(await page.evaluate(() => (globalThis as unknown as DocsGlobals).document.documentElement.lang)).to.equal(
      'en',
    );

    await page.getByLabel('Filter by path or description').fill('/api/users');
    const shown = await visibleOperations();
    const expectedShown = Object.entries(openApiDocument.paths)
      .filter(([path]) => path.includes('/api/users'))
      .reduce((n, [, item]) => n + Object.keys(item).length, 0);
    expect(shown).to.equal(expectedShown);
    expect(await axe()).to.deep.equal([]);
    expect(problems).to.deep.equal({ console: [], page: [], csp: [] });
  });
});
