import { isRole, ROLES, type Role } from './events.js';
import { InvalidRole, InvalidUsername, WeakPassword } from './errors.js';

/**
 * The one source of each input rule of the identity context: the use cases enforce them, the HTTP
 * schemas and the OpenAPI document quote the same bounds.
 */
export const USERNAME_MIN_LENGTH = 2;
export const USERNAME_MAX_LENGTH = 64;
export const PASSWORD_MIN_LENGTH = 8;
/** argon2 takes any length; the bound keeps one request from costing a hash of megabytes */
export const PASSWORD_MAX_LENGTH = 1024;

const USERNAME = new RegExp(`^[a-z0-9][a-z0-9._-]{${USERNAME_MIN_LENGTH - 1},${USERNAME_MAX_LENGTH - 1}}$`);

/** Usernames are case-insensitive: trimmed and lowercased before anything else. */
export const normaliseUsername = (username: string): string => username.trim().toLowerCase();

export const isValidUsername = (username: string): boolean => USERNAME.test(normaliseUsername(username));

/** The normalised username, or InvalidUsername. */
export const checkUsername = (username: string): string => {
  const normalised = normaliseUsername(username);
  if (!USERNAME.test(normalised)) throw new InvalidUsername(USERNAME_MIN_LENGTH, USERNAME_MAX_LENGTH);
  return normalised;
};

export const checkPassword = (password: string): string => {
  if (password.length < PASSWORD_MIN_LENGTH || password.length > PASSWORD_MAX_LENGTH)
    throw new WeakPassword(PASSWORD_MIN_LENGTH, PASSWORD_MAX_LENGTH);
  return password;
};

export const checkRole = (role: unknown): Role => {
  if (!isRole(role)) throw new InvalidRole(ROLES);
  return role;
};

/**
 * Control characters, bidi overrides and lone surrogates in a name shown to people (logs, the
 * audit trail, the console) written as \uXXXX, so a line reads as it is stored and a name cannot
 * reorder the text around it.
 */
export const printable = (text: string): string =>
  text.replace(
    // eslint-disable-next-line no-control-regex -- matching control characters is the point
    /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
