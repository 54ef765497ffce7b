// Audit (admin): GET /api/audit pages (newest first, "load more" follows next_cursor) and the NDJSON
// export; each row links to its event and its causal chain on the Events page. The export needs the
// bearer header, so it is fetched here and handed to the browser as a Blob URL.
import { api, apiRaw } from './api.js';
import { $, clear, h, say } from './dom.js';
import { describeError } from './errors.js';
import { formatDateTime, has, onLangChange, t } from './i18n.js';
import { chainLink, eventLink } from './events.js';
import { loadNames, who } from './people.js';

const PAGE_SIZE = 50;
const FILTERS = ['actor', 'action', 'correlation_id'];

export const createAuditPage = () => {
  const form = $('#audit-form');
  const message = $('#audit-message');
  const list = $('#audit-list');
  const more = $('#audit-more');
  const download = $('#audit-download');
  let entries = [];
  let cursor = null;
  let filters = {};

  const query = (extra) => {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries({ ...filters, ...extra })) if (value) params.set(key, value);
    return params.toString();
  };

  const render = () => {
    clear(list).append(
      ...entries.map((e) =>
        h(
          'tr',
          { 'data-action': e.action },
          h('td', { class: 'nowrap' }, formatDateTime(e.occurred_at)),
          h('td', { class: 'truncate' }, who(e.actor)),
          h('td', {}, h('code', {}, e.action)),
          h('td', { class: 'truncate' }, e.target ? who(e.target) : t('common.none')),
          h(
            'td',
            {},
            h(
              'span',
              { class: `badge outcome-${e.outcome}` },
              has(`outcome.${e.outcome}`) ? t(`outcome.${e.outcome}`) : e.outcome,
            ),
          ),
          h('td', { class: 'nowrap' }, e.ip ?? t('common.none')),
          h(
            'td',
            { class: 'truncate' },
            h(
              'a',
              {
                href: chainLink(e.correlation_id),
                title: e.correlation_id,
                'aria-label': t('audit.openChain', {
                  id: e.correlation_id,
                  action: e.action,
                  time: formatDateTime(e.occurred_at),
                }),
                'data-link': 'chain',
              },
              h('code', {}, e.correlation_id),
            ),
          ),
          h(
            'td',
            { class: 'nowrap' },
            h(
              'a',
              {
                href: eventLink(e.event_id),
                'aria-label': t('audit.openEvent', { action: e.action, time: formatDateTime(e.occurred_at) }),
                'data-link': 'event',
              },
              t('audit.event'),
            ),
          ),
        ),
      ),
    );
    $('#audit-empty').hidden = entries.length > 0;
    $('#audit-count').textContent = entries.length > 0 ? t('audit.count', { n: entries.length }) : '';
    more.hidden = cursor === null;
  };

  const load = async (append) => {
    more.disabled = true;
    try {
      await loadNames();
      const page = await api(
        `/api/audit?${query({ limit: String(PAGE_SIZE), ...(append && cursor ? { cursor } : {}) })}`,
      );
      entries = append ? entries.concat(page.entries) : page.entries;
      cursor = page.next_cursor;
      say(message, '');
    } catch (error) {
      if (!append) entries = [];
      cursor = null;
      say(message, describeError(error));
    } finally {
      more.disabled = false;
      render();
    }
  };

  const readFilters = () => {
    const data = new FormData(form);
    filters = Object.fromEntries(
      FILTERS.map((name) => [name, String(data.get(name) ?? '').trim()]).filter(([, value]) => value !== ''),
    );
  };

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    readFilters();
    void load(false);
  });
  form.addEventListener('reset', () => {
    filters = {};
    // after the browser has emptied the fields
    setTimeout(() => void load(false), 0);
  });
  more.addEventListener('click', () => void load(true));

  download.addEventListener('click', async () => {
    download.disabled = true;
    say(message, t('audit.downloading'), 'info');
    try {
      readFilters();
      const response = await apiRaw(`/api/audit?${query({ format: 'ndjson' })}`, { accept: 'application/x-ndjson' });
      const blob = await response.blob();
      const name = /filename="([^"]+)"/.exec(response.headers.get('content-disposition') ?? '')?.[1] ?? 'audit.ndjson';
      const url = URL.createObjectURL(blob);
      const link = h('a', { href: url, download: name, class: 'visually-hidden' }, name);
      document.body.append(link);
      link.click();
      link.remove();
      // the download has started from the URL; keep it a moment for slow browsers, then free the memory
      setTimeout(() => URL.revokeObjectURL(url), 30_000);
      say(message, t('audit.downloaded', { name }), 'ok');
    } catch (error) {
      say(message, describeError(error));
    } finally {
      download.disabled = false;
    }
  });

  onLangChange(render);

  return {
    /** params: filters from the URL (#/audit?correlation_id=...), e.g. a click on a live event */
    show(params) {
      const given = FILTERS.filter((name) => params.has(name));
      if (given.length > 0) {
        for (const name of FILTERS) form.elements.namedItem(name).value = params.get(name) ?? '';
      }
      readFilters();
      void load(false);
    },
  };
};
