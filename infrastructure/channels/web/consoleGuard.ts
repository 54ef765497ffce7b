import type { MessagingLog } from '#application/messaging/ports.js';

/**
 * libsignal (baileys' Signal implementation) prints to the console by itself, and some of its lines
 * carry whole session records — root keys, chain keys, ratchet private keys ("Closing session:
 * SessionEntry {...}"). worker-web must never write key material to its output, so once a Web channel
 * exists in the process, console calls that start with one of libsignal's own messages are dropped, and
 * the message text alone (never its objects) goes to our logger. Every other console call is untouched.
 */
const LIBSIGNAL_MESSAGES = [
  'Closing session',
  'Opening session',
  'Removing old closed session',
  'Session already closed',
  'Session already open',
  'Closing open session in favor of incoming prekey bundle',
  'Migrating session to',
  'Decrypted message with closed session',
  'Failed to decrypt message with any known session',
  'Session error:',
  'V1 session storage migration error',
  'Unhandled bucket type',
  'WARNING: Expected pubkey of length 33',
] as const;

type ConsoleMethod = 'log' | 'info' | 'warn' | 'error' | 'debug';
let installed = false;

export const guardLibsignalConsole = (log: MessagingLog): void => {
  if (installed) return;
  installed = true;
  for (const method of ['log', 'info', 'warn', 'error', 'debug'] as const satisfies readonly ConsoleMethod[]) {
    const original = console[method].bind(console);
    console[method] = (...args: unknown[]) => {
      const first = args[0];
      const known =
        typeof first === 'string' ? LIBSIGNAL_MESSAGES.find((message) => first.startsWith(message)) : undefined;
      if (known === undefined) {
        original(...args);
        return;
      }
      if (method === 'error') log.warn('libsignal', { detail: known });
    };
  }
};
