// The API reference page (/api/docs): renders /api/openapi.json, which is generated from the routes'
// own zod schemas. Plain DOM (textContent only, no HTML from the document), no inline script or style.
import { DOCS_STRINGS } from './api-docs-i18n.js';

const STORAGE_KEY = 'chatbot.lang';
const METHODS = ['get', 'post', 'put', 'patch', 'delete'];

let lang = DOCS_STRINGS[localStorage.getItem(STORAGE_KEY)] ? localStorage.getItem(STORAGE_KEY) : 'es';
let documentCache = null;

const t = (key, values = {}) =>
  (DOCS_STRINGS[lang][key] ?? key).replace(/\{(\w+)\}/g, (_, name) => String(values[name] ?? ''));

const el = (tag, attributes = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (name === 'text') node.textContent = value;
    else node.setAttribute(name, value);
  }
  for (const child of children) if (child) node.append(child);
  return node;
};

const schemaText = (schema) => JSON.stringify(schema, null, 2);

const operationsOf = (doc) =>
  Object.entries(doc.paths ?? {}).flatMap(([path, item]) =>
    METHODS.filter((method) => item[method]).map((method) => ({ path, method, op: item[method] })),
  );

const parametersTable = (label, parameters) => {
  const table = el('table', { class: 'docs-table' });
  const head = el('tr');
  for (const key of ['docs.name', 'docs.in', 'docs.required', 'docs.schema', 'docs.description'])
    head.append(el('th', { scope: 'col', text: t(key) }));
  table.append(el('thead', {}, head));
  const body = el('tbody');
  for (const parameter of parameters) {
    body.append(
      el(
        'tr',
        {},
        el('td', {}, el('code', { text: parameter.name })),
        el('td', { text: parameter.in }),
        el('td', { text: t(parameter.required ? 'docs.yes' : 'docs.no') }),
        el('td', {}, el('code', { class: 'docs-inline-schema', text: JSON.stringify(parameter.schema ?? {}) })),
        el('td', { text: parameter.description ?? '' }),
      ),
    );
  }
  table.append(body);
  // Wide tables scroll inside a keyboard-reachable region on phones.
  return el('div', { class: 'docs-scroll', tabindex: '0', role: 'region', 'aria-label': label }, table);
};

const operationView = ({ path, method, op }) => {
  const name = `${method.toUpperCase()} ${path}`;
  const details = el('details', { class: 'docs-op', 'data-search': `${name} ${op.summary ?? ''}`.toLowerCase() });
  details.append(
    el(
      'summary',
      {},
      el('span', { class: `docs-method docs-method-${method}`, text: method.toUpperCase() }),
      el('code', { class: 'docs-path', text: path }),
      el('span', { class: 'docs-summary', text: op.summary ?? '' }),
    ),
  );
  details.append(el('p', { class: 'docs-auth', text: t(op.security ? 'docs.auth' : 'docs.public') }));
  if (op.parameters?.length) {
    details.append(el('h3', { text: t('docs.parameters') }));
    details.append(parametersTable(t('docs.parametersTable', { operation: name }), op.parameters));
  }
  const body = op.requestBody?.content?.['application/json'];
  if (body) {
    details.append(el('h3', { text: t(op.requestBody.required ? 'docs.body' : 'docs.bodyOptional') }));
    if (op.requestBody.description) details.append(el('p', { text: op.requestBody.description }));
    details.append(
      el(
        'pre',
        {
          class: 'docs-schema',
          tabindex: '0',
          role: 'region',
          'aria-label': t('docs.bodySchema', { operation: name }),
        },
        el('code', { text: schemaText(body.schema) }),
      ),
    );
  }
  details.append(el('h3', { text: t('docs.responses') }));
  const responses = el('ul', { class: 'docs-responses' });
  for (const [status, response] of Object.entries(op.responses ?? {}))
    responses.append(el('li', {}, el('code', { text: status }), ` ${response.description ?? ''}`));
  details.append(responses);
  return details;
};

const applyFilter = () => {
  const query = document.getElementById('docs-filter').value.trim().toLowerCase();
  const all = [...document.querySelectorAll('.docs-op')];
  let shown = 0;
  for (const node of all) {
    const visible = query === '' || node.dataset.search.includes(query);
    node.hidden = !visible;
    if (visible) shown += 1;
  }
  document.getElementById('docs-count').textContent = t('docs.count', { shown, total: all.length });
};

const render = () => {
  document.documentElement.lang = lang;
  for (const node of document.querySelectorAll('[data-i18n]')) node.textContent = t(node.dataset.i18n);
  for (const node of document.querySelectorAll('[data-i18n-aria-label]'))
    node.setAttribute('aria-label', t(node.dataset.i18nAriaLabel));
  for (const button of document.querySelectorAll('[data-lang]'))
    button.setAttribute('aria-pressed', String(button.dataset.lang === lang));
  document.title = t('docs.title');
  if (!documentCache) return;
  document.getElementById('docs-intro').textContent = documentCache.info?.description ?? '';
  const container = document.getElementById('docs-operations');
  container.replaceChildren(...operationsOf(documentCache).map(operationView));
  applyFilter();
};

const load = async () => {
  const response = await fetch('/api/openapi.json', { headers: { accept: 'application/json' } });
  if (!response.ok) {
    const error = document.getElementById('docs-error');
    error.textContent = t('docs.loadFailed', { status: response.status });
    error.hidden = false;
    return;
  }
  documentCache = await response.json();
  render();
};

for (const button of document.querySelectorAll('[data-lang]')) {
  button.addEventListener('click', () => {
    lang = button.dataset.lang;
    localStorage.setItem(STORAGE_KEY, lang);
    render();
  });
}
document.getElementById('docs-filter').addEventListener('input', applyFilter);
render();
document.getElementById('docs-title').focus();
await load();
