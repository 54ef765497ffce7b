// Users (admin): the accounts read model, create, disable, enable, unlock, and the login locks in force
// (per address and per account) with their unlock buttons. The lists are projections, so after a change
// they are read again until the change shows (eventual consistency, usually a few ms).
import { api } from './api.js';
import { $, clear, h, printable, say } from './dom.js';
import { describeError } from './errors.js';
import { formatDateTime, formatNumber, onLangChange, t } from './i18n.js';
import { rememberUsers } from './people.js';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export const createUsersPage = () => {
  const form = $('#user-form');
  const message = $('#users-message');
  const list = $('#user-list');
  const lockList = $('#lock-list');
  let users = [];
  let locks = [];

  const fetchUsers = async () => {
    const [listed, locked] = await Promise.all([api('/api/users'), api('/api/users/locks')]);
    users = listed.users;
    locks = locked.locks;
    rememberUsers(users);
    render();
  };

  const activeAdmins = () => users.filter((u) => u.role === 'admin' && u.status !== 'disabled');
  const lockKey = (lock) => `${lock.account_id}|${lock.source ?? ''}`;

  const unlock = async (lock) => {
    try {
      const body = lock.scope === 'source' ? { source: lock.source } : undefined;
      const result = await api(`/api/users/${encodeURIComponent(lock.account_id)}/unlock`, { method: 'POST', body });
      say(message, t(result.changed ? 'users.changed' : 'users.unchanged', { user: printable(lock.username) }), 'ok');
      await reloadUntil(() => !locks.some((l) => lockKey(l) === lockKey(lock)));
    } catch (error) {
      say(message, describeError(error));
    }
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
      say(message, t(result.changed ? 'users.changed' : 'users.unchanged', { user: printable(user.username) }), 'ok');
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
    else {
      // The only active admin cannot disable itself (the server answers 409 last_admin too).
      const last = user.role === 'admin' && activeAdmins().length === 1;
      buttons.push(
        h(
          'button',
          {
            type: 'button',
            class: 'btn btn-small btn-danger',
            'data-action': 'disable',
            'aria-label': `${t('users.disable')} ${printable(user.username)}`,
            ...(last ? { disabled: true, title: t('users.lastAdmin') } : {}),
            onclick: () => act(user, 'disable'),
          },
          t('users.disable'),
        ),
      );
    }
    return h('div', { class: 'actions' }, buttons);
  };

  const render = () => {
    clear(list).append(
      ...users.map((user) =>
        h(
          'tr',
          { 'data-username': user.username, 'data-status': user.status },
          h('td', {}, h('strong', {}, printable(user.username))),
          h('td', {}, t(`role.${user.role}`)),
          h('td', {}, h('span', { class: `badge status-${user.status}` }, t(`status.${user.status}`))),
          h('td', { class: 'num' }, formatNumber(user.failed_logins)),
          h('td', { class: 'nowrap' }, formatDateTime(user.last_login_at)),
          h('td', {}, actions(user)),
        ),
      ),
    );
    $('#users-empty').hidden = users.length > 0;
    clear(lockList).append(
      ...locks.map((lock) => {
        const scope = lock.scope === 'source' ? t('locks.source', { source: lock.source }) : t('locks.account');
        const name = printable(lock.username);
        return h(
          'tr',
          { 'data-username': name, 'data-scope': lock.scope },
          h('td', {}, h('strong', {}, name), lock.known ? '' : ` ${t('locks.unknown')}`),
          h('td', {}, scope),
          h('td', { class: 'nowrap' }, formatDateTime(lock.locked_until)),
          h('td', { class: 'num' }, formatNumber(lock.failures)),
          h(
            'td',
            {},
            h(
              'button',
              {
                type: 'button',
                class: 'btn btn-small',
                'data-action': 'unlock-login',
                'aria-label': t('locks.unlockLabel', { user: name, scope }),
                onclick: () => unlock(lock),
              },
              t('locks.unlock'),
            ),
          ),
        );
      }),
    );
    $('#locks-empty').hidden = locks.length > 0;
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
