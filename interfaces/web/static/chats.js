// Conversations: chat list with search (GET /api/chats), a chat's messages with their delivery statuses
// (GET /api/chats/{id}/messages, refreshed while the view is open), manual send, pause/resume (human
// takeover) and the simulator, where a person chats as a contact to try the bot without a phone.
import { api, currentUser } from './api.js';
import { $, clear, h, say } from './dom.js';
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
  let chats = [];
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

  const renderChat = () => {
    view.hidden = selected === null;
    if (!selected) return;
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
    selected = chats.find((c) => c.chatId === chatId) ?? { chatId, contact: '', numberId: '', paused: false };
    messages = [];
    await refresh();
    renderList();
  };

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
      chats = [];
      selected = null;
      messages = [];
      renderList();
      renderChat();
    },
  };
};
