// The session and every call to the API. The access token lives in memory only. The refresh token is kept
// in sessionStorage (this tab only, gone when the tab closes; never localStorage) so that a reload does
// not log the admin out; it is single use and rotated on every refresh, and reusing an old one revokes
// the whole session on the server, so a copy that leaks is worth little.
const REFRESH_KEY = 'chatbot.refresh';
/** refresh this long before the access token expires (or at 80 % of its life when that is shorter) */
const REFRESH_MARGIN_MS = 60_000;

export class ApiError extends Error {
  constructor(status, code, message, { retryAfterSeconds = null, correlationId = null } = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.retryAfterSeconds = retryAfterSeconds;
    this.correlationId = correlationId;
  }
}

let access = null; // { token, expiresAt }
let refreshToken = null;
let user = null; // { id, username, role }
let refreshTimer = null;
let refreshing = null;
const listeners = new Set();

export const currentUser = () => user;
export const isAdmin = () => user?.role === 'admin';

/** listener(user | null, reason): called on login, restore and every end of the session */
export const onSessionChange = (listener) => listeners.add(listener);
const emit = (reason) => {
  for (const listener of listeners) listener(user, reason);
};

const storage = {
  get: () => {
    try {
      return sessionStorage.getItem(REFRESH_KEY);
    } catch {
      return null;
    }
  },
  set: (value) => {
    try {
      if (value) sessionStorage.setItem(REFRESH_KEY, value);
      else sessionStorage.removeItem(REFRESH_KEY);
    } catch {
      // storage disabled: the session simply does not survive a reload
    }
  },
};

/** Turns a non-2xx response into an ApiError with the API's code, message and Retry-After. */
const failure = async (response) => {
  let body = null;
  try {
    body = await response.json();
  } catch {
    // not JSON (a proxy page): the status says enough
  }
  const retryHeader = Number(response.headers.get('retry-after'));
  const retryAfterSeconds =
    Number.isFinite(retryHeader) && retryHeader > 0 ? retryHeader : (body?.error?.details?.retryAfterSeconds ?? null);
  const code = body?.error?.code ?? (response.status === 503 ? 'unavailable' : `http_${response.status}`);
  return new ApiError(response.status, code, body?.error?.message ?? response.statusText, {
    retryAfterSeconds,
    correlationId: body?.error?.correlationId ?? response.headers.get('x-correlation-id'),
  });
};

const send = async (path, init) => {
  try {
    return await fetch(path, { ...init, credentials: 'same-origin', cache: 'no-store' });
  } catch {
    throw new ApiError(0, 'network', 'network error');
  }
};

const adopt = (pair) => {
  access = { token: pair.access_token, expiresAt: Date.now() + pair.expires_in * 1000 };
  refreshToken = pair.refresh_token;
  storage.set(refreshToken);
  clearTimeout(refreshTimer);
  const lifetime = pair.expires_in * 1000;
  const delay = Math.max(5_000, lifetime - Math.min(REFRESH_MARGIN_MS, lifetime * 0.2));
  refreshTimer = setTimeout(() => {
    refresh().catch(() => {
      // refresh() already ended the session when the server refused it
    });
  }, delay);
};

const end = (reason) => {
  const hadSession = user !== null || access !== null;
  clearTimeout(refreshTimer);
  access = null;
  refreshToken = null;
  user = null;
  storage.set(null);
  if (hadSession) emit(reason);
};

/** Rotates the tokens; concurrent callers share one request (a refresh token works once). */
export const refresh = () => {
  if (refreshing) return refreshing;
  refreshing = (async () => {
    if (!refreshToken) throw new ApiError(401, 'token_missing', 'no session');
    const response = await send('/api/auth/refresh', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ refresh_token: refreshToken }),
    });
    if (!response.ok) {
      const error = await failure(response);
      // A network failure or a 5xx keeps the session for the next try; a refused token ends it.
      if (error.status === 400 || error.status === 401) end('expired');
      throw error;
    }
    adopt(await response.json());
  })().finally(() => {
    refreshing = null;
  });
  return refreshing;
};

/** fetch with the bearer token: refreshes first when it is about to expire, and once more on a 401. */
const authorized = async (path, init = {}, retried = false) => {
  if (!access) throw new ApiError(401, 'token_missing', 'not logged in');
  if (access.expiresAt - Date.now() < 5_000) await refresh();
  const headers = { ...init.headers, authorization: `Bearer ${access.token}` };
  const response = await send(path, { ...init, headers });
  if (response.status === 401 && !retried && refreshToken) {
    await refresh();
    return authorized(path, init, true);
  }
  if (response.status === 401) {
    const error = await failure(response);
    end('expired');
    throw error;
  }
  if (!response.ok) throw await failure(response);
  return response;
};

/** JSON API call; body is serialised when given. Resolves to the parsed body (null for 204). */
export const api = async (path, { method = 'GET', body } = {}) => {
  const init = { method, headers: { accept: 'application/json' } };
  if (body !== undefined) {
    init.headers['content-type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const response = await authorized(path, init);
  return response.status === 204 ? null : response.json();
};

/** The raw response (downloads). */
export const apiRaw = (path, headers = {}) => authorized(path, { headers });

const loadUser = async () => {
  const me = await api('/api/auth/me');
  user = { id: me.id, username: me.username, role: me.role };
};

export const login = async (username, password) => {
  const response = await send('/api/auth/login', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  if (!response.ok) throw await failure(response);
  adopt(await response.json());
  await loadUser();
  emit('login');
  return user;
};

/** After a reload: trades the tab's refresh token for a new pair. Resolves to the user or null. */
export const restore = async () => {
  refreshToken = storage.get();
  if (!refreshToken) return null;
  try {
    await refresh();
    await loadUser();
    emit('restore');
    return user;
  } catch {
    end('expired');
    return null;
  }
};

export const logout = async () => {
  if (access) {
    // Best effort: the local session ends even when the server cannot be reached.
    await send('/api/auth/logout', { method: 'POST', headers: { authorization: `Bearer ${access.token}` } }).catch(
      () => undefined,
    );
  }
  end('logout');
};

export const wsToken = async () => (await api('/api/auth/ws-token', { method: 'POST' })).ws_token;
