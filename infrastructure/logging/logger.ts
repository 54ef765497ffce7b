// One JSON object per line on stdout (docker compose logs | grep works), every line redacted and stamped
// with the correlation id of the request, message or job it belongs to.
import type { Writable } from 'node:stream';
import winston from 'winston';
import { currentContext } from './context.js';
import type { RequestContext } from './context.js';
import { redact, scrubText } from './redact.js';

export type Logger = winston.Logger;
export type LogLevel = 'error' | 'warn' | 'info' | 'http' | 'debug';

export type CreateLoggerOptions = {
  level: LogLevel;
  /** Process name in every line (app, worker-web, scheduler, cli). */
  service: string;
  /** Where lines go; tests pass their own stream. Default stdout. */
  stream?: Writable;
};

// triple-beam's well-known symbols, which winston uses to carry the extra arguments and the output line.
const MESSAGE = Symbol.for('message');
const SPLAT = Symbol.for('splat');
// The request context at the moment of the call: transports may run later, outside the async context.
const CONTEXT = Symbol('chatbot.logContext');

type Info = winston.Logform.TransformableInfo & { [CONTEXT]?: RequestContext; [SPLAT]?: unknown[] };

// Fields the line builds itself; a caller's field of the same name cannot forge them.
const RESERVED = new Set(['level', 'message', 'timestamp', 'service', 'stack']);

const messageText = (message: unknown): string => {
  if (typeof message === 'string') return message;
  try {
    return JSON.stringify(redact(message, { includeStack: false })) ?? '';
  } catch {
    return '[unserialisable message]';
  }
};

/** Builds the JSON line from winston's info object; runs for every line, so nothing skips redaction. */
const jsonLine = (service: string, includeStack: () => boolean) =>
  winston.format((info: Info) => {
    const options = { includeStack: includeStack() };
    const context = info[CONTEXT];
    const fields: Record<string, unknown> = {};
    // logger.error(err) hands winston the Error itself (its fields then go under `error` only);
    // logger.error('msg', err) spreads its fields and keeps the Error in SPLAT.
    const error = info instanceof Error ? info : info[SPLAT]?.find((arg): arg is Error => arg instanceof Error);
    if (!(info instanceof Error))
      for (const [key, value] of Object.entries(info)) if (!RESERVED.has(key)) fields[key] = value;
    if (error !== undefined && fields.error === undefined) fields.error = error;
    if (options.includeStack && error === undefined && typeof info.stack === 'string') fields.stack = info.stack;
    const line = {
      timestamp: new Date().toISOString(),
      level: info.level,
      message: scrubText(messageText(info.message)),
      service,
      ...(context?.correlationId !== undefined ? { correlationId: context.correlationId } : {}),
      ...(context?.actor != null ? { actor: context.actor } : {}),
      ...(redact(fields, options) as Record<string, unknown>),
    };
    info[MESSAGE] = JSON.stringify(line);
    return info;
  })();

/** A winston logger writing redacted JSON lines; `correlationId` comes from the request context when set. */
export const createLogger = ({ level, service, stream }: CreateLoggerOptions): Logger => {
  const logger: Logger = winston.createLogger({
    level,
    levels: winston.config.npm.levels,
    exitOnError: false,
    format: jsonLine(service, () => (logger.levels[logger.level] ?? 0) >= (logger.levels.debug ?? 5)),
    transports: [new winston.transports.Stream({ stream: stream ?? process.stdout })],
  });
  // winston calls write() synchronously from log()/info()/child loggers, so this is the last point where the
  // caller's async context is certainly current.
  const write = logger.write.bind(logger) as (info: Info) => boolean;
  Object.defineProperty(logger, 'write', {
    value: (info: Info) => {
      info[CONTEXT] = currentContext();
      return write(info);
    },
  });
  return logger;
};
