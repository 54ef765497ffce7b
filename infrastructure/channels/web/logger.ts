import type { makeWASocket } from 'baileys';
import type { MessagingLog } from '#application/messaging/ports.js';

type ILogger = NonNullable<Parameters<typeof makeWASocket>[0]['logger']>;

/**
 * baileys logs through a pino-shaped logger, with whole protocol nodes and keys in its objects at
 * debug/trace. Only warnings and errors come through, and only as text (the message and an error's
 * message), never the objects: no key material or message content reaches our logs.
 */
export const quietBaileysLogger = (log: MessagingLog, numberId: string): ILogger => {
  const textOf = (obj: unknown, msg?: string): string => {
    if (typeof obj === 'string') return obj.slice(0, 300);
    const err = (obj as { err?: unknown; error?: unknown } | null)?.err ?? (obj as { error?: unknown } | null)?.error;
    const detail = err instanceof Error ? `: ${err.message}` : '';
    return `${msg ?? 'baileys'}${detail}`.slice(0, 300);
  };
  const logger: ILogger = {
    level: 'warn',
    child: () => logger,
    trace: () => undefined,
    debug: () => undefined,
    info: () => undefined,
    warn: (obj, msg) => void log.warn('baileys warning', { numberId, detail: textOf(obj, msg) }),
    error: (obj, msg) => void log.warn('baileys error', { numberId, detail: textOf(obj, msg) }),
  };
  return logger;
};
