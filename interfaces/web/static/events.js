// Events page (admin): the explorer over GET /api/events (filters, cursor pages both ways), one event with
// its links (causation, correlation chain, stream), the causal-chain tree, the replay stepper over one
// stream (GET /api/streams/{id}/steps) and the state as of a moment (GET /api/streams/{id}/state?at=).
// Deep links: #/events?type=..&correlation_id=.., #/events?correlation=<id> (its chain),
// #/events/event/<id>, #/events/chain/<correlationId>, #/events/stream/<streamId>?revision=N&at=<ISO>.
import { api } from './api.js';
import { $, clear, h, say } from './dom.js';
import { describeError } from './errors.js';
import { formatDateTime, formatDuration, formatNumber, onLangChange, t } from './i18n.js';
import { loadNames, who } from './people.js';

const PAGE_SIZE = 50;
const FILTERS = ['from', 'to', 'type', 'stream', 'actor', 'correlation_id', 'direction'];
const PLAY_EVERY_MS = 1200;
const EVENT_TYPE = /^[A-Za-z][A-Za-z0-9_.-]{0,99}$/;
const CORRELATION = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[A-Za-z0-9._-]{8,64})$/i;

/** the hash of a view; segments are URI-encoded, params dropped when empty */
export const eventsLink = (segments = [], params = {}) => {
  const query = new URLSearchParams(
    Object.entries(params).filter(([, value]) => value !== undefined && value !== null && value !== ''),
  ).toString();
  const path = ['events', ...segments.map((s) => encodeURIComponent(String(s)))].join('/');
  return `#/${path}${query ? `?${query}` : ''}`;
};
export const eventLink = (id) => eventsLink(['event', id]);
export const chainLink = (correlationId) => eventsLink(['chain', correlationId]);
export const streamLink = (streamId, params = {}) => eventsLink(['stream', streamId], params);

/** "2026-03-01T10:00:00.000Z" -> "2026-03-01T11:00:00" (a datetime-local value, in local time) */
const toLocalInput = (iso) => {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return '';
  const pad = (n) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(
    date.getMinutes(),
  )}:${pad(date.getSeconds())}`;
};
/** a datetime-local value (local time) -> ISO, or null when it is not a time */
const fromLocalInput = (value) => {
  if (!value) return null;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
};

const json = (value) => JSON.stringify(value, null, 2);
const ms = (value) =>
  value === null || value === undefined
    ? t('common.none')
    : value < 1000
      ? `${formatNumber(value)} ms`
      : value < 60_000
        ? `${formatNumber(value / 1000, 2)} s`
        : formatDuration(value / 1000);

const field = (label, ...value) => [h('dt', {}, label), h('dd', {}, ...value)];
const actorOf = (actor) => (actor === 'system' ? t('ev.system') : who(actor));

export const createEventsPage = () => {
  const h1 = $('#ev-h1');
  const message = $('#ev-message');
  const parts = { list: $('#ev-list'), event: $('#ev-event'), chain: $('#ev-chain'), stream: $('#ev-stream') };
  const filtersForm = $('#ev-filters');
  const prevButton = $('#ev-prev');
  const nextButton = $('#ev-next');
  const playButton = $('#ev-step-play');

  /** what is on screen, so a language change can draw it again */
  let view = { part: 'list' };
  // explorer: the cursor each page started from (page 0 starts at the head), and the page shown
  let cursors = [null];
  let pageIndex = 0;
  let listPage = null;
  let filters = {};
  // stepper and as-of
  let streamId = null;
  let step = null;
  let asOf = null;
  let playTimer = null;
  let eventShown = null;
  let chainShown = null;

  const setHeading = (text) => {
    h1.textContent = text;
    document.title = t('ev.docTitle', { view: text });
  };
  const heading = () => {
    if (view.part === 'list') return t('ev.view.list');
    if (view.part === 'event')
      return eventShown ? t('ev.view.event', { type: eventShown.type }) : t('ev.view.eventLoading');
    if (view.part === 'chain') return t('ev.view.chain');
    return streamId ? t('ev.view.stream', { stream: streamId }) : t('ev.view.streamPick');
  };
  const showPart = (part) => {
    view = { part };
    for (const [name, el] of Object.entries(parts)) el.hidden = name !== part;
    for (const tab of document.querySelectorAll('#view-events [data-ev-tab]')) {
      const current = tab.dataset.evTab === (part === 'event' ? 'list' : part);
      if (current) tab.setAttribute('aria-current', 'page');
      else tab.removeAttribute('aria-current');
    }
    setHeading(heading());
  };
  // a refused filter is the page's own input: said in the page's words (the other codes by errors.js)
  const fail = (error) => say(message, error?.code === 'validation_failed' ? t('ev.badInput') : describeError(error));

  // ---------- explorer ----------
  const renderList = () => {
    const rows = listPage?.events ?? [];
    clear($('#ev-rows')).append(
      ...rows.map((e) =>
        h(
          'tr',
          { 'data-event-id': e.id, 'data-type': e.type },
          h('td', { class: 'num' }, String(e.position)),
          h('td', { class: 'nowrap' }, formatDateTime(e.occurredAt)),
          h(
            'td',
            {},
            h(
              'a',
              {
                href: eventLink(e.id),
                'aria-label': t('ev.openEvent', { type: e.type, time: formatDateTime(e.occurredAt) }),
              },
              h('code', {}, e.type),
            ),
          ),
          h(
            'td',
            { class: 'truncate' },
            h(
              'a',
              {
                href: streamLink(e.streamId, { revision: e.revision }),
                'aria-label': t('ev.openStream', { stream: `${e.streamId}@${e.revision}` }),
                title: e.streamId,
              },
              `${e.streamId}@${e.revision}`,
            ),
          ),
          h('td', { class: 'truncate' }, actorOf(e.metadata.actor)),
          h(
            'td',
            { class: 'truncate' },
            h(
              'a',
              {
                href: chainLink(e.metadata.correlationId),
                'aria-label': t('ev.openChain', { id: e.metadata.correlationId }),
                title: e.metadata.correlationId,
              },
              h('code', {}, e.metadata.correlationId),
            ),
          ),
        ),
      ),
    );
    $('#ev-empty').hidden = rows.length > 0 || listPage === null;
    $('#ev-count').textContent = listPage
      ? `${t('ev.scanned', { n: rows.length, scanned: listPage.scanned })} ${
          listPage.next_cursor === null ? t('ev.endOfLog') : rows.length < PAGE_SIZE ? t('ev.moreHint') : ''
        }`.trim()
      : '';
    prevButton.disabled = pageIndex === 0;
    nextButton.disabled = !listPage || listPage.next_cursor === null;
  };

  const loadList = async () => {
    prevButton.disabled = true;
    nextButton.disabled = true;
    try {
      await loadNames();
      const params = new URLSearchParams({ limit: String(PAGE_SIZE) });
      for (const [key, value] of Object.entries(filters)) if (value) params.set(key, value);
      const cursor = cursors[pageIndex];
      if (cursor) params.set('cursor', cursor);
      listPage = await api(`/api/events?${params}`);
      say(message, '');
    } catch (error) {
      listPage = null;
      fail(error);
    }
    renderList();
  };

  const fillFilters = (params) => {
    const f = filtersForm.elements;
    for (const name of FILTERS) {
      const value = params.get(name) ?? '';
      if (name === 'from' || name === 'to') f.namedItem(name).value = value ? toLocalInput(value) : '';
      else if (name === 'direction') f.namedItem(name).value = value === 'forward' ? 'forward' : 'backward';
      else f.namedItem(name).value = value;
    }
  };
  const readFilters = () => {
    const data = new FormData(filtersForm);
    const out = {};
    for (const name of FILTERS) {
      const raw = String(data.get(name) ?? '').trim();
      if (raw === '') continue;
      if (name === 'from' || name === 'to') {
        const iso = fromLocalInput(raw);
        if (iso === null) throw new Error('ev.badTime');
        out[name] = iso;
      } else if (name === 'direction') {
        if (raw === 'forward') out.direction = 'forward';
      } else out[name] = raw;
    }
    const problem =
      out.from && out.to && out.from > out.to
        ? 'ev.badRange'
        : out.type &&
            !out.type
              .split(',')
              .map((part) => part.trim())
              .every((part) => part === '' || EVENT_TYPE.test(part))
          ? 'ev.badType'
          : out.correlation_id && !CORRELATION.test(out.correlation_id)
            ? 'ev.badCorrelation'
            : null;
    if (problem) throw new Error(problem);
    return out;
  };

  const showList = (params) => {
    showPart('list');
    fillFilters(params);
    cursors = [null];
    pageIndex = 0;
    listPage = null;
    renderList();
    try {
      filters = readFilters();
    } catch (error) {
      // a hand-written link with a bad filter: say so, search nothing
      return say(message, t(error.message));
    }
    void loadList();
  };

  filtersForm.addEventListener('submit', (event) => {
    event.preventDefault();
    let wanted;
    try {
      wanted = readFilters();
    } catch (error) {
      return say(message, t(error.message));
    }
    const target = eventsLink([], wanted);
    if (location.hash === target) {
      filters = wanted;
      cursors = [null];
      pageIndex = 0;
      void loadList();
    } else location.hash = target;
  });
  filtersForm.addEventListener('reset', () => {
    // after the browser has emptied the fields
    setTimeout(() => {
      if (location.hash === '#/events') showList(new URLSearchParams());
      else location.hash = '#/events';
    }, 0);
  });
  prevButton.addEventListener('click', () => {
    if (pageIndex === 0) return;
    pageIndex -= 1;
    void loadList().then(() => prevButton.disabled || prevButton.focus());
  });
  nextButton.addEventListener('click', () => {
    if (!listPage?.next_cursor) return;
    cursors = cursors.slice(0, pageIndex + 1).concat(listPage.next_cursor);
    pageIndex += 1;
    void loadList().then(() => nextButton.disabled || nextButton.focus());
  });

  // ---------- one event ----------
  const eventItem = (e) =>
    h(
      'li',
      { class: 'ev-item' },
      h('a', { href: eventLink(e.id) }, h('code', {}, e.type)),
      ' ',
      h('span', { class: 'muted small' }, `${e.streamId}@${e.revision} · ${formatDateTime(e.occurredAt)}`),
    );
  const renderEvent = () => {
    const e = eventShown;
    if (!e) return;
    const m = e.metadata;
    clear($('#ev-event-fields')).append(
      ...field(t('ev.field.id'), h('code', {}, e.id)),
      ...field(t('ev.field.type'), h('code', {}, e.type)),
      ...field(
        t('ev.field.stream'),
        h('a', { href: streamLink(e.streamId, { revision: e.revision }) }, `${e.streamId}@${e.revision}`),
      ),
      ...field(t('ev.field.position'), String(e.position)),
      ...field(t('ev.field.occurredAt'), formatDateTime(e.occurredAt)),
      ...field(t('ev.field.recordedAt'), formatDateTime(e.recordedAt)),
      ...field(t('ev.field.actor'), actorOf(m.actor)),
      ...field(
        t('ev.field.origin'),
        m.ip || m.userAgent ? [m.ip ?? '', m.ip && m.userAgent ? ' · ' : '', m.userAgent ?? ''] : t('ev.unknownOrigin'),
      ),
      ...field(
        t('ev.field.cause'),
        m.causationId ? h('a', { href: eventLink(m.causationId) }, h('code', {}, m.causationId)) : t('ev.noCause'),
      ),
      ...field(t('ev.field.correlation'), h('a', { href: chainLink(m.correlationId) }, h('code', {}, m.correlationId))),
    );
    $('#ev-event-chain').setAttribute('href', chainLink(m.correlationId));
    $('#ev-event-stream').setAttribute('href', streamLink(e.streamId, { revision: e.revision }));
    $('#ev-event-data').textContent = json(e.data);
    $('#ev-event-meta').textContent = json(m);
    const list = (el, items) =>
      clear(el).append(...(items.length > 0 ? items.map(eventItem) : [h('li', { class: 'muted' }, t('ev.none'))]));
    list($('#ev-ancestors'), e.ancestors ?? []);
    list($('#ev-descendants'), e.descendants ?? []);
    setHeading(heading());
  };
  const showEvent = async (id) => {
    eventShown = null;
    showPart('event');
    clear($('#ev-event-fields'));
    $('#ev-event-data').textContent = '';
    $('#ev-event-meta').textContent = '';
    try {
      await loadNames();
      eventShown = await api(`/api/events/${encodeURIComponent(id)}?include=ancestors,descendants`);
      say(message, '');
      renderEvent();
    } catch (error) {
      fail(error);
    }
  };

  // ---------- causal chain ----------
  const chainForm = $('#ev-chain-form');
  const flatten = (nodes) => nodes.flatMap((node) => [node, ...flatten(node.children)]);
  /** the tree of a chain; each step says when it happened after the chain's start and after its cause */
  const treeOf = (nodes, start) =>
    h(
      'ul',
      { class: 'ev-tree' },
      ...nodes.map((node) =>
        h(
          'li',
          { 'data-event-id': node.id, 'data-type': node.type },
          h(
            'div',
            { class: 'ev-node' },
            h(
              'span',
              { class: 'pill ev-gap-pill' },
              node.gapMs === null ? t('ev.root') : t('ev.gap', { gap: ms(node.gapMs) }),
            ),
            h('a', { href: eventLink(node.id) }, h('code', {}, node.type)),
            h(
              'span',
              { class: 'ev-offset small' },
              t('ev.offset', { offset: ms(Date.parse(node.occurredAt) - start) }),
            ),
            h(
              'span',
              { class: 'muted small' },
              `${node.streamId}@${node.revision} · ${formatDateTime(node.occurredAt)} · `,
              actorOf(node.metadata.actor),
            ),
          ),
          node.children.length > 0 ? treeOf(node.children, start) : null,
        ),
      ),
    );
  const renderChain = () => {
    const card = $('#ev-chain-card');
    if (!chainShown) {
      card.hidden = true;
      return;
    }
    card.hidden = false;
    const all = flatten(chainShown.roots);
    const times = all.map((node) => Date.parse(node.occurredAt)).sort((a, b) => a - b);
    const start = times[0];
    const end = times[times.length - 1];
    $('#ev-chain-summary').textContent = t('ev.chainSummary', {
      n: chainShown.count,
      id: chainShown.correlationId,
      start: formatDateTime(new Date(start).toISOString()),
      end: formatDateTime(new Date(end).toISOString()),
      total: ms(end - start),
    });
    $('#ev-chain-incomplete').hidden = chainShown.complete;
    const tree = treeOf(chainShown.roots, start);
    tree.id = 'ev-tree';
    $('#ev-tree').replaceWith(tree);
  };
  const showChain = async (correlationId) => {
    chainShown = null;
    showPart('chain');
    chainForm.elements.namedItem('correlation').value = correlationId ?? '';
    renderChain();
    if (!correlationId) return;
    if (!CORRELATION.test(correlationId)) return say(message, t('ev.badCorrelation'));
    try {
      await loadNames();
      chainShown = await api(`/api/events/chain/${encodeURIComponent(correlationId)}`);
      say(message, '');
    } catch (error) {
      fail(error);
    }
    renderChain();
  };
  chainForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const id = String(chainForm.elements.namedItem('correlation').value).trim();
    if (!CORRELATION.test(id)) return say(message, t('ev.badCorrelation'));
    const target = chainLink(id);
    if (location.hash === target) void showChain(id);
    else location.hash = target;
  });

  // ---------- stream: stepper and as of ----------
  const streamForm = $('#ev-stream-form');
  const asOfForm = $('#ev-asof-form');
  const stepButtons = {
    first: $('#ev-step-first'),
    prev: $('#ev-step-prev'),
    next: $('#ev-step-next'),
    last: $('#ev-step-last'),
  };
  const summaryList = (el, summary) =>
    clear(el).append(
      ...Object.entries(summary ?? {}).flatMap(([key, value]) =>
        field(key, typeof value === 'string' ? value : JSON.stringify(value)),
      ),
    );
  const stopPlay = () => {
    if (playTimer !== null) clearTimeout(playTimer);
    playTimer = null;
    playButton.textContent = t('ev.play');
  };
  const renderStep = () => {
    const s = step;
    const position = $('#ev-step-position');
    if (!s) {
      position.textContent = '';
      return;
    }
    position.textContent = t('ev.stepPosition', { revision: s.revision, last: s.lastRevision });
    $('#ev-stepper').dataset.revision = String(s.revision);
    $('#ev-step-kind').textContent = s.kind ? t('ev.kind', { kind: s.kind }) : t('ev.noFold');
    const e = s.event;
    clear($('#ev-step-fields')).append(
      ...field(t('ev.field.type'), h('a', { href: eventLink(e.id) }, h('code', {}, e.type))),
      ...field(t('ev.field.occurredAt'), formatDateTime(e.occurredAt)),
      ...field(
        t('ev.field.actor'),
        s.who.actor === 'system' ? t('ev.system') : (s.who.username ?? actorOf(s.who.actor)),
      ),
      ...field(
        t('ev.field.origin'),
        s.origin.ip || s.origin.userAgent
          ? [s.origin.ip ?? '', s.origin.ip && s.origin.userAgent ? ' · ' : '', s.origin.userAgent ?? '']
          : t('ev.unknownOrigin'),
      ),
      ...field(
        t('ev.field.cause'),
        s.why.cause
          ? h(
              'a',
              { href: eventLink(s.why.cause.id) },
              t('ev.causeLink', { type: s.why.cause.type, stream: s.why.cause.streamId }),
            )
          : s.why.causationId
            ? h('a', { href: eventLink(s.why.causationId) }, t('ev.causeUnknown', { id: s.why.causationId }))
            : t('ev.noCause'),
      ),
      ...field(
        t('ev.field.correlation'),
        h('a', { href: chainLink(s.why.correlationId) }, h('code', {}, s.why.correlationId)),
      ),
    );
    clear($('#ev-step-changed')).append(
      ...(s.changed.length > 0
        ? s.changed.map((path) => h('li', {}, h('code', {}, path)))
        : [h('li', { class: 'muted' }, s.kind && !s.folded ? t('ev.notFolded') : t('ev.nothingChanged'))]),
    );
    summaryList($('#ev-step-summary'), s.summary);
    $('#ev-step-state').textContent = s.state === null ? t('ev.noFold') : json(s.state);
    stepButtons.first.disabled = s.previous === null;
    stepButtons.prev.disabled = s.previous === null;
    stepButtons.next.disabled = s.next === null;
    stepButtons.last.disabled = s.next === null;
    playButton.disabled = s.next === null && playTimer === null;
  };
  const renderAsOf = () => {
    const box = $('#ev-asof-result');
    if (!asOf) {
      box.hidden = true;
      return;
    }
    box.hidden = false;
    $('#ev-asof-caption').textContent = t('ev.asOfResult', {
      stream: asOf.streamId,
      at: formatDateTime(asOf.at),
      folded: asOf.events.length,
      later: asOf.laterEvents,
    });
    summaryList($('#ev-asof-summary'), asOf.summary);
    clear($('#ev-asof-events')).append(
      ...(asOf.events.length > 0 ? asOf.events.map(eventItem) : [h('li', { class: 'muted' }, t('ev.none'))]),
    );
    $('#ev-asof-state').textContent = json(asOf.state);
  };
  /** the URL says which revision and moment are shown, without routing again */
  const syncHash = () => {
    if (!streamId) return;
    const target = streamLink(streamId, { revision: step?.revision, at: asOf?.at });
    if (location.hash !== target) history.replaceState(null, '', target);
  };
  const loadStep = async (revision) => {
    for (const button of Object.values(stepButtons)) button.disabled = true;
    try {
      await loadNames();
      step = await api(`/api/streams/${encodeURIComponent(streamId)}/steps?revision=${revision}`);
      say(message, '');
      syncHash();
    } catch (error) {
      stopPlay();
      fail(error);
    }
    renderStep();
  };
  const loadAsOf = async (iso) => {
    try {
      asOf = await api(`/api/streams/${encodeURIComponent(streamId)}/state?at=${encodeURIComponent(iso)}`);
      say(message, '');
      syncHash();
    } catch (error) {
      asOf = null;
      fail(error);
    }
    renderAsOf();
  };
  // the picker: users, chats, numbers, providers and the system streams, read from their lists
  const pick = $('#ev-stream-pick');
  let pickGroups = [];
  const renderPick = () => {
    const chosen = pick.value;
    clear(pick).append(
      h('option', { value: '' }, t('ev.pickNone')),
      ...pickGroups
        .filter((group) => group.items.length > 0)
        .map((group) =>
          h('optgroup', { label: t(group.label) }, ...group.items.map(([value, text]) => h('option', { value }, text))),
        ),
    );
    pick.value = chosen;
  };
  const loadPick = async () => {
    const quietly = (promise) => promise.catch(() => null);
    const [users, chats, numbers, llm] = await Promise.all([
      quietly(api('/api/users')),
      quietly(api('/api/chats?limit=50')),
      quietly(api('/api/numbers')),
      quietly(api('/api/llm/providers')),
    ]);
    pickGroups = [
      { label: 'ev.pick.users', items: (users?.users ?? []).map((u) => [`account-${u.id}`, u.username]) },
      {
        label: 'ev.pick.chats',
        items: (chats?.chats ?? []).map((c) => [`chat-${c.chatId}`, `${c.contactName ?? c.contact} (${c.numberId})`]),
      },
      { label: 'ev.pick.numbers', items: (numbers?.numbers ?? []).map((n) => [`number-${n.numberId}`, n.name]) },
      {
        label: 'ev.pick.providers',
        items: (llm?.providers ?? []).map((p) => [`llm-provider-${p.name}`, p.name]),
      },
      {
        label: 'ev.pick.system',
        items: ['llm-force', 'llm-settings', 'process-app', 'process-worker-web', 'process-scheduler'].map((id) => [
          id,
          id,
        ]),
      },
    ];
    renderPick();
  };
  pick.addEventListener('change', () => {
    if (pick.value) streamForm.elements.namedItem('stream').value = pick.value;
  });

  const showStream = async (id, params) => {
    stopPlay();
    streamId = id || null;
    step = null;
    asOf = null;
    showPart('stream');
    streamForm.elements.namedItem('stream').value = streamId ?? '';
    $('#ev-stream-body').hidden = !streamId;
    pick.value = '';
    void loadPick();
    renderStep();
    renderAsOf();
    const at = params.get('at');
    asOfForm.elements.namedItem('at').value = at ? toLocalInput(at) : '';
    if (!streamId) return;
    const revision = /^\d{1,12}$/.test(params.get('revision') ?? '') ? params.get('revision') : '0';
    await loadStep(revision);
    if (at && !Number.isNaN(Date.parse(at))) await loadAsOf(new Date(at).toISOString());
  };
  streamForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const id = String(streamForm.elements.namedItem('stream').value).trim();
    if (!id) return say(message, t('ev.badStream'));
    const target = streamLink(id);
    if (location.hash === target) void showStream(id, new URLSearchParams());
    else location.hash = target;
  });
  asOfForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const iso = fromLocalInput(String(asOfForm.elements.namedItem('at').value));
    if (iso === null) return say(message, t('ev.badTime'));
    void loadAsOf(iso);
  });
  stepButtons.first.addEventListener('click', () => {
    stopPlay();
    void loadStep(0);
  });
  stepButtons.prev.addEventListener('click', () => {
    stopPlay();
    if (step?.previous !== null && step?.previous !== undefined) void loadStep(step.previous);
  });
  stepButtons.next.addEventListener('click', () => {
    stopPlay();
    if (step?.next !== null && step?.next !== undefined) void loadStep(step.next);
  });
  stepButtons.last.addEventListener('click', () => {
    stopPlay();
    void loadStep('last');
  });
  const tick = async () => {
    if (playTimer === null) return;
    if (!step || step.next === null) return stopPlay();
    await loadStep(step.next);
    if (playTimer === null) return;
    if (!step || step.next === null) {
      stopPlay();
      renderStep();
      return;
    }
    playTimer = setTimeout(() => void tick(), PLAY_EVERY_MS);
  };
  playButton.addEventListener('click', () => {
    if (playTimer !== null) {
      stopPlay();
      renderStep();
      return;
    }
    if (!step || step.next === null) return;
    playButton.textContent = t('ev.pause');
    playTimer = setTimeout(() => void tick(), 0);
  });

  onLangChange(() => {
    if ($('#view-events').hidden) return;
    setHeading(heading());
    playButton.textContent = t(playTimer === null ? 'ev.play' : 'ev.pause');
    renderList();
    renderEvent();
    renderChain();
    renderStep();
    renderAsOf();
    renderPick();
  });

  return {
    /** segments: the hash path after "events" (URI-encoded); params: its query */
    async show(segments, params) {
      say(message, '');
      stopPlay();
      const [sub = '', ...rest] = segments.map((s) => {
        try {
          return decodeURIComponent(s);
        } catch {
          return s;
        }
      });
      const arg = rest.join('/');
      // each show* switches the part (and the heading) before its first await: focus follows at once
      let loading;
      if (sub === 'event' && arg) loading = showEvent(arg);
      else if (sub === 'chain') loading = showChain(arg || params.get('correlation') || '');
      else if (sub === 'stream') loading = showStream(arg, params);
      else if (params.has('correlation')) loading = showChain(params.get('correlation'));
      else showList(params);
      h1.focus();
      await loading;
    },
    hide() {
      stopPlay();
    },
    reset() {
      stopPlay();
      listPage = null;
      eventShown = null;
      chainShown = null;
      step = null;
      asOf = null;
      streamId = null;
    },
  };
};
