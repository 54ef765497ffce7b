// Projections page (admins): every read model with its position, lag in events and time, state
// (live, rebuilding with progress, failed with the error) and a Rebuild button per row, which starts a
// blue/green rebuild (POST /api/projections/{name}/rebuild). Refreshed every 2 s while a rebuild runs.
import { api } from './api.js';
import { $, clear, h, say } from './dom.js';
import { describeError } from './errors.js';
import { formatDuration, formatNumber, onLangChange, t } from './i18n.js';

const POLL_MS = 2_000;
/** the console's existing colours: green, amber, red */
const BADGE = { live: 'state-running', rebuilding: 'circuit-half_open', failed: 'outcome-failure' };

export const createProjectionsPage = () => {
  const view = $('#view-projections');
  const body = $('#projections-list');
  const message = $('#projections-message');
  let rows = null;
  let shown = false;
  let timer = null;

  const setTitle = () => {
    if (shown) document.title = `${t('projections.title')} · ${t('app.title')}`;
  };

  const stateCell = (p) => {
    const badge = h('span', { class: `badge ${BADGE[p.state] ?? ''}` }, t(`projections.state.${p.state}`));
    const detail = [];
    if (p.rebuild)
      detail.push(
        h(
          'div',
          { class: 'small' },
          p.rebuild.active || p.state === 'failed'
            ? t('projections.progress', {
                done: formatNumber(p.rebuild.done),
                total: formatNumber(p.rebuild.total),
                percent: p.rebuild.percent,
              })
            : t('projections.interrupted'),
        ),
      );
    if (p.state === 'failed' && p.error) detail.push(h('div', { class: 'small muted' }, p.error));
    return h('td', {}, badge, ...detail);
  };

  const render = () => {
    if (!rows) return;
    $('#projections-empty').hidden = rows.length > 0;
    clear(body).append(
      ...rows.map((p) =>
        h(
          'tr',
          { 'data-projection': p.name, 'data-state': p.state },
          h('th', { scope: 'row' }, p.name),
          stateCell(p),
          h('td', { class: 'num' }, formatNumber(p.position)),
          h('td', { class: 'num' }, formatNumber(p.lagEvents)),
          h('td', { class: 'num' }, formatDuration(p.lagMs / 1000)),
          h('td', { class: 'num' }, formatNumber(p.eventsApplied)),
          h(
            'td',
            {},
            h(
              'button',
              {
                type: 'button',
                class: 'btn btn-small',
                'data-rebuild': p.name,
                'aria-label': t('projections.rebuildRow', { name: p.name }),
                disabled: p.rebuild?.active === true,
              },
              t('projections.rebuild'),
            ),
          ),
        ),
      ),
    );
  };

  const schedule = () => {
    clearTimeout(timer);
    timer = null;
    if (shown && rows?.some((p) => p.rebuild)) timer = setTimeout(() => void load(), POLL_MS);
  };

  const load = async () => {
    try {
      rows = (await api('/api/projections')).projections;
      render();
    } catch (error) {
      say(message, describeError(error));
    }
    schedule();
  };

  body.addEventListener('click', async (event) => {
    const button = event.target.closest('button[data-rebuild]');
    if (!button) return;
    const name = button.dataset.rebuild;
    button.disabled = true;
    try {
      await api(`/api/projections/${encodeURIComponent(name)}/rebuild`, { method: 'POST', body: {} });
      say(message, t('projections.started', { name }), 'ok');
    } catch (error) {
      say(message, describeError(error));
    }
    await load();
    // the state may take a moment to show: look again shortly even if nothing showed yet
    if (!timer && shown) timer = setTimeout(() => void load(), POLL_MS);
    $(`#projections-list button[data-rebuild="${CSS.escape(name)}"]`)?.focus();
  });
  $('#projections-reload').addEventListener('click', () => void load());
  onLangChange(() => {
    render();
    setTitle();
  });

  return {
    async show() {
      shown = true;
      say(message, '');
      setTitle();
      await load();
      view.querySelector('h1').focus();
    },
    hide() {
      shown = false;
      clearTimeout(timer);
      timer = null;
    },
  };
};
