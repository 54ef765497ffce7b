import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'chai';
import { ROLES } from '#domain/identity/events.js';
import { AUDIT_OUTCOMES } from '#projections/audit/auditEntries.js';
import { MetricsSnapshotSchema } from '#interfaces/ws/messages.js';
import { WEB_STATIC_DIR } from '#interfaces/web/webRoutes.js';

type Catalogue = Record<'es' | 'en', Record<string, string>>;

// Runs without a browser: a missing translation would show its key on screen in one language only.
describe('console translations (Spanish and English)', () => {
  let catalogue: Catalogue;
  before(async () => {
    ({ catalogue } = (await import(join(WEB_STATIC_DIR, 'i18n.js'))) as { catalogue: Catalogue });
  });

  const placeholders = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

  it('has the same keys, and the same {placeholders} in each, in both languages', () => {
    expect(Object.keys(catalogue.en).sort()).to.deep.equal(Object.keys(catalogue.es).sort());
    for (const [key, text] of Object.entries(catalogue.es))
      expect(placeholders(catalogue.en[key]!), key).to.deep.equal(placeholders(text));
  });

  /** Every key the static files name (data-i18n attributes and t('...') calls), per page. */
  const keysUsedBy = async (isPageFile: (name: string) => boolean): Promise<Set<string>> => {
    const files = (await readdir(WEB_STATIC_DIR)).filter((name) => /\.(html|js)$/.test(name) && isPageFile(name));
    const used = new Set<string>();
    for (const name of files) {
      const source = await readFile(join(WEB_STATIC_DIR, name), 'utf8');
      // eslint-disable-next-line security/detect-unsafe-regex -- runs on our own static files
      for (const m of source.matchAll(/data-i18n(?:-[a-z-]+)?="([^"]+)"/g)) used.add(m[1]!);
      for (const m of source.matchAll(/\bt\('([a-zA-Z_.]+)'/g)) used.add(m[1]!);
    }
    return used;
  };
  // /api/docs is a page of its own with its own catalogue (api-docs-i18n.js)
  const isApiDocs = (name: string) => name.startsWith('api-docs');

  it('has every key the page and the scripts name', async () => {
    const used = await keysUsedBy((name) => name !== 'i18n.js' && !isApiDocs(name));
    expect(used.size).to.be.above(50);
    expect([...used].filter((key) => !(key in catalogue.es))).to.deep.equal([]);
  });

  it('the API reference page (/api/docs) has every key it names, in both languages', async () => {
    const { DOCS_STRINGS } = (await import(join(WEB_STATIC_DIR, 'api-docs-i18n.js'))) as { DOCS_STRINGS: Catalogue };
    expect(Object.keys(DOCS_STRINGS.en).sort()).to.deep.equal(Object.keys(DOCS_STRINGS.es).sort());
    const used = await keysUsedBy((name) => isApiDocs(name) && name !== 'api-docs-i18n.js');
    expect(used.size).to.be.above(5);
    expect([...used].filter((key) => !(key in DOCS_STRINGS.es))).to.deep.equal([]);
  });

  it('names every role, account status, audit outcome, process state and circuit state the API can send', () => {
    const shape = MetricsSnapshotSchema.shape;
    const states = shape.processes.element.shape.state.options;
    const circuits = shape.llm.element.shape.circuit.options;
    const expected = [
      ...ROLES.map((r) => `role.${r}`),
      ...['active', 'disabled', 'locked'].map((s) => `status.${s}`),
      ...AUDIT_OUTCOMES.map((o) => `outcome.${o}`),
      ...states.map((s) => `state.${s}`),
      ...circuits.map((c) => `circuit.${c}`),
      ...['invalid_credentials', 'account_locked', 'rate_limited', 'unavailable', 'network'].map((c) => `error.${c}`),
    ];
    expect(expected.filter((key) => !(key in catalogue.es))).to.deep.equal([]);
  });
});
