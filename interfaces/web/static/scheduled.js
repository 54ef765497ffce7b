// Scheduled messages: the list (GET /api/scheduled-messages, newest first, by state, refreshed while a
// pending one is shown so its firing appears), the form that schedules a text for a local date and time on
// one of the numbers (GET /api/numbers), and a cancel button per pending row, named by its row.
import { api } from './api.js';
import { $, clear, h, say } from './dom.js';
import { describeError } from './errors.js';
import { formatDateTime, formatNumber, onLangChange, t } from './i18n.js';

const REFRESH_MS = 1_500;
const PAGE = 50;
const E164 = /^\+?[1-9][\d\s().-]{7,20}$/;

/** a datetime-local value for a Date, in this browser's zone, to the second */
const localValue = (date) => {
  const pad = (n) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
};

export const createScheduledPage = () => {
  const view = $('#view-scheduled');
  const message = $('#scheduled-message');
  const form = $('#scheduled-form');
  const list = $('#scheduled-list');
  const stateFilter = $('#scheduled-state');
  const numberSelect = $('#scheduled-number');
  const more = $('#scheduled-more');
  let rows = [];
  let nextCursor = null;
  let timer = null;
  let visible = false;
  /** the last thing said in the message line, said again in the new language */
  let said = null;

  const tell = (key, params, kind) => {
    said = { key, params, kind };
    say(message, t(key, params), kind);
  };
  // A refused form is said in the page's own words (the server's text names JSON paths, in English).
  const describe = (error) => (error?.code === 'validation_failed' ? t('scheduled.invalid') : describeError(error));
  const tellError = (error) => {
    said = { error };
    say(message, describe(error));
  };
  const retell = () => {
    if (!said) return;
    if (said.error) say(message, describe(said.error));
    else say(message, t(said.key, said.params), said.kind);
  };

  const setTitle = () => {
    if (visible) document.title = `${t('scheduled.title')} · ${t('app.title')}`;
  };

  const renderRow = (s) => {
    const at = formatDateTime(s.at);
    const cancel =
      s.state === 'pending'
        ? h(
            'button',
            {
              type: 'button',
              class: 'btn btn-small btn-danger',
              'data-cancel': s.scheduleId,
              'aria-label': t('scheduled.cancelLabel', { to: s.to, at }),
              onclick: () => void cancelRow(s),
            },
            t('scheduled.cancel'),
          )
        : null;
    return h(
      'tr',
      { 'data-schedule': s.scheduleId, 'data-state': s.state },
      h('td', { class: 'nowrap' }, at),
      h('td', { class: 'nowrap' }, s.to),
      h('td', { class: 'truncate' }, s.text ?? `[${s.template?.name ?? ''}]`),
      h('td', {}, s.numberId),
      h(
        'td',
        {},
        h('span', { class: `badge scheduled-${s.state}`, title: s.errorCode ?? null }, t(`scheduled.state.${s.state}`)),
      ),
      h(
        'td',
        { class: 'nowrap' },
        s.firedAt ? formatDateTime(s.firedAt) : '—',
        s.lateMs !== null
          ? h('span', { class: 'muted small' }, ` (${t('scheduled.late', { ms: formatNumber(s.lateMs) })})`)
          : null,
      ),
      h('td', { class: 'actions' }, cancel),
    );
  };

  const render = () => {
    clear(list).append(...rows.map(renderRow));
    $('#scheduled-empty').hidden = rows.length > 0;
    more.hidden = nextCursor === null;
  };

  const query = (cursor) => {
    const params = new URLSearchParams({ limit: String(PAGE) });
    if (stateFilter.value) params.set('state', stateFilter.value);
    if (cursor) params.set('cursor', cursor);
    return `/api/scheduled-messages?${params}`;
  };

  /** reads the first page again (keeping as many rows as were loaded) */
  const load = async () => {
    const page = await api(query(null));
    rows = page.scheduledMessages;
    nextCursor = page.nextCursor;
    render();
  };

  /** reads the list until check(rows) holds, for about 3 s at most (the read model trails the event) */
  const reloadUntil = async (check) => {
    for (let i = 0; i < 10; i++) {
      await load();
      if (check(rows)) return;
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
  };

  const schedulePoll = () => {
    clearTimeout(timer);
    timer = null;
    // Pending rows change by themselves (they fire): read again while the view shows one.
    if (visible && rows.some((s) => s.state === 'pending'))
      timer = setTimeout(() => {
        load()
          .catch(() => undefined)
          .finally(schedulePoll);
      }, REFRESH_MS);
  };

  const loadNumbers = async () => {
    const { numbers } = await api('/api/numbers');
    const selected = numberSelect.value;
    clear(numberSelect).append(
      ...numbers
        .filter((n) => n.status === 'active')
        .map((n) =>
          h('option', { value: n.numberId }, n.name === n.numberId ? n.numberId : `${n.name} (${n.numberId})`),
        ),
    );
    if ([...numberSelect.options].some((o) => o.value === selected)) numberSelect.value = selected;
  };

  const zoneHint = () => {
    const zone = Intl.DateTimeFormat().resolvedOptions().timeZone ?? 'UTC';
    $('#scheduled-at-hint').textContent = t('scheduled.atHint', { zone });
  };

  /** aria-invalid, and the message line that says why added to the field's description */
  const markInvalid = (input, invalid) => {
    input.dataset.hint ??= input.getAttribute('aria-describedby') ?? '';
    const described = [input.dataset.hint, invalid ? 'scheduled-message' : ''].filter(Boolean).join(' ');
    if (described) input.setAttribute('aria-describedby', described);
    else input.removeAttribute('aria-describedby');
    if (invalid) input.setAttribute('aria-invalid', 'true');
    else input.removeAttribute('aria-invalid');
  };

  const cancelRow = async (s) => {
    // the row's button goes away either way: focus moves to the list it was in
    const wrap = view.querySelector('.table-wrap');
    try {
      await api(`/api/scheduled-messages/${encodeURIComponent(s.scheduleId)}`, { method: 'DELETE' });
      tell('scheduled.cancelled', { to: s.to }, 'ok');
      s.state = 'cancelled';
      render();
      wrap.focus();
      await reloadUntil((now) => !now.some((r) => r.scheduleId === s.scheduleId && r.state === 'pending'));
    } catch (error) {
      tellError(error);
      await load().catch(() => undefined);
      wrap.focus();
    }
    schedulePoll();
  };

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const f = form.elements;
    const to = f.to.value.trim();
    const text = f.text.value;
    const at = f.at.value ? new Date(f.at.value) : null;
    const badTo = !E164.test(to);
    const badText = text.trim() === '';
    const badAt = at === null || Number.isNaN(at.getTime()) || at.getTime() <= Date.now();
    markInvalid(f.to, badTo);
    markInvalid(f.text, badText);
    markInvalid(f.at, badAt);
    const invalid = [
      [badTo, f.to, 'scheduled.badTo'],
      [badText, f.text, 'scheduled.badText'],
      [badAt, f.at, 'scheduled.badAt'],
    ].find(([bad]) => bad);
    if (invalid) {
      tell(invalid[2], {}, 'error');
      invalid[1].focus();
      return;
    }
    const submit = form.querySelector('button[type=submit]');
    submit.disabled = true;
    try {
      const body = { to, text, at: at.toISOString() };
      if (numberSelect.value) body.number = numberSelect.value;
      const created = await api('/api/scheduled-messages', { method: 'POST', body });
      tell('scheduled.created', { at: formatDateTime(created.at) }, 'ok');
      f.text.value = '';
      await reloadUntil((now) => stateFilter.value !== '' || now.some((r) => r.scheduleId === created.id));
      schedulePoll();
    } catch (error) {
      tellError(error);
    } finally {
      submit.disabled = false;
      submit.focus();
    }
  });

  stateFilter.addEventListener('change', () => {
    load()
      .then(schedulePoll)
      .catch((error) => tellError(error));
  });
  more.addEventListener('click', async () => {
    try {
      const page = await api(query(nextCursor));
      rows = [...rows, ...page.scheduledMessages];
      nextCursor = page.nextCursor;
      render();
    } catch (error) {
      tellError(error);
    }
    (more.hidden ? view.querySelector('.table-wrap') : more).focus();
  });
  $('#scheduled-reload').addEventListener('click', () => {
    load()
      .then(schedulePoll)
      .catch((error) => tellError(error));
  });
  onLangChange(() => {
    render();
    zoneHint();
    retell();
    setTitle();
  });

  return {
    async show() {
      visible = true;
      said = null;
      say(message, '');
      setTitle();
      zoneHint();
      if (!form.elements.at.value) form.elements.at.value = localValue(new Date(Date.now() + 10 * 60_000));
      try {
        await Promise.all([loadNumbers(), load()]);
      } catch (error) {
        tellError(error);
      }
      schedulePoll();
      $('#view-scheduled h1').focus();
    },
    hide() {
      if (visible) document.title = t('app.title');
      visible = false;
      clearTimeout(timer);
      timer = null;
    },
    reset() {
      rows = [];
      nextCursor = null;
      said = null;
      form.reset();
      render();
    },
  };
};
