// Account ids -> usernames, so the audit trail and the live events read "admin" rather than a UUID.
// Only admins may list users; for anyone else ids stay ids.
import { api, isAdmin } from './api.js';
import { h } from './dom.js';

const FRESH_MS = 10_000;
let names = new Map();
let loadedAt = 0;

export const rememberUsers = (users) => {
  names = new Map(users.map((user) => [user.id, user.username]));
  loadedAt = Date.now();
};

/** At logout: the next person in this tab may not be allowed to see them. */
export const forgetNames = () => {
  names = new Map();
  loadedAt = 0;
};

export const loadNames = async () => {
  if (!isAdmin() || Date.now() - loadedAt < FRESH_MS) return;
  try {
    rememberUsers((await api('/api/users')).users);
  } catch {
    // names are a nicety: the ids still show
  }
};

/** The username when the id is a known account (the id stays in the tooltip), else the value as it is. */
export const who = (value) =>
  value && names.has(value) ? h('span', { title: value }, names.get(value)) : (value ?? '');
