// Spanish (default) and English strings, and the language switch (remembered in localStorage: it is a
// preference, not a secret). Static text is marked in index.html with data-i18n; code calls t().
import { LLM_STRINGS } from './llm-i18n.js';
import { SCHEDULED_STRINGS } from './scheduled-i18n.js';
import { EVENTS_STRINGS } from './events-i18n.js';
import { WHATSAPP_STRINGS } from './whatsapp-i18n.js';
import { PROJECTIONS_STRINGS } from './projections-i18n.js';

const STORAGE_KEY = 'chatbot.lang';
export const LANGUAGES = ['es', 'en'];

const strings = {
  es: {
    ...LLM_STRINGS.es,
    ...SCHEDULED_STRINGS.es,
    ...EVENTS_STRINGS.es,
    ...WHATSAPP_STRINGS.es,
    ...PROJECTIONS_STRINGS.es,
    'app.title': 'Consola del chatbot',
    'app.noscript': 'La consola necesita JavaScript.',
    'lang.label': 'Idioma',
    'nav.label': 'Secciones',
    'nav.dashboard': 'Panel en vivo',
    'nav.users': 'Usuarios',
    'nav.audit': 'Auditoría',
    'auth.logout': 'Cerrar sesión',
    'auth.signedInAs': '{user} ({role})',
    'auth.expired': 'La sesión ha caducado. Vuelve a iniciar sesión.',
    'login.title': 'Iniciar sesión',
    'login.subtitle': 'Acceso para administradores y operadores.',
    'login.username': 'Usuario',
    'login.password': 'Contraseña',
    'login.submit': 'Entrar',
    'login.busy': 'Entrando…',
    'login.missing': 'Escribe el usuario y la contraseña.',
    'error.invalid_credentials': 'Usuario o contraseña incorrectos.',
    'error.account_locked': 'Demasiados intentos fallidos. Podrás volver a intentarlo dentro de {wait} (a las {at}).',
    'error.rate_limited': 'Demasiados intentos desde esta dirección. Espera {wait} (hasta las {at}).',
    'error.unavailable': 'El servicio no está disponible ahora mismo. Inténtalo de nuevo en unos segundos.',
    'error.network': 'No se pudo contactar con el servidor. Comprueba la conexión.',
    'error.forbidden': 'No tienes permiso para esta acción.',
    'error.username_taken': 'Ese nombre de usuario ya existe.',
    'error.weak_password': 'La contraseña debe tener al menos 8 caracteres.',
    'error.invalid_username': 'El usuario debe tener de 2 a 64 caracteres: letras, dígitos, punto, guion o guion bajo.',
    'error.generic': 'Error ({code}): {message}',
    'live.title': 'Conexión en vivo',
    'live.connecting': 'Conectando…',
    'live.live': 'En vivo',
    'live.reconnecting': 'Reconectando en {seconds} s',
    'live.closed': 'Conexión cerrada: {reason} (código {code})',
    'live.stopped': 'Desconectado',
    'live.lastSnapshot': 'Última instantánea: {time}',
    'reason.connection_lost': 'conexión perdida',
    'reason.network': 'sin red',
    'reason.server_shutdown': 'el servidor se está reiniciando',
    'reason.slow_consumer': 'el navegador no leía a tiempo',
    'reason.auth_timeout': 'autenticación fuera de tiempo',
    'reason.token_expired': 'token caducado',
    'reason.token_already_used': 'token ya usado',
    'reason.token_revoked': 'sesión revocada',
    'reason.too_many_connections_user': 'demasiadas conexiones de este usuario',
    'reason.too_many_connections_ip': 'demasiadas conexiones desde esta dirección',
    'reason.internal_error': 'error interno del servidor',
    'chart.messages': 'Mensajes por segundo',
    'chart.messagesIn': 'entrantes',
    'chart.messagesOut': 'salientes',
    'chart.security': 'Accesos fallidos y bloqueos por minuto',
    'chart.loginFailures': 'accesos fallidos',
    'chart.lockouts': 'bloqueos',
    'chart.lag': 'Retraso de proyecciones (eventos)',
    'chart.waiting': 'Esperando datos…',
    'chart.ago': 'hace 2 min',
    'chart.now': 'ahora',
    'card.queue': 'Cola de salida',
    'card.queueDepth': 'mensajes en cola',
    'card.queueOldest': 'el más antiguo: {age}',
    'card.processes': 'Procesos',
    'card.circuits': 'Proveedores LLM',
    'card.noProviders': 'Ninguna llamada a un LLM todavía.',
    'card.whatsapp': 'WhatsApp',
    'card.sessions': 'sesiones conectadas',
    'card.security': 'Seguridad',
    'card.locked': 'cuentas bloqueadas ahora',
    'card.projections': 'Proyecciones',
    'card.position': 'posición del último evento',
    'card.rateLimited': 'limitados (último minuto): {n}',
    'card.maxLag': 'retraso máximo: {age}',
    'card.calls': '{calls} llamadas · {errors} errores · p95 {p95}',
    'card.llmToday':
      'Hoy: {calls} llamadas · {errors} errores · {fallbacks} cambios de proveedor · {tokens} tokens · {cost} USD',
    'state.running': 'en marcha',
    'state.stopped': 'parado',
    'state.crashed': 'caído',
    'state.unknown': 'desconocido',
    'state.since': 'desde {time}',
    'circuit.closed': 'cerrado',
    'circuit.open': 'abierto',
    'circuit.half_open': 'semiabierto',
    'events.title': 'Eventos en vivo',
    'events.hint': 'Los últimos 100, el más reciente arriba.',
    'events.empty': 'Todavía no ha llegado ningún evento.',
    'col.type': 'Tipo',
    'col.stream': 'Flujo',
    'col.time': 'Hora',
    'col.correlation': 'ID de correlación',
    'col.actor': 'Actor',
    'col.username': 'Usuario',
    'col.role': 'Rol',
    'col.status': 'Estado',
    'col.failed': 'Fallos',
    'col.lastLogin': 'Último acceso',
    'col.actions': 'Acciones',
    'col.action': 'Acción',
    'col.target': 'Objetivo',
    'col.outcome': 'Resultado',
    'col.ip': 'IP',
    'users.title': 'Usuarios',
    'users.create': 'Crear usuario',
    'users.password': 'Contraseña (mín. 8)',
    'users.submit': 'Crear',
    'users.created': 'Usuario {user} creado.',
    'users.empty': 'No hay usuarios.',
    'users.disable': 'Desactivar',
    'users.enable': 'Activar',
    'users.unlock': 'Desbloquear',
    'users.changed': 'Hecho: {user}.',
    'users.unchanged': 'Nada que cambiar: {user}.',
    'users.reload': 'Recargar',
    'locks.title': 'Inicios de sesión bloqueados',
    'locks.help':
      'Tras LOGIN_MAX_FAILURES fallos desde una dirección se bloquea solo esa dirección para ese usuario; tras LOGIN_ACCOUNT_MAX_FAILURES fallos desde todas, la cuenta entera. Los nombres sin cuenta se bloquean igual.',
    'locks.scope': 'Alcance',
    'locks.until': 'Hasta',
    'locks.empty': 'Ningún inicio de sesión bloqueado.',
    'locks.source': 'desde {source}',
    'locks.account': 'cuenta entera (todas las direcciones)',
    'locks.unknown': '(sin cuenta)',
    'locks.unlock': 'Desbloquear',
    'locks.unlockLabel': 'Desbloquear {user} ({scope})',
    'users.lastAdmin': 'Es el único administrador activo: crea o activa otro antes.',
    'error.last_admin':
      'Es el único administrador activo: crea o activa otro administrador antes de desactivarlo o cambiar su rol.',
    'error.invalid_text': 'El texto contiene caracteres no permitidos (caracteres de control o invisibles).',
    'role.admin': 'administrador',
    'role.operator': 'operador',
    'role.viewer': 'lector',
    'status.active': 'activo',
    'status.disabled': 'desactivado',
    'status.locked': 'bloqueado',
    'outcome.success': 'correcto',
    'outcome.failure': 'fallido',
    'outcome.denied': 'denegado',
    'audit.title': 'Auditoría',
    'audit.filters': 'Filtros',
    'audit.actor': 'Actor',
    'audit.action': 'Acción (p. ej. login.failed o login.*)',
    'audit.correlation': 'ID de correlación',
    'audit.apply': 'Buscar',
    'audit.clear': 'Limpiar',
    'audit.more': 'Cargar más',
    'audit.download': 'Descargar NDJSON',
    'audit.downloading': 'Preparando la descarga…',
    'audit.downloaded': 'Descarga lista: {name}',
    'audit.empty': 'Ninguna entrada coincide con los filtros.',
    'audit.count': '{n} entradas mostradas',
    'common.never': 'nunca',
    'common.none': '—',
    'nav.chats': 'Conversaciones',
    'chats.title': 'Conversaciones',
    'chats.simulator': 'Simulador',
    'chats.simHint': 'Escribe como si fueras un contacto: el bot contesta en el mismo chat.',
    'chats.simFrom': 'Número del contacto',
    'chats.simText': 'Mensaje',
    'chats.simSend': 'Enviar como contacto',
    'chats.simMissing': 'Escribe el número del contacto y el mensaje.',
    'chats.search': 'Buscar (contacto o texto)',
    'chats.list': 'Chats',
    'chats.log': 'Mensajes del chat',
    'chats.empty': 'Todavía no hay conversaciones.',
    'chats.paused': 'pausado',
    'chats.pausedLong': 'Bot en pausa: atiende una persona',
    'chats.botActive': 'El bot responde',
    'chats.pause': 'Pausar el bot',
    'chats.resume': 'Reanudar el bot',
    'chats.unread': '{n} sin leer',
    'chats.windowOpen': 'Ventana de 24 h abierta: se puede enviar texto libre.',
    'chats.windowClosed': 'Ventana de 24 h cerrada: en la API de Cloud solo se pueden enviar plantillas.',
    'chats.reply': 'Mensaje manual',
    'chats.send': 'Enviar',
    'chats.sent': 'Mensaje en cola.',
    'chats.forget': 'Olvidar a {contact}',
    'chats.forgetTitle': '¿Olvidar a {contact}?',
    'chats.forgetWhat':
      'Se destruyen las claves de datos de {contact} en todos los números: su número de teléfono, su nombre y todos los mensajes que envió o recibió pasan a leerse como [erased] en el registro de eventos, las exportaciones y la consola, y la conversación desaparece de las listas. Queda en el registro de auditoría quién lo hizo (con el id del chat, no el número).',
    'chats.forgetUndo': 'No se puede deshacer: ni una copia de seguridad devuelve lo destruido.',
    'chats.forgetCancel': 'Cancelar',
    'chats.forgetConfirm': 'Olvidar a {contact} para siempre',
    'chats.forgetDone': '{contact} olvidado en {numbers} número(s): {keys} claves destruidas.',
    'chats.forgottenTitle': 'Contacto olvidado',
    'chats.forgottenState': 'Olvidado',
    'chats.forgottenHint': 'Así se leen ahora sus mensajes en el registro de eventos.',
    'chats.forgottenUnread': '(no se pudo leer del registro)',
    'chats.forgetSeeEvents': 'Ver el chat en la página de eventos',
    'msg.fromContact': 'contacto',
    'msg.queued': 'en cola',
    'msg.sending': 'enviando',
    'msg.retrying': 'reintentando',
    'msg.sent': 'enviado',
    'msg.delivered': 'entregado',
    'msg.read': 'leído',
    'msg.failed': 'fallido',
    'msg.dead': 'no entregable',
    'msg.dropped': 'descartado',
    'source.bot': 'bot',
    'source.manual': 'manual',
    'source.api': 'API',
    'source.scheduled': 'programado',
    'error.outside_customer_service_window': 'La ventana de 24 horas está cerrada: envía una plantilla aprobada.',
    'error.invalid_recipient': 'El número no es válido (formato E.164, p. ej. 34600000000).',
    'error.number_disabled': 'Ese número está desactivado.',
  },
  en: {
    ...LLM_STRINGS.en,
    ...SCHEDULED_STRINGS.en,
    ...EVENTS_STRINGS.en,
    ...WHATSAPP_STRINGS.en,
    ...PROJECTIONS_STRINGS.en,
    'app.title': 'Chatbot console',
    'app.noscript': 'The console needs JavaScript.',
    'lang.label': 'Language',
    'nav.label': 'Sections',
    'nav.dashboard': 'Live dashboard',
    'nav.users': 'Users',
    'nav.audit': 'Audit',
    'auth.logout': 'Log out',
    'auth.signedInAs': '{user} ({role})',
    'auth.expired': 'Your session has expired. Please log in again.',
    'login.title': 'Log in',
    'login.subtitle': 'Access for admins and operators.',
    'login.username': 'Username',
    'login.password': 'Password',
    'login.submit': 'Log in',
    'login.busy': 'Logging in…',
    'login.missing': 'Enter the username and the password.',
    'error.invalid_credentials': 'Wrong username or password.',
    'error.account_locked': 'Too many failed attempts. You can try again in {wait} (at {at}).',
    'error.rate_limited': 'Too many attempts from this address. Wait {wait} (until {at}).',
    'error.unavailable': 'The service is unavailable right now. Try again in a few seconds.',
    'error.network': 'Could not reach the server. Check the connection.',
    'error.forbidden': 'You do not have permission for this action.',
    'error.username_taken': 'That username already exists.',
    'error.weak_password': 'The password must have at least 8 characters.',
    'error.invalid_username': 'The username must be 2-64 characters: letters, digits, dot, dash or underscore.',
    'error.generic': 'Error ({code}): {message}',
    'live.title': 'Live connection',
    'live.connecting': 'Connecting…',
    'live.live': 'Live',
    'live.reconnecting': 'Reconnecting in {seconds} s',
    'live.closed': 'Connection closed: {reason} (code {code})',
    'live.stopped': 'Disconnected',
    'live.lastSnapshot': 'Last snapshot: {time}',
    'reason.connection_lost': 'connection lost',
    'reason.network': 'no network',
    'reason.server_shutdown': 'the server is restarting',
    'reason.slow_consumer': 'the browser did not keep up',
    'reason.auth_timeout': 'authentication timed out',
    'reason.token_expired': 'token expired',
    'reason.token_already_used': 'token already used',
    'reason.token_revoked': 'session revoked',
    'reason.too_many_connections_user': 'too many connections for this user',
    'reason.too_many_connections_ip': 'too many connections from this address',
    'reason.internal_error': 'internal server error',
    'chart.messages': 'Messages per second',
    'chart.messagesIn': 'inbound',
    'chart.messagesOut': 'outbound',
    'chart.security': 'Login failures and lockouts per minute',
    'chart.loginFailures': 'login failures',
    'chart.lockouts': 'lockouts',
    'chart.lag': 'Projection lag (events)',
    'chart.waiting': 'Waiting for data…',
    'chart.ago': '2 min ago',
    'chart.now': 'now',
    'card.queue': 'Outbound queue',
    'card.queueDepth': 'queued messages',
    'card.queueOldest': 'oldest: {age}',
    'card.processes': 'Processes',
    'card.circuits': 'LLM providers',
    'card.noProviders': 'No LLM calls yet.',
    'card.whatsapp': 'WhatsApp',
    'card.sessions': 'connected sessions',
    'card.security': 'Security',
    'card.locked': 'accounts locked now',
    'card.projections': 'Projections',
    'card.position': 'newest event position',
    'card.rateLimited': 'rate limited (last minute): {n}',
    'card.maxLag': 'max lag: {age}',
    'card.calls': '{calls} calls · {errors} errors · p95 {p95}',
    'card.llmToday': 'Today: {calls} calls · {errors} errors · {fallbacks} fallbacks · {tokens} tokens · {cost} USD',
    'state.running': 'running',
    'state.stopped': 'stopped',
    'state.crashed': 'crashed',
    'state.unknown': 'unknown',
    'state.since': 'since {time}',
    'circuit.closed': 'closed',
    'circuit.open': 'open',
    'circuit.half_open': 'half open',
    'events.title': 'Live events',
    'events.hint': 'The last 100, newest first.',
    'events.empty': 'No events yet.',
    'col.type': 'Type',
    'col.stream': 'Stream',
    'col.time': 'Time',
    'col.correlation': 'Correlation id',
    'col.actor': 'Actor',
    'col.username': 'Username',
    'col.role': 'Role',
    'col.status': 'Status',
    'col.failed': 'Failures',
    'col.lastLogin': 'Last login',
    'col.actions': 'Actions',
    'col.action': 'Action',
    'col.target': 'Target',
    'col.outcome': 'Outcome',
    'col.ip': 'IP',
    'users.title': 'Users',
    'users.create': 'Create user',
    'users.password': 'Password (min. 8)',
    'users.submit': 'Create',
    'users.created': 'User {user} created.',
    'users.empty': 'No users.',
    'users.disable': 'Disable',
    'users.enable': 'Enable',
    'users.unlock': 'Unlock',
    'users.changed': 'Done: {user}.',
    'users.unchanged': 'Nothing to change: {user}.',
    'users.reload': 'Reload',
    'locks.title': 'Locked logins',
    'locks.help':
      'After LOGIN_MAX_FAILURES failures from one address only that address is locked for that user; after LOGIN_ACCOUNT_MAX_FAILURES failures from all addresses, the whole account. Names without an account are locked alike.',
    'locks.scope': 'Scope',
    'locks.until': 'Until',
    'locks.empty': 'No locked logins.',
    'locks.source': 'from {source}',
    'locks.account': 'whole account (every address)',
    'locks.unknown': '(no account)',
    'locks.unlock': 'Unlock',
    'locks.unlockLabel': 'Unlock {user} ({scope})',
    'users.lastAdmin': 'This is the only active admin: create or enable another one first.',
    'error.last_admin':
      'This is the only active admin: create or enable another admin before disabling or demoting it.',
    'error.invalid_text': 'The text contains characters that are not allowed (control or invisible characters).',
    'role.admin': 'admin',
    'role.operator': 'operator',
    'role.viewer': 'viewer',
    'status.active': 'active',
    'status.disabled': 'disabled',
    'status.locked': 'locked',
    'outcome.success': 'success',
    'outcome.failure': 'failure',
    'outcome.denied': 'denied',
    'audit.title': 'Audit',
    'audit.filters': 'Filters',
    'audit.actor': 'Actor',
    'audit.action': 'Action (e.g. login.failed or login.*)',
    'audit.correlation': 'Correlation id',
    'audit.apply': 'Search',
    'audit.clear': 'Clear',
    'audit.more': 'Load more',
    'audit.download': 'Download NDJSON',
    'audit.downloading': 'Preparing the download…',
    'audit.downloaded': 'Download ready: {name}',
    'audit.empty': 'No entry matches the filters.',
    'audit.count': '{n} entries shown',
    'common.never': 'never',
    'common.none': '—',
    'nav.chats': 'Conversations',
    'chats.title': 'Conversations',
    'chats.simulator': 'Simulator',
    'chats.simHint': 'Write as if you were a contact: the bot answers in the same chat.',
    'chats.simFrom': 'Contact number',
    'chats.simText': 'Message',
    'chats.simSend': 'Send as contact',
    'chats.simMissing': 'Enter the contact number and the message.',
    'chats.search': 'Search (contact or text)',
    'chats.list': 'Chats',
    'chats.log': 'Chat messages',
    'chats.empty': 'No conversations yet.',
    'chats.paused': 'paused',
    'chats.pausedLong': 'Bot paused: a person is answering',
    'chats.botActive': 'The bot answers',
    'chats.pause': 'Pause the bot',
    'chats.resume': 'Resume the bot',
    'chats.unread': '{n} unread',
    'chats.windowOpen': '24-hour window open: free text can be sent.',
    'chats.windowClosed': '24-hour window closed: on the Cloud API only templates can be sent.',
    'chats.reply': 'Manual message',
    'chats.send': 'Send',
    'chats.sent': 'Message queued.',
    'chats.forget': 'Forget {contact}',
    'chats.forgetTitle': 'Forget {contact}?',
    'chats.forgetWhat':
      "The data keys of {contact} are destroyed on every number: its phone number, its name and every message it sent or received then read as [erased] in the event log, exports and the console, and the conversation disappears from the lists. The audit log records who did it (with the chat's id, not the number).",
    'chats.forgetUndo': 'This cannot be undone: not even a backup brings back what is destroyed.',
    'chats.forgetCancel': 'Cancel',
    'chats.forgetConfirm': 'Forget {contact} for good',
    'chats.forgetDone': '{contact} forgotten on {numbers} number(s): {keys} keys destroyed.',
    'chats.forgottenTitle': 'Contact forgotten',
    'chats.forgottenState': 'Forgotten',
    'chats.forgottenHint': 'This is how its messages now read in the event log.',
    'chats.forgottenUnread': '(could not be read from the log)',
    'chats.forgetSeeEvents': 'See the chat in the Events page',
    'msg.fromContact': 'contact',
    'msg.queued': 'queued',
    'msg.sending': 'sending',
    'msg.retrying': 'retrying',
    'msg.sent': 'sent',
    'msg.delivered': 'delivered',
    'msg.read': 'read',
    'msg.failed': 'failed',
    'msg.dead': 'undeliverable',
    'msg.dropped': 'dropped',
    'source.bot': 'bot',
    'source.manual': 'manual',
    'source.api': 'API',
    'source.scheduled': 'scheduled',
    'error.outside_customer_service_window': 'The 24-hour window is closed: send an approved template.',
    'error.invalid_recipient': 'The number is not valid (E.164 format, e.g. 34600000000).',
    'error.number_disabled': 'That number is disabled.',
  },
};

/** Read by tests/e2e/i18n.test.ts: both languages must have the same keys. */
export const catalogue = strings;

const listeners = new Set();

const stored = () => {
  try {
    return localStorage.getItem(STORAGE_KEY);
  } catch {
    return null;
  }
};

let current = LANGUAGES.includes(stored()) ? stored() : 'es';

export const getLang = () => current;

/** Translates a key; {name} placeholders are filled from params. Unknown keys show the key (visible in tests). */
export const t = (key, params = {}) => {
  const text = strings[current][key] ?? strings.es[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (match, name) => (name in params ? String(params[name]) : match));
};

export const has = (key) => key in strings[current];

/** Fills every data-i18n (text) and data-i18n-<attribute> (placeholder, aria-label, title) under root. */
export const translateTree = (root = document) => {
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const attribute of ['placeholder', 'aria-label', 'title']) {
    const dataName = `data-i18n-${attribute}`;
    for (const el of root.querySelectorAll(`[${dataName}]`)) el.setAttribute(attribute, t(el.getAttribute(dataName)));
  }
  document.documentElement.lang = current;
  document.title = t('app.title');
};

export const setLang = (lang) => {
  if (!LANGUAGES.includes(lang) || lang === current) return;
  current = lang;
  try {
    localStorage.setItem(STORAGE_KEY, lang);
  } catch {
    // private mode: the choice lasts for this page only
  }
  translateTree();
  for (const listener of listeners) listener(lang);
};

/** Called after every language change, so views can re-render what they built with t(). */
export const onLangChange = (listener) => {
  listeners.add(listener);
  return () => listeners.delete(listener);
};

const locale = () => (current === 'es' ? 'es-ES' : 'en-GB');

export const formatTime = (iso) =>
  iso
    ? new Intl.DateTimeFormat(locale(), { hour: '2-digit', minute: '2-digit', second: '2-digit' }).format(new Date(iso))
    : t('common.none');

export const formatDateTime = (iso) =>
  iso
    ? new Intl.DateTimeFormat(locale(), { dateStyle: 'short', timeStyle: 'medium' }).format(new Date(iso))
    : t('common.never');

export const formatNumber = (value, digits = 0) =>
  new Intl.NumberFormat(locale(), { maximumFractionDigits: digits, minimumFractionDigits: 0 }).format(value);

/** 75 -> "1 min 15 s"; the units read the same in both languages. */
export const formatDuration = (seconds) => {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return s % 60 === 0 ? `${m} min` : `${m} min ${s % 60} s`;
  const h = Math.floor(m / 60);
  return m % 60 === 0 ? `${h} h` : `${h} h ${m % 60} min`;
};
