// Users (admin): the accounts read model, create, disable, enable, unlock. The list is a projection, so
// after a change it is read again until the change shows (eventual consistency, usually a few ms).
import { api } from './api.js';
import { $, clear, h, say } from './dom.js';
import { describeError } from './errors.js';
import { formatDateTime, formatNumber, onLangChange, t } from './i18n.js';
import { rememberUsers } from './people.js';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export const createUsersPage = () => {
  const form = $('#user-form');
  const message = $('#users-message');
  const list = $('#user-list');
  let users = [];

  const fetchUsers = async () => {
    users = (await api('/api/users')).users;
    rememberUsers(users);
    render();
  };

  /** Reads the list until check(users) holds, for about 3 s at most. */
  const reloadUntil = async (check) => {
    for (let i = 0; i < 10; i++) {
      await fetchUsers();
      if (check(users)) return;
      await sleep(300);
    }
  };

  const act = async (user, action) => {
    try {
      const result = await api(`/api/users/${encodeURIComponent(user.id)}/${action}`, { method: 'POST' });
      say(message, t(result.changed ? 'users.changed' : 'users.unchanged', { user: user.username }), 'ok');
      const expected = { disable: 'disabled', enable: 'active', unlock: 'active' }[action];
      await reloadUntil(
        (now) =>
          !result.changed ||
          now.some(
            (u) => u.id === user.id && (u.status === expected || (action === 'enable' && u.status === 'locked')),
          ),
      );
    } catch (error) {
      say(message, describeError(error));
    }
  };

  const actions = (user) => {
    const buttons = [];
    if (user.status === 'locked')
      buttons.push(
        h(
          'button',
          { type: 'button', class: 'btn btn-small', 'data-action': 'unlock', onclick: () => act(user, 'unlock') },
          t('users.unlock'),
        ),
      );
    if (user.status === 'disabled')
      buttons.push(
        h(
          'button',
          { type: 'button', class: 'btn btn-small', 'data-action': 'enable', onclick: () => act(user, 'enable') },
          t('users.enable'),
        ),
      );
    else
      buttons.push(
        h(
          'button',
          {
            type: 'button',
            class: 'btn btn-small btn-danger',
            'data-action': 'disable',
            onclick: () => act(user, 'disable'),
          },
          t('users.disable'),
        ),
      );
    return h('div', { class: 'actions' }, buttons);
  };

  const render = () => {
    clear(list).append(
      ...users.map((user) =>
        h(
          'tr',
          { 'data-username': user.username, 'data-status': user.status },
          h('td', {}, h('strong', {}, user.username)),
          h('td', {}, t(`role.${user.role}`)),
          h('td', {}, h('span', { class: `badge status-${user.status}` }, t(`status.${user.status}`))),
          h('td', { class: 'num' }, formatNumber(user.failed_logins)),
          h('td', { class: 'nowrap' }, formatDateTime(user.last_login_at)),
          h('td', {}, actions(user)),
        ),
      ),
    );
    $('#users-empty').hidden = users.length > 0;
  };

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const body = {
      username: String(data.get('username') ?? '').trim(),
      password: String(data.get('password') ?? ''),
      role: String(data.get('role') ?? 'viewer'),
    };
    const submit = form.querySelector('button[type=submit]');
    submit.disabled = true;
    try {
      const created = await api('/api/users', { method: 'POST', body });
      form.reset();
      say(message, t('users.created', { user: created.username }), 'ok');
      await reloadUntil((now) => now.some((u) => u.id === created.id));
    } catch (error) {
      say(message, describeError(error));
    } finally {
      submit.disabled = false;
    }
  });
  $('#users-reload').addEventListener('click', () => fetchUsers().catch((error) => say(message, describeError(error))));
  onLangChange(render);

  return {
    async show() {
      say(message, '');
      try {
        await fetchUsers();
      } catch (error) {
        say(message, describeError(error));
      }
    },
  };
};
