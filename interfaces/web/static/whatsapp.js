// WhatsApp page: each number with its kind, connection and runtime state, start/stop/restart/logout
// (admins; a request is an event, the worker holding the number obeys and the row follows its outcome),
// QR pairing for web numbers (GET /api/numbers/{id}/pairing), dead letters with retry/drop, and the
// processes with their heartbeats (admins). Figures refresh every few seconds while the page is shown.
import { api, isAdmin } from './api.js';
import { $, clear, h, printable, say } from './dom.js';
import { describeError } from './errors.js';
import { formatDateTime, formatDuration, formatNumber, formatTime, has, onLangChange, t } from './i18n.js';

const REFRESH_MS = 3_000;
const PAIRING_POLL_MS = 2_000;
const ACTIONS = ['start', 'stop', 'restart', 'logout'];

/** An SVG as an <img> source: images never run scripts, and data: URLs are what the CSP allows for img-src. */
const svgSource = (svg) => `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`;

export const createWhatsAppPage = () => {
  const view = $('#view-whatsapp');
  const message = $('#wa-message');
  const numbersBody = $('#wa-numbers');
  const deadBody = $('#wa-dead');
  const processesBody = $('#wa-processes');
  const pairingCard = $('#wa-pairing-card');
  let status = null;
  let deadLetters = [];
  let processes = [];
  let timer = null;
  let visible = false;
  /** the request the message talks about: { requestId, numberId, action } */
  let watching = null;
  let pairing = null; // { numberId, name, data, timer, unavailable }

  /**
   * Rebuilds a table body keeping keyboard focus: the periodic refresh replaces the rows, so a focused
   * row button is found again by its row and action and focused again.
   */
  const keepFocus = (body, rowAttribute, rebuild) => {
    const active = document.activeElement;
    const row = active && body.contains(active) ? active.closest(`tr[${rowAttribute}]`) : null;
    const key = row?.getAttribute(rowAttribute);
    const action = active?.getAttribute?.('data-action');
    rebuild();
    if (key && action)
      body
        .querySelector(`tr[${rowAttribute}="${CSS.escape(key)}"] button[data-action="${CSS.escape(action)}"]`)
        ?.focus();
  };

  const nameOf = (numberId) => printable(status?.numbers.find((n) => n.numberId === numberId)?.name ?? numberId);
  const actionName = (action) => t(`wa.action.${action}`);
  const setTitle = () => {
    if (visible) document.title = `${t('wa.title')} · ${t('app.title')}`;
  };

  // ---- numbers --------------------------------------------------------------------------------
  const requestCell = (runtime) => {
    const last = runtime?.lastRequest;
    if (!last) return h('td', {}, t('wa.request.none'));
    return h(
      'td',
      { class: 'nowrap', 'data-request-status': last.status },
      t('wa.request.line', { action: actionName(last.action), status: t(`wa.request.status.${last.status}`) }),
      h('br'),
      h('span', { class: 'muted small' }, formatTime(last.resolvedAt ?? last.requestedAt)),
    );
  };

  const numberButtons = (n) => {
    if (!isAdmin()) return null;
    const name = printable(n.name);
    const button = (action, extra = {}) =>
      h(
        'button',
        {
          type: 'button',
          class: `btn btn-small${action === 'logout' ? ' btn-danger' : ''}`,
          'data-action': action,
          'aria-label': t('wa.action.label', { action: actionName(action), number: name }),
          disabled: n.status !== 'active',
          onclick: () => (action === 'pair' ? openPairing(n) : void ask(n, action)),
          ...extra,
        },
        actionName(action),
      );
    return h(
      'div',
      { class: 'actions' },
      ACTIONS.map((action) => button(action)),
      n.kind === 'web' ? button('pair') : null,
    );
  };

  const connectionLabel = (connection) =>
    has(`wa.connection.${connection}`) ? t(`wa.connection.${connection}`) : printable(connection);

  const renderNumbers = () => {
    const numbers = status?.numbers ?? [];
    keepFocus(numbersBody, 'data-number', () =>
      clear(numbersBody).append(
        ...numbers.map((n) => {
          const runtime = n.runtime ?? { state: 'running', desired: 'running', lastRequest: null };
          return h(
            'tr',
            { 'data-number': n.numberId, 'data-runtime': runtime.state, 'data-connection': n.connection },
            h('td', {}, h('strong', {}, printable(n.name)), h('br'), h('span', { class: 'muted small' }, n.numberId)),
            h('td', {}, has(`wa.kind.${n.kind}`) ? t(`wa.kind.${n.kind}`) : printable(n.kind)),
            h('td', {}, connectionLabel(n.connection)),
            h(
              'td',
              {},
              h('span', { class: `badge state-${runtime.state}` }, t(`state.${runtime.state}`)),
              runtime.desired !== runtime.state
                ? h('span', { class: 'muted small' }, ` ${t('wa.desired', { state: t(`state.${runtime.desired}`) })}`)
                : null,
            ),
            requestCell(runtime),
            h('td', { class: 'num' }, formatNumber(n.queueDepth)),
            h('td', { class: 'num' }, formatNumber(n.deadLetters)),
            h('td', {}, numberButtons(n)),
          );
        }),
      ),
    );
    $('#wa-numbers-empty').hidden = numbers.length > 0;
  };

  const followRequest = () => {
    if (!watching || !status) return;
    const n = status.numbers.find((x) => x.numberId === watching.numberId);
    const last = n?.runtime?.lastRequest;
    if (!last || last.requestId !== watching.requestId || last.status === 'pending') return;
    const number = nameOf(watching.numberId);
    const action = actionName(watching.action);
    if (last.status === 'completed')
      say(message, t('wa.done', { number, action, outcome: t(`wa.outcome.${last.outcome}`) }), 'ok');
    else if (last.status === 'failed')
      say(message, t('wa.failed', { number, action, error: printable(last.error ?? '') }));
    else say(message, t('wa.timedOut', { number }));
    watching = null;
  };

  const ask = async (n, action) => {
    if (action === 'logout' && !window.confirm(t('wa.confirmLogout', { number: printable(n.name) }))) return;
    try {
      const answer = await api(`/api/numbers/${encodeURIComponent(n.numberId)}/runtime/${action}`, { method: 'POST' });
      watching = { requestId: answer.requestId, numberId: n.numberId, action };
      say(message, t('wa.requested', { action: actionName(action), number: printable(n.name) }), 'info');
      await refresh();
    } catch (error) {
      say(message, describeError(error));
    }
  };

  // ---- pairing ----------------------------------------------------------------------------------
  const renderPairing = () => {
    if (!pairing) {
      pairingCard.hidden = true;
      return;
    }
    pairingCard.hidden = false;
    $('#wa-pairing-title').textContent = t('wa.pairing', { number: pairing.name });
    const qr = clear($('#wa-qr'));
    const code = $('#wa-pairing-code');
    const expires = $('#wa-pairing-expires');
    code.textContent = '';
    expires.textContent = '';
    if (pairing.unavailable) {
      $('#wa-pairing-state').textContent = t('wa.pairingNotAvailable');
      return;
    }
    const data = pairing.data;
    if (!data) return;
    $('#wa-pairing-state').textContent = t(`wa.pairingState.${data.state}`, {
      attempt: data.attempt,
      maxAttempts: data.maxAttempts,
    });
    if (data.state === 'qr') {
      if (typeof data.svg === 'string' && data.svg !== '')
        qr.append(
          h('img', {
            class: 'qr-image',
            src: svgSource(data.svg),
            alt: t('wa.qrAlt', { number: pairing.name }),
            width: 264,
            height: 264,
          }),
        );
      else qr.append(h('p', { class: 'muted' }, t('wa.qrNoImage')));
    }
    if (data.state === 'code' && data.pairingCode) code.textContent = data.pairingCode;
    if ((data.state === 'qr' || data.state === 'code') && data.expiresAt)
      expires.textContent = t('wa.pairingExpires', { time: formatTime(data.expiresAt) });
  };

  const stopPairingPoll = () => {
    if (pairing?.timer) clearTimeout(pairing.timer);
    if (pairing) pairing.timer = null;
  };

  const pollPairing = async () => {
    const current = pairing;
    if (!current) return;
    try {
      current.data = await api(`/api/numbers/${encodeURIComponent(current.numberId)}/pairing`);
      current.unavailable = false;
    } catch (error) {
      if (error?.status === 404 && error.code === 'not_found') current.unavailable = true;
      else say(message, describeError(error));
    }
    if (pairing !== current) return;
    renderPairing();
    // keep asking while the panel is open and the pairing is not settled: after a scan the number goes
    // through idle (baileys restarts and logs in) before it is connected, and an idle number that is
    // started gets its QR without a reload
    const live = current.data && current.data.state !== 'connected' && current.data.state !== 'expired';
    if (live && visible && !current.unavailable) current.timer = setTimeout(() => void pollPairing(), PAIRING_POLL_MS);
  };

  const openPairing = (n) => {
    stopPairingPoll();
    pairing = { numberId: n.numberId, name: printable(n.name), data: null, timer: null, unavailable: false };
    renderPairing();
    $('#wa-pairing-title').focus();
    void pollPairing();
  };

  $('#wa-pairing-close').addEventListener('click', () => {
    stopPairingPoll();
    pairing = null;
    renderPairing();
    $('#view-whatsapp h1').focus();
  });

  // ---- dead letters -----------------------------------------------------------------------------
  const resolveDead = async (letter, action) => {
    try {
      await api(`/api/whatsapp/dead-letters/${encodeURIComponent(letter.messageId)}/${action}`, { method: 'POST' });
      say(message, t(action === 'retry' ? 'wa.retried' : 'wa.dropped', { id: letter.messageId.slice(0, 8) }), 'ok');
      await refresh();
    } catch (error) {
      say(message, describeError(error));
    }
  };

  const renderDead = () => {
    keepFocus(deadBody, 'data-message', () =>
      clear(deadBody).append(
        ...deadLetters.map((d) => {
          const short = d.messageId.slice(0, 8);
          const to = printable(d.to);
          const button = (action) =>
            h(
              'button',
              {
                type: 'button',
                class: `btn btn-small${action === 'drop' ? ' btn-danger' : ''}`,
                'data-action': action,
                'aria-label': t('wa.deadLabel', { action: t(`wa.${action}`), id: short, to }),
                onclick: () => void resolveDead(d, action),
              },
              t(`wa.${action}`),
            );
          return h(
            'tr',
            { 'data-message': d.messageId },
            h('td', { class: 'nowrap' }, h('code', {}, short)),
            h('td', {}, printable(d.numberId)),
            h('td', {}, to),
            h('td', { class: 'num' }, formatNumber(d.attempts)),
            h('td', {}, printable([d.lastErrorCode, d.lastError].filter(Boolean).join(': ') || d.reason || '')),
            h('td', { class: 'nowrap' }, formatDateTime(d.deadAt)),
            h('td', {}, isAdmin() ? h('div', { class: 'actions' }, button('retry'), button('drop')) : null),
          );
        }),
      ),
    );
    $('#wa-dead-empty').hidden = deadLetters.length > 0;
  };

  // ---- processes --------------------------------------------------------------------------------
  const renderProcesses = () => {
    clear(processesBody).append(
      ...processes.map((p) => {
        const state = p.state === 'running' && !p.reporting ? 'unknown' : p.state;
        return h(
          'tr',
          { 'data-process': p.name, 'data-instance': p.instance, 'data-state': p.state },
          h('td', {}, h('strong', {}, p.name)),
          h('td', { class: 'nowrap' }, printable(p.instance)),
          h('td', {}, p.role),
          h('td', { class: 'num' }, String(p.pid)),
          h('td', {}, printable(p.host)),
          h('td', { class: 'nowrap' }, t('wa.heartbeatAge', { age: formatDuration(p.heartbeatAgeSeconds) })),
          h(
            'td',
            {},
            h(
              'span',
              { class: `badge state-${state}` },
              state === 'unknown' ? t('wa.notReporting') : t(`state.${state}`),
            ),
          ),
        );
      }),
    );
    $('#wa-processes-empty').hidden = processes.length > 0;
  };

  const render = () => {
    renderNumbers();
    renderDead();
    renderProcesses();
    renderPairing();
    setTitle();
  };

  // ---- data -------------------------------------------------------------------------------------
  const refresh = async () => {
    const admin = isAdmin();
    const [s, d, p] = await Promise.all([
      api('/api/whatsapp/status'),
      api('/api/whatsapp/dead-letters'),
      admin ? api('/api/admin/processes') : Promise.resolve({ processes: [] }),
    ]);
    status = s;
    deadLetters = d.deadLetters;
    processes = p.processes;
    renderNumbers();
    renderDead();
    renderProcesses();
    followRequest();
  };

  const schedule = () => {
    if (timer) clearTimeout(timer);
    timer = visible
      ? setTimeout(() => {
          refresh()
            .catch((error) => say(message, describeError(error)))
            .finally(schedule);
        }, REFRESH_MS)
      : null;
  };

  $('#wa-reload').addEventListener('click', () => refresh().catch((error) => say(message, describeError(error))));
  onLangChange(render);

  return {
    async show() {
      visible = true;
      setTitle();
      say(message, '');
      const admin = isAdmin();
      for (const el of view.querySelectorAll('[data-admin-only]')) el.hidden = !admin;
      $('#wa-admin-note').hidden = admin;
      try {
        await refresh();
      } catch (error) {
        say(message, describeError(error));
      }
      $('#view-whatsapp h1').focus();
      schedule();
      if (pairing) void pollPairing();
    },
    hide() {
      visible = false;
      if (timer) clearTimeout(timer);
      timer = null;
      stopPairingPoll();
    },
    reset() {
      status = null;
      deadLetters = [];
      processes = [];
      watching = null;
      stopPairingPoll();
      pairing = null;
      render();
    },
  };
};
