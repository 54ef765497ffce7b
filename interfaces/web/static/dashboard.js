// The live page: charts and cards from each MetricsSnapshot (application/metrics/live.ts), the last 100
// live events, and the state of the socket (with the close reason while it reconnects).
import { LineChart } from './charts.js';
import { $, clear, h } from './dom.js';
import { formatDuration, formatNumber, formatTime, has, onLangChange, t } from './i18n.js';
import { loadNames, who } from './people.js';

const MAX_EVENTS = 100;

const legendItem = (chart, key, label) =>
  h('li', { class: 'legend-item' }, h('span', { class: `swatch series-${chart.colourOf(key)}` }), label);

export const createDashboard = ({ canLinkAudit }) => {
  const charts = {
    messages: new LineChart($('#chart-messages'), { digits: 2 }),
    security: new LineChart($('#chart-security'), { digits: 0 }),
    lag: new LineChart($('#chart-lag'), { digits: 0 }),
  };
  let last = null;
  let status = { state: 'stopped' };
  let countdown = null;
  const events = [];
  const eventList = $('#event-list');

  const renderLegends = () => {
    clear($('#legend-messages')).append(
      legendItem(charts.messages, 'in', t('chart.messagesIn')),
      legendItem(charts.messages, 'out', t('chart.messagesOut')),
    );
    clear($('#legend-security')).append(
      legendItem(charts.security, 'failures', t('chart.loginFailures')),
      legendItem(charts.security, 'lockouts', t('chart.lockouts')),
    );
    clear($('#legend-lag')).append(...[...charts.lag.series.keys()].map((name) => legendItem(charts.lag, name, name)));
  };

  const renderCards = () => {
    if (!last) return;
    const s = last;
    $('#queue-depth').textContent = formatNumber(s.messages.queueDepth);
    $('#queue-oldest').textContent = t('card.queueOldest', { age: formatDuration(s.messages.oldestQueuedAgeSeconds) });
    $('#wa-sessions').textContent = formatNumber(s.whatsapp.connectedSessions);
    $('#locked-accounts').textContent = formatNumber(s.security.lockedAccounts);
    $('#rate-limited').textContent = t('card.rateLimited', { n: formatNumber(s.security.rateLimitedLastMinute) });
    const maxLagMs = Math.max(0, ...s.projections.map((p) => p.lagMs));
    $('#projection-position').textContent = formatNumber(s.position);
    $('#projection-lag').textContent = t('card.maxLag', { age: formatDuration(maxLagMs / 1000) });

    clear($('#process-list')).append(
      ...s.processes.map((p) =>
        h(
          'li',
          { class: 'row', 'data-process': p.name, 'data-state': p.state },
          h('span', { class: 'row-name' }, p.name),
          h('span', { class: `badge state-${p.state}` }, t(`state.${p.state}`)),
          h(
            'span',
            { class: 'muted small row-detail' },
            [p.since ? t('state.since', { time: formatTime(p.since) }) : null, p.instance].filter(Boolean).join(' · '),
          ),
        ),
      ),
    );
    const today = s.llmToday;
    $('#llm-today').textContent = today
      ? t('card.llmToday', {
          calls: formatNumber(today.calls),
          errors: `${formatNumber(today.calls === 0 ? 0 : (today.failed / today.calls) * 100, 1)} %`,
          fallbacks: formatNumber(today.fallbacks),
          tokens: formatNumber(today.tokensIn + today.tokensOut),
          cost: formatNumber(today.costUsd, 4),
        })
      : '';
    const providers = $('#circuit-list');
    clear(providers);
    if (s.llm.length === 0) providers.append(h('li', { class: 'muted empty' }, t('card.noProviders')));
    for (const p of s.llm) {
      const p95 = p.latencyMs ? `${formatNumber(p.latencyMs.p95)} ms` : t('common.none');
      providers.append(
        h(
          'li',
          { class: 'row', 'data-provider': p.provider },
          h('span', { class: 'row-name' }, p.provider),
          h('span', { class: `badge circuit-${p.circuit}` }, t(`circuit.${p.circuit}`)),
          h(
            'span',
            { class: 'muted small row-detail' },
            t('card.calls', { calls: formatNumber(p.calls), errors: `${formatNumber(p.errorRate * 100, 1)} %`, p95 }),
          ),
        ),
      );
    }
  };

  const eventRow = (e) =>
    h(
      'tr',
      { 'data-type': e.type },
      h('td', { class: 'nowrap' }, formatTime(e.occurredAt)),
      h('td', {}, h('code', {}, e.type)),
      h('td', { class: 'truncate' }, h('code', { title: e.streamId }, e.streamId)),
      h(
        'td',
        { class: 'truncate' },
        canLinkAudit()
          ? h(
              'a',
              { href: `#/audit?correlation_id=${encodeURIComponent(e.correlationId)}`, title: e.correlationId },
              e.correlationId,
            )
          : h('code', {}, e.correlationId),
      ),
      h('td', { class: 'truncate' }, who(e.actor)),
    );

  const renderEvents = () => {
    clear(eventList).append(...events.map(eventRow));
    $('#events-empty').hidden = events.length > 0;
  };

  const reasonText = (reason) => (has(`reason.${reason}`) ? t(`reason.${reason}`) : reason);

  const renderStatus = () => {
    const pill = $('#live-state');
    const detail = $('#live-detail');
    pill.className = `pill pill-${status.state}`;
    clearInterval(countdown);
    switch (status.state) {
      case 'live':
        pill.textContent = t('live.live');
        detail.textContent = last ? t('live.lastSnapshot', { time: formatTime(last.at) }) : '';
        return;
      case 'connecting':
        pill.textContent = t('live.connecting');
        detail.textContent = '';
        return;
      case 'reconnecting': {
        const until = Date.now() + status.retryInMs;
        const tick = () => {
          pill.textContent = t('live.reconnecting', { seconds: Math.max(0, Math.ceil((until - Date.now()) / 1000)) });
        };
        tick();
        countdown = setInterval(tick, 500);
        detail.textContent = t('live.closed', { reason: reasonText(status.reason), code: status.code });
        return;
      }
      default:
        pill.textContent = t('live.stopped');
        detail.textContent = '';
    }
  };

  onLangChange(() => {
    renderLegends();
    renderCards();
    renderEvents();
    renderStatus();
    for (const chart of Object.values(charts)) chart.draw();
  });
  renderLegends();
  renderEvents();
  renderStatus();

  return {
    snapshot(s) {
      last = s;
      charts.messages.push({ in: s.messages.inPerSecond, out: s.messages.outPerSecond });
      charts.security.push({ failures: s.security.loginFailuresLastMinute, lockouts: s.security.lockoutsLastMinute });
      const before = charts.lag.series.size;
      charts.lag.push(Object.fromEntries(s.projections.map((p) => [p.name, p.lagEvents])));
      if (charts.lag.series.size !== before) renderLegends();
      renderCards();
      if (status.state === 'live') $('#live-detail').textContent = t('live.lastSnapshot', { time: formatTime(s.at) });
    },
    event(e) {
      events.unshift(e);
      if (events.length > MAX_EVENTS) events.length = MAX_EVENTS;
      eventList.prepend(eventRow(e));
      while (eventList.children.length > MAX_EVENTS) eventList.lastElementChild.remove();
      $('#events-empty').hidden = true;
    },
    status(next) {
      status = next;
      renderStatus();
    },
    /** At logout: nothing of this session stays on screen for the next person. */
    reset() {
      last = null;
      events.length = 0;
      for (const chart of Object.values(charts)) chart.clear();
      for (const id of ['#queue-depth', '#wa-sessions', '#locked-accounts', '#projection-position'])
        $(id).textContent = '—';
      for (const id of ['#queue-oldest', '#rate-limited', '#projection-lag', '#llm-today']) $(id).textContent = '';
      clear($('#process-list'));
      clear($('#circuit-list'));
      renderLegends();
      renderEvents();
    },
    /** Visible again: canvases hidden while another page was shown have to be drawn at their size. */
    shown() {
      for (const chart of Object.values(charts)) chart.draw();
      void loadNames().then(renderEvents);
    },
  };
};
