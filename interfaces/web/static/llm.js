// LLM page: the provider chain in the order the next turn uses it (circuit states, 15-minute figures,
// tokens and cost today), force / end force (admins), tokens and cost per day, and the settings form
// (admins). Reads come from the read models, so after a change the chain is read again until it shows.
import { api, isAdmin } from './api.js';
import { LineChart } from './charts.js';
import { $, clear, h, say } from './dom.js';
import { describeError } from './errors.js';
import { formatDateTime, formatNumber, formatTime, onLangChange, t } from './i18n.js';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const NUMBER_FIELDS = ['temperature', 'maxPromptTokens', 'maxReplyTokens'];

export const createLlmPage = () => {
  const message = $('#llm-message');
  const chainBody = $('#llm-chain');
  const dailyBody = $('#llm-daily');
  const forceForm = $('#llm-force-form');
  const forceSelect = $('#llm-force-provider');
  const unforce = $('#llm-unforce');
  const forcedNotice = $('#llm-forced');
  const settingsForm = $('#llm-settings-form');
  let data = null;
  const charts = {
    latency: new LineChart($('#chart-llm-latency'), { digits: 0 }),
    errors: new LineChart($('#chart-llm-errors'), { digits: 1 }),
  };
  const legendItem = (chart, key) =>
    h('li', { class: 'legend-item' }, h('span', { class: `swatch series-${chart.colourOf(key)}` }), key);
  const renderLegends = () => {
    clear($('#legend-llm-latency')).append(
      ...[...charts.latency.series.keys()].map((k) => legendItem(charts.latency, k)),
    );
    clear($('#legend-llm-errors')).append(...[...charts.errors.series.keys()].map((k) => legendItem(charts.errors, k)));
  };

  const money = (usd) => `$${formatNumber(usd, 4)}`;
  const ms = (value) => (value === null || value === undefined ? '—' : `${formatNumber(value)} ms`);

  const render = () => {
    if (!data) return;
    $('#llm-chain-hint').textContent = t('llm.chainHint', { minutes: data.windowMinutes });
    $('#llm-empty').hidden = data.providers.length > 0;
    const byName = new Map(data.providers.map((p) => [p.name, p]));
    clear(chainBody).append(
      ...data.order.map((name, index) => {
        const p = byName.get(name);
        return h(
          'tr',
          { 'data-provider': p.name, 'data-circuit': p.circuit, 'data-forced': p.forced ? 'true' : 'false' },
          h('td', { class: 'num' }, String(index + 1)),
          h(
            'td',
            {},
            h('strong', {}, p.name),
            p.primary ? h('span', { class: 'badge' }, ` ${t('llm.primary')}`) : null,
            p.forced ? h('span', { class: 'badge circuit-half_open' }, t('llm.forcedBadge')) : null,
          ),
          h('td', {}, p.model),
          h('td', {}, h('span', { class: `badge circuit-${p.circuit}` }, t(`circuit.${p.circuit}`))),
          h('td', { class: 'num' }, formatNumber(p.calls)),
          h('td', { class: 'num' }, `${formatNumber(p.errorRate * 100, 1)} %`),
          h('td', { class: 'num' }, ms(p.latencyMs.p50)),
          h('td', { class: 'num' }, ms(p.latencyMs.p95)),
          h('td', { class: 'num' }, formatNumber(p.today.tokensIn + p.today.tokensOut)),
          h('td', { class: 'num' }, money(p.today.costUsd)),
          h('td', {}, t(`llm.key.${p.apiKey}`)),
        );
      }),
    );
    const selected = forceSelect.value;
    clear(forceSelect).append(...data.providers.map((p) => h('option', { value: p.name }, p.name)));
    if (data.providers.some((p) => p.name === selected)) forceSelect.value = selected;
    forcedNotice.hidden = !data.forced;
    if (data.forced)
      forcedNotice.textContent = t('llm.forcedNotice', {
        provider: data.forced.provider,
        until: formatDateTime(data.forced.until),
      });
    unforce.disabled = !data.forced;
    clear(dailyBody).append(
      ...data.daily.map((d) =>
        h(
          'tr',
          {},
          h('td', { class: 'nowrap' }, d.day),
          h('td', {}, d.provider),
          h('td', { class: 'num' }, formatNumber(d.calls)),
          h('td', { class: 'num' }, formatNumber(d.tokensIn)),
          h('td', { class: 'num' }, formatNumber(d.tokensOut)),
          h('td', { class: 'num' }, money(d.costUsd)),
        ),
      ),
    );
    $('#llm-daily-empty').hidden = data.daily.length > 0;
  };

  const fetchChain = async () => {
    data = await api('/api/llm/providers');
    render();
  };

  /** Reads the chain until check(data) holds, for about 3 s at most (the read model trails the event). */
  const reloadUntil = async (check) => {
    for (let i = 0; i < 10; i++) {
      await fetchChain();
      if (check(data)) return;
      await sleep(300);
    }
  };

  const fillSettings = (settings) => {
    const f = settingsForm.elements;
    f.systemPrompt.value = settings.systemPrompt;
    f.model.value = settings.model ?? '';
    f.temperature.value = String(settings.temperature);
    f.maxPromptTokens.value = String(settings.maxPromptTokens);
    f.maxReplyTokens.value = String(settings.maxReplyTokens);
    f.fallbackText.value = settings.fallbackText;
    f.rulesFirst.checked = settings.rulesFirst;
    f.prices.value = Object.keys(settings.prices).length === 0 ? '' : JSON.stringify(settings.prices, null, 1);
  };

  /** the prices textarea as an object; undefined unless it maps each model to two numbers in 0..10000 */
  const parsePrices = (text) => {
    if (text.trim() === '') return {};
    try {
      const value = JSON.parse(text);
      const ok =
        value !== null &&
        typeof value === 'object' &&
        !Array.isArray(value) &&
        Object.values(value).every(
          (p) =>
            p !== null &&
            typeof p === 'object' &&
            Object.keys(p).sort().join() === 'inputPerMTokUsd,outputPerMTokUsd' &&
            Object.values(p).every((n) => typeof n === 'number' && n >= 0 && n <= 10000),
        );
      return ok ? value : undefined;
    } catch {
      return undefined;
    }
  };

  const markInvalid = (input, invalid) => {
    if (invalid) input.setAttribute('aria-invalid', 'true');
    else input.removeAttribute('aria-invalid');
  };

  forceForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    const minutesInput = $('#llm-force-minutes');
    const minutes = Number(minutesInput.value);
    const valid = Number.isInteger(minutes) && minutes >= 1 && minutes <= 1440;
    markInvalid(minutesInput, !valid);
    if (!valid) return say(message, t('llm.badMinutes'));
    const submit = forceForm.querySelector('button[type=submit]');
    submit.disabled = true;
    try {
      const forced = await api('/api/llm/providers/force', {
        method: 'POST',
        body: { provider: forceSelect.value, minutes },
      });
      say(message, t('llm.forcedDone', { provider: forced.provider, until: formatTime(forced.until) }), 'ok');
      await reloadUntil((now) => now.forced?.provider === forced.provider && now.forced.until === forced.until);
    } catch (error) {
      say(message, describeError(error));
    } finally {
      submit.disabled = false;
      submit.focus();
    }
  });

  unforce.addEventListener('click', async () => {
    try {
      await api('/api/llm/providers/force', { method: 'DELETE' });
      say(message, t('llm.unforcedDone'), 'ok');
      await reloadUntil((now) => now.forced === null);
    } catch (error) {
      say(message, describeError(error));
    }
    forceSelect.focus();
  });

  settingsForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    const f = settingsForm.elements;
    let ok = true;
    for (const name of NUMBER_FIELDS) {
      const input = f[name];
      const value = Number(input.value);
      const valid = input.value.trim() !== '' && input.checkValidity() && Number.isFinite(value);
      markInvalid(input, !valid);
      ok &&= valid;
    }
    markInvalid(f.fallbackText, f.fallbackText.value.trim() === '');
    ok &&= f.fallbackText.value.trim() !== '';
    const prices = parsePrices(f.prices.value);
    markInvalid(f.prices, prices === undefined);
    ok &&= prices !== undefined;
    if (!ok) return say(message, t('llm.badSettings'));
    const body = {
      systemPrompt: f.systemPrompt.value,
      model: f.model.value.trim() === '' ? null : f.model.value.trim(),
      temperature: Number(f.temperature.value),
      maxPromptTokens: Number(f.maxPromptTokens.value),
      maxReplyTokens: Number(f.maxReplyTokens.value),
      fallbackText: f.fallbackText.value,
      rulesFirst: f.rulesFirst.checked,
      prices,
    };
    const submit = settingsForm.querySelector('button[type=submit]');
    submit.disabled = true;
    try {
      const result = await api('/api/llm/settings', { method: 'PUT', body });
      fillSettings(result.settings);
      say(
        message,
        result.changed.length > 0 ? t('llm.saved', { changed: result.changed.join(', ') }) : t('llm.unchanged'),
        'ok',
      );
    } catch (error) {
      say(message, describeError(error));
    } finally {
      submit.disabled = false;
      submit.focus();
    }
  });

  $('#llm-reload').addEventListener('click', () => fetchChain().catch((error) => say(message, describeError(error))));
  onLangChange(render);

  return {
    /** a live metrics snapshot (1 s): per provider p95 latency and error rate of the last minute */
    snapshot(s) {
      const before = charts.latency.series.size + charts.errors.series.size;
      charts.latency.push(Object.fromEntries(s.llm.map((p) => [p.provider, p.latencyMs?.p95 ?? null])));
      charts.errors.push(Object.fromEntries(s.llm.map((p) => [p.provider, p.errorRate * 100])));
      if (charts.latency.series.size + charts.errors.series.size !== before) renderLegends();
    },
    reset() {
      charts.latency.clear();
      charts.errors.clear();
      renderLegends();
    },
    async show() {
      say(message, '');
      const admin = isAdmin();
      for (const el of document.querySelectorAll('#view-llm [data-admin-only]')) el.hidden = !admin;
      $('#llm-admin-note').hidden = admin;
      try {
        await fetchChain();
        if (admin) fillSettings((await api('/api/llm/settings')).settings);
      } catch (error) {
        say(message, describeError(error));
      }
      $('#view-llm h1').focus();
    },
  };
};
