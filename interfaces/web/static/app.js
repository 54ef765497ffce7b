// Entry point of the console: language, session, hash routing (#/dashboard, #/users, #/audit) and the
// live connection, which runs as long as someone is logged in so the charts keep their history.
import { currentUser, isAdmin, login, logout, onSessionChange, restore, wsToken } from './api.js';
import { createAuditPage } from './audit.js';
import { createChatsPage } from './chats.js';
import { createDashboard } from './dashboard.js';
import { createEventsPage } from './events.js';
import { $, say } from './dom.js';
import { describeError } from './errors.js';
import { getLang, onLangChange, setLang, t, translateTree } from './i18n.js';
import { createLive } from './live.js';
import { createLlmPage } from './llm.js';
import { createProjectionsPage } from './projections.js';
import { forgetNames } from './people.js';
import { createUsersPage } from './users.js';
import { createScheduledPage } from './scheduled.js';
import { createWhatsAppPage } from './whatsapp.js';

const VIEWS = [
  'login',
  'dashboard',
  'chats',
  'users',
  'audit',
  'llm',
  'events',
  'scheduled',
  'whatsapp',
  'projections',
];
const ADMIN_VIEWS = new Set(['users', 'audit', 'events', 'projections']);
/** admins and operators (viewers do not see the LLM figures) */
const STAFF_VIEWS = new Set(['llm', 'scheduled']);
const isStaff = () => isAdmin() || currentUser()?.role === 'operator';

translateTree();

const dashboard = createDashboard({ canLinkAudit: isAdmin });
const users = createUsersPage();
const audit = createAuditPage();
const chats = createChatsPage();
const llm = createLlmPage();
const events = createEventsPage();
const scheduled = createScheduledPage();
const whatsapp = createWhatsAppPage();
const projectionsPage = createProjectionsPage();
const live = createLive({
  getToken: wsToken,
  onStatus: (status) => dashboard.status(status),
  onSnapshot: (snapshot) => {
    dashboard.snapshot(snapshot);
    llm.snapshot(snapshot);
  },
  onEvent: (event) => dashboard.event(event),
});

const loginForm = $('#login-form');
const loginError = $('#login-error');
/** the last login failure, described again when the language changes */
let loginProblem = null;

const showLoginProblem = () => {
  if (!loginProblem) return say(loginError, '');
  say(loginError, loginProblem.key ? t(loginProblem.key) : describeError(loginProblem.error), loginProblem.kind);
};

const parseHash = () => {
  const [path = '', query = ''] = location.hash.replace(/^#\/?/, '').split('?');
  // #/events/stream/<id>: the view is the first segment, the rest is the view's own path
  const [name = '', ...segments] = path.split('/');
  return { name: name || 'dashboard', segments, params: new URLSearchParams(query) };
};

const show = (name) => {
  for (const view of VIEWS) $(`#view-${view}`).hidden = view !== name;
  for (const link of document.querySelectorAll('#nav a[data-route]')) {
    if (link.dataset.route === name) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
};

/** Pages that title themselves (and focus their heading when ready); the others are titled here. */
const SELF_TITLED = new Set(['events', 'scheduled', 'whatsapp']);
const titleView = (name, { focus = true } = {}) => {
  if (SELF_TITLED.has(name)) return;
  const heading = $(`#view-${name} h1`);
  if (!heading) return;
  document.title = `${heading.textContent} · ${t('app.title')}`;
  // the LLM page focuses its heading itself once its figures are in
  if (focus && name !== 'llm' && name !== 'login' && document.activeElement !== heading) heading.focus();
};

const route = () => {
  if (!currentUser()) {
    show('login');
    $('#login-username').focus();
    return;
  }
  let { name, segments, params } = parseHash();
  if (
    !VIEWS.includes(name) ||
    name === 'login' ||
    (ADMIN_VIEWS.has(name) && !isAdmin()) ||
    (STAFF_VIEWS.has(name) && !isStaff())
  ) {
    name = 'dashboard';
    history.replaceState(null, '', '#/dashboard');
  }
  show(name);
  if (name === 'chats') chats.show();
  else chats.hide();
  if (name !== 'events') events.hide();
  titleView(name);
  if (name === 'scheduled') void scheduled.show();
  else scheduled.hide();
  if (name === 'dashboard') dashboard.shown();
  else if (name === 'users') void users.show();
  else if (name === 'audit') audit.show(params);
  else if (name === 'llm') void llm.show();
  else if (name === 'events') void events.show(segments, params);
  if (name === 'whatsapp') void whatsapp.show();
  else whatsapp.hide();
  if (name === 'projections') void projectionsPage.show();
  else projectionsPage.hide();
};

const renderChrome = () => {
  const user = currentUser();
  $('#nav').hidden = !user;
  $('#logout').hidden = !user;
  $('#whoami').textContent = user ? t('auth.signedInAs', { user: user.username, role: t(`role.${user.role}`) }) : '';
  for (const link of document.querySelectorAll('#nav [data-admin]')) link.hidden = !isAdmin();
  for (const link of document.querySelectorAll('#nav [data-staff]')) link.hidden = !isStaff();
  for (const button of document.querySelectorAll('[data-lang]'))
    button.setAttribute('aria-pressed', String(button.dataset.lang === getLang()));
};

onSessionChange((user, reason) => {
  renderChrome();
  if (user) {
    live.start();
  } else {
    live.stop();
    dashboard.reset();
    chats.hide();
    chats.reset();
    llm.reset();
    events.reset();
    scheduled.hide();
    scheduled.reset();
    whatsapp.hide();
    whatsapp.reset();
    forgetNames();
    loginProblem = reason === 'expired' ? { key: 'auth.expired', kind: 'info' } : null;
    showLoginProblem();
  }
  route();
});

loginForm.addEventListener('submit', async (event) => {
  event.preventDefault();
  const data = new FormData(loginForm);
  const username = String(data.get('username') ?? '').trim();
  const password = String(data.get('password') ?? '');
  if (!username || !password) {
    loginProblem = { key: 'login.missing', kind: 'error' };
    return showLoginProblem();
  }
  const submit = $('#login-submit');
  submit.disabled = true;
  submit.textContent = t('login.busy');
  try {
    await login(username, password);
    loginForm.reset();
    loginProblem = null;
    showLoginProblem();
  } catch (error) {
    loginProblem = { error, kind: 'error' };
    showLoginProblem();
    $('#login-password').select();
  } finally {
    submit.disabled = false;
    submit.textContent = t('login.submit');
  }
});

$('#logout').addEventListener('click', () => void logout());
for (const button of document.querySelectorAll('[data-lang]'))
  button.addEventListener('click', () => setLang(button.dataset.lang));
window.addEventListener('hashchange', route);
onLangChange(() => {
  renderChrome();
  showLoginProblem();
  if (currentUser()) titleView(parseHash().name, { focus: false });
});

renderChrome();
// A reload keeps the session of this tab (api.js); without one this just shows the login.
restore().then((user) => {
  if (!user) route();
});
