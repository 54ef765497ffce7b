// Conversations: chat list with search (GET /api/chats), a chat's messages with their delivery statuses
// (GET /api/chats/{id}/messages, refreshed while the view is open), manual send, pause/resume (human
// takeover) and the simulator, where a person chats as a contact to try the bot without a phone.
// Admins can also forget the chat's contact (GDPR erasure, POST /api/contacts/{number}/forget) after a
// confirmation dialog; the chat then shows its messages as the event log now reads them ("[erased]").
import { api, currentUser, isAdmin } from './api.js';
import { $, clear, h, printable, say } from './dom.js';
import { describeError } from './errors.js';
import { formatTime, has, onLangChange, t } from './i18n.js';

const REFRESH_MS = 1_500;

export const createChatsPage = () => {
  const list = $('#chat-list');
  const search = $('#chats-search');
  const message = $('#chats-message');
  const view = $('#chat-view');
  const log = $('#chat-log');
  const title = $('#chat-title');
  const state = $('#chat-state');
  const toggle = $('#chat-toggle');
  const sendForm = $('#chat-send');
  const simForm = $('#sim-form');
  const forgetButton = $('#chat-forget');
  const dialog = $('#forget-dialog');
  const forgetError = $('#forget-error');
  const forgetConfirm = $('#forget-confirm');
  const forgetCancel = $('#forget-cancel');
  const streamLink = $('#chat-stream-link');
  let chats = [];
  /** the chat whose contact was forgotten here: { chatId, contact, messages (as the event log reads them) } */
  let forgotten = null;
  let selected = null; // chat row
  let messages = [];
  let timer = null;
  let visible = false;

  const canAct = () => ['admin', 'operator'].includes(currentUser()?.role);

  const renderList = () => {
    clear(list).append(
      ...chats.map((chat) =>
        h(
          'li',
          {},
          h(
            'button',
            {
              type: 'button',
              class: `chat-item${selected?.chatId === chat.chatId ? ' chat-item-selected' : ''}`,
              'aria-current': selected?.chatId === chat.chatId ? 'true' : null,
              'data-chat': chat.chatId,
              onclick: () => void open(chat.chatId),
            },
            h(
              'span',
              { class: 'chat-contact' },
              chat.contactName ? `${chat.contactName} (${chat.contact})` : chat.contact,
            ),
            h('span', { class: 'muted small chat-number' }, chat.numberId),
            chat.paused ? h('span', { class: 'badge status-disabled' }, t('chats.paused')) : null,
            chat.unreadCount > 0 ? h('span', { class: 'badge' }, t('chats.unread', { n: chat.unreadCount })) : null,
            h('span', { class: 'muted small chat-last' }, chat.lastText ?? ''),
          ),
        ),
      ),
    );
    $('#chats-empty').hidden = chats.length > 0;
  };

  const statusText = (m) => (has(`msg.${m.status}`) ? t(`msg.${m.status}`) : m.status);

  const contactOf = (chat) => printable(chat.contact);

  const renderForgotten = () => {
    title.textContent = t('chats.forgottenTitle');
    state.textContent = t('chats.forgottenState');
    state.className = 'pill pill-stopped';
    toggle.hidden = true;
    forgetButton.hidden = true;
    sendForm.hidden = true;
    $('#chat-window').textContent = t('chats.forgottenHint');
    $('#chat-forgotten-link').hidden = false;
    streamLink.href = `#/events/stream/${encodeURIComponent(`chat-${forgotten.chatId}`)}`;
    clear(log).append(
      ...forgotten.messages.map((m) =>
        h(
          'li',
          {
            class: `msg msg-${m.direction}`,
            'data-direction': m.direction,
            'data-source': m.source ?? 'contact',
            'data-erased': m.text === '[erased]' ? 'true' : null,
          },
          h('p', { class: 'msg-text' }, m.text ?? t('chats.forgottenUnread')),
          h('p', { class: 'muted small' }, formatTime(m.at)),
        ),
      ),
    );
  };

  const renderChat = () => {
    view.hidden = selected === null;
    if (!selected) return;
    $('#chat-forgotten-link').hidden = true;
    if (forgotten?.chatId === selected.chatId) return renderForgotten();
    forgetButton.hidden = !isAdmin() || !selected.contact;
    forgetButton.textContent = t('chats.forget', { contact: contactOf(selected) });
    title.textContent = selected.contactName ? `${selected.contactName} (${selected.contact})` : selected.contact;
    state.textContent = selected.paused ? t('chats.pausedLong') : t('chats.botActive');
    state.className = `pill ${selected.paused ? 'pill-stopped' : 'pill-live'}`;
    toggle.textContent = selected.paused ? t('chats.resume') : t('chats.pause');
    toggle.hidden = !canAct();
    sendForm.hidden = !canAct();
    $('#chat-window').textContent = selected.windowOpen ? t('chats.windowOpen') : t('chats.windowClosed');
    clear(log).append(
      ...messages.map((m) =>
        h(
          'li',
          { class: `msg msg-${m.direction}`, 'data-direction': m.direction, 'data-source': m.source ?? 'contact' },
          h('p', { class: 'msg-text' }, m.text ?? `[${m.templateName ?? m.kind}]`),
          h(
            'p',
            { class: 'muted small' },
            formatTime(m.at),
            ' · ',
            m.direction === 'in' ? t('msg.fromContact') : t(`source.${m.source ?? 'api'}`),
            m.direction === 'out'
              ? h('span', { class: 'msg-status', 'data-status': m.status }, ` · ${statusText(m)}`)
              : null,
          ),
        ),
      ),
    );
  };

  const loadList = async () => {
    const q = search.value.trim();
    const page = await api(`/api/chats?limit=100${q ? `&q=${encodeURIComponent(q)}` : ''}`);
    chats = page.chats;
    renderList();
  };

  const loadChat = async () => {
    if (forgotten !== null && forgotten.chatId === selected?.chatId) return renderChat();
    // A chat the simulator just started may not be in the read model yet: wait for the list to have it.
    if (!selected || !chats.some((c) => c.chatId === selected.chatId)) return renderChat();
    const page = await api(`/api/chats/${selected.chatId}/messages?limit=100`);
    selected = page.chat;
    messages = [...page.messages].reverse();
    renderChat();
  };

  const refresh = async () => {
    try {
      await loadList();
      await loadChat();
    } catch (error) {
      say(message, describeError(error));
    }
  };

  const schedule = () => {
    clearTimeout(timer);
    if (visible) timer = setTimeout(() => void refresh().finally(schedule), REFRESH_MS);
  };

  const open = async (chatId) => {
    forgotten = null;
    selected = chats.find((c) => c.chatId === chatId) ?? { chatId, contact: '', numberId: '', paused: false };
    messages = [];
    await refresh();
    renderList();
  };

  /**
   * After forgetting: what the event log now holds for each message the chat showed (the inbound ones in
   * the chat's stream, each outbound one in its message's stream), read back through the events API.
   */
  const readFromLog = async (chatId, shown) => {
    const texts = new Map();
    const chatStream = await api(`/api/streams/${encodeURIComponent(`chat-${chatId}`)}?limit=500`);
    for (const e of chatStream.events) if (e.type === 'MessageReceived') texts.set(e.data.messageId, e.data.text);
    await Promise.all(
      shown
        .filter((m) => m.direction === 'out')
        .map(async (m) => {
          const stream = await api(`/api/streams/${encodeURIComponent(`message-${m.messageId}`)}?limit=1`);
          const queued = stream.events.find((e) => e.type === 'MessageQueued');
          if (queued) texts.set(m.messageId, queued.data.text ?? queued.data.template?.name ?? null);
        }),
    );
    return shown.map((m) => ({ ...m, text: texts.has(m.messageId) ? texts.get(m.messageId) : null }));
  };

  const openForget = () => {
    if (!selected) return;
    const contact = contactOf(selected);
    $('#forget-title').textContent = t('chats.forgetTitle', { contact });
    $('#forget-what').textContent = t('chats.forgetWhat', { contact });
    forgetConfirm.textContent = t('chats.forgetConfirm', { contact });
    forgetConfirm.disabled = false;
    say(forgetError, '');
    dialog.showModal();
    forgetCancel.focus(); // the safe choice has the focus
  };

  forgetButton.addEventListener('click', openForget);
  forgetCancel.addEventListener('click', () => dialog.close());
  dialog.addEventListener('close', () => {
    // Escape, Cancel or done: the focus goes back where it came from, or to the chat now forgotten
    if (forgotten !== null && forgotten.chatId === selected?.chatId) title.focus();
    else forgetButton.focus();
  });
  forgetConfirm.addEventListener('click', async () => {
    if (!selected) return;
    const chat = selected;
    const shown = messages;
    forgetConfirm.disabled = true;
    try {
      const answer = await api(`/api/contacts/${encodeURIComponent(chat.contact)}/forget`, {
        method: 'POST',
        body: {},
      });
      const keys = answer.forgotten.reduce((sum, c) => sum + c.keysDestroyed, 0);
      forgotten = { chatId: chat.chatId, messages: [] };
      say(message, t('chats.forgetDone', { contact: contactOf(chat), numbers: answer.forgotten.length, keys }), 'ok');
      try {
        forgotten.messages = await readFromLog(chat.chatId, shown);
      } catch (error) {
        say(message, `${message.textContent} ${describeError(error)}`, 'ok');
      }
      renderChat();
      dialog.close();
      void loadList().catch(() => {});
    } catch (error) {
      say(forgetError, describeError(error));
      forgetConfirm.disabled = false;
      forgetConfirm.focus();
    }
  });

  search.addEventListener('input', () => void loadList().catch((error) => say(message, describeError(error))));

  toggle.addEventListener('click', async () => {
    if (!selected) return;
    toggle.disabled = true;
    try {
      await api(`/api/chats/${selected.chatId}/${selected.paused ? 'resume' : 'pause'}`, { method: 'POST' });
      await refresh();
      say(message, '');
    } catch (error) {
      say(message, describeError(error));
    } finally {
      toggle.disabled = false;
      toggle.focus();
    }
  });

  sendForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    const field = sendForm.elements.namedItem('text');
    const text = field.value.trim();
    if (!selected || !text) return;
    try {
      await api('/api/whatsapp/send', {
        method: 'POST',
        body: { to: selected.contact, text, number: selected.numberId },
      });
      field.value = '';
      say(message, t('chats.sent'), 'ok');
      await refresh();
    } catch (error) {
      say(message, describeError(error));
    }
    field.focus();
  });

  simForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    const data = new FormData(simForm);
    const from = String(data.get('from') ?? '').trim();
    const text = String(data.get('text') ?? '').trim();
    if (!from || !text) return say(message, t('chats.simMissing'));
    try {
      const answer = await api('/api/simulator/messages', { method: 'POST', body: { from, text } });
      simForm.elements.namedItem('text').value = '';
      say(message, '');
      await loadList();
      await open(answer.chatId);
    } catch (error) {
      say(message, describeError(error));
    }
    simForm.elements.namedItem('text').focus();
  });

  onLangChange(() => {
    renderList();
    renderChat();
  });

  return {
    show() {
      visible = true;
      $('#sim-card').hidden = !canAct();
      void refresh().finally(schedule);
    },
    hide() {
      visible = false;
      clearTimeout(timer);
    },
    reset() {
      forgotten = null;
      if (dialog.open) dialog.close();
      chats = [];
      selected = null;
      messages = [];
      renderList();
      renderChat();
    },
  };
};
