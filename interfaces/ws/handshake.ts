// What the server decides from the HTTP upgrade request alone: whether the origin may open a socket,
// whether the URL carries a credential, and who the client is (its address).
import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';

/**
 * Cross-site WebSocket hijacking needs a victim's browser, and browsers always send Origin on a
 * WebSocket handshake; so a missing Origin (curl, the bench, a CLI) passes, a present one must be
 * listed in CORS_ORIGINS or be this server's own origin (the dashboard the app serves itself).
 * "null" (sandboxed frames, file://) is refused.
 */
export const originAllowed = (
  origin: string | undefined,
  host: string | undefined,
  allowed: ReadonlySet<string>,
  allowSameOrigin: boolean,
): boolean => {
  if (origin === undefined) return true;
  if (allowed.has(origin)) return true;
  if (!allowSameOrigin || host === undefined) return false;
  try {
    const url = new URL(origin);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.host === host.toLowerCase();
  } catch (_error) {
    return false;
  }
};

const CREDENTIAL_PARAM = /token|jwt|auth|bearer|key|secret|pass/i;
const JWT_SHAPE = /eyJ[A-Za-z0-9_-]*\.eyJ/;

/** A query string that carries (or looks like it carries) a credential: refused even when the token is valid. */
export const queryCarriesCredential = (search: URLSearchParams): boolean => {
  for (const [name, value] of search) {
    if (CREDENTIAL_PARAM.test(name) || JWT_SHAPE.test(name) || JWT_SHAPE.test(value)) return true;
  }
  return false;
};

/** The path of the request URL (never logged with its query, which may hold a token). */
export const requestUrl = (req: IncomingMessage): URL | null => {
  try {
    return new URL(req.url ?? '/', 'http://localhost');
  } catch (_error) {
    return null;
  }
};

/**
 * The client address, with Express's `trust proxy` semantics: false/0 uses the socket address, a
 * number n trusts n proxies (the n-th X-Forwarded-For entry from the right), true trusts them all.
 */
export const clientAddress = (req: IncomingMessage, trustProxy: boolean | number): string => {
  const remote = req.socket.remoteAddress ?? 'unknown';
  if (trustProxy === false || trustProxy === 0) return remote;
  const header = req.headers['x-forwarded-for'];
  const forwarded = (Array.isArray(header) ? header.join(',') : (header ?? ''))
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '');
  const chain = [remote, ...forwarded.reverse()];
  const hops = trustProxy === true ? chain.length - 1 : Math.min(trustProxy, chain.length - 1);
  return chain[hops] ?? remote;
};

/** Answers an upgrade request with a plain HTTP error instead of a WebSocket. */
export const refuseUpgrade = (socket: Duplex, status: number, text: string): void => {
  const body = `${text}\n`;
  if (socket.writable) {
    socket.once('finish', () => socket.destroy());
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
  } else {
    socket.destroy();
  }
};
