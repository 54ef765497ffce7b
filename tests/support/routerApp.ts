import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough, type Writable } from 'node:stream';
import type { Router } from 'express';
import type { Authenticator } from '#application/identity/sessions.js';
import { createTokenService } from '#infrastructure/identity/jwt.js';
import { createLogger, type LogLevel } from '#infrastructure/logging/logger.js';
import { createHttpApp } from '#interfaces/http/app.js';
import { fixedSessions, type FixedSession } from './sessions.js';

export type RouterTestApp = {
  /** http://127.0.0.1:<port> */
  base: string;
  /** an access token of one of the fixed sessions */
  tokenFor(session: Pick<FixedSession, 'accountId' | 'sessionId'>): string;
  close(): Promise<void>;
};

/**
 * For router tests: the real app factory (interfaces/http/app.ts: middleware, error map) around the
 * routers under test, on a free port, with an identity whose only active sessions are `sessions`.
 */
export const startRouterApp = async (options: {
  routers: (identity: Authenticator) => Router[];
  sessions?: readonly FixedSession[];
  /** where the app's log lines go (default: nowhere) */
  logStream?: Writable;
  logLevel?: LogLevel;
}): Promise<RouterTestApp> => {
  const tokens = createTokenService({
    secret: 'router-test-secret-0123456789-abcdefghijklmnopqrstuv',
    issuer: 'chatbot',
    audience: 'chatbot-console',
    accessTtlSeconds: 900,
    refreshTtlSeconds: 3600,
    wsTtlSeconds: 30,
  });
  const identity: Authenticator = { tokens, sessions: fixedSessions(options.sessions ?? []) };
  const app = createHttpApp({
    logger: createLogger({
      level: options.logLevel ?? 'error',
      service: 'test',
      stream: options.logStream ?? new PassThrough(),
    }),
    corsOrigins: [],
    bodyLimit: '10kb',
    routers: options.routers(identity),
  });
  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    tokenFor: (session) => tokens.issueAccessToken(session).token,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
};
