import { Writable } from 'node:stream';
import { expect } from 'chai';
import { loadConfig, redactedConfigSummary } from '#infrastructure/config/config.js';
import { runWithContext } from '#infrastructure/logging/context.js';
import { createLogger } from '#infrastructure/logging/logger.js';
import type { LogLevel } from '#infrastructure/logging/logger.js';
import { Fernet } from '#infrastructure/secrets/fernet.js';

const JWT =
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ1c2VyLTEiLCJpYXQiOjE3MDAwMDAwMDB9.c2lnbmF0dXJlLXZhbHVlLWZvci10ZXN0cw';
const PASSWORD = 'Hunter2-Correct-Horse';
const API_KEY = 'sk-proj-AbCdEfGhIjKlMnOpQrStUvWx0123';
const FERNET_TOKEN = new Fernet(Fernet.generateKey()).encrypt('whatsapp auth state');
const SECRETS = [JWT, PASSWORD, API_KEY, FERNET_TOKEN, 'opaque-refresh-value', 'session=abc123', 'db-password-77'];

type Line = Record<string, unknown> & { message: string; level: string };

const capture = (level: LogLevel = 'info') => {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk.toString('utf8'));
      callback();
    },
  });
  const logger = createLogger({ level, service: 'test-service', stream });
  // Transports may deliver on a later tick; wait for one before reading.
  const output = async () => {
    await new Promise((resolve) => setImmediate(resolve));
    return chunks.join('');
  };
  const lines = async () =>
    (await output())
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as Line);
  return { logger, output, lines };
};

const expectNoSecrets = (output: string) => {
  for (const secret of SECRETS) expect(output).not.to.include(secret);
};

describe('JSON logger', () => {
  it("writes one JSON object per line with timestamp, level, message, service and the caller's fields", async () => {
    const { logger, output, lines } = capture();
    logger.info('projection caught up', { projection: 'accounts', position: 42 });
    logger.warn('second line');
    expect((await output()).split('\n')).to.have.length(3);
    const [first, second] = await lines();
    expect(first).to.include({
      level: 'info',
      message: 'projection caught up',
      service: 'test-service',
      projection: 'accounts',
      position: 42,
    });
    expect(new Date(first!.timestamp as string).toISOString()).to.equal(first!.timestamp);
    expect(second).to.include({ level: 'warn', message: 'second line' });
  });

  it('drops lines below the configured level', async () => {
    const { logger, lines } = capture('info');
    logger.debug('noisy');
    logger.http('GET /healthz');
    logger.info('kept');
    expect((await lines()).map((line) => line.message)).to.deep.equal(['kept']);
  });

  it('redacts credentials given as fields, at any depth, and keeps the ordinary fields next to them', async () => {
    const { logger, output, lines } = capture();
    logger.info('login attempt', {
      username: 'alice',
      password: PASSWORD,
      access_token: JWT,
      refresh_token: 'opaque-refresh-value',
      request: {
        headers: {
          authorization: `Bearer ${JWT}`,
          cookie: 'session=abc123',
          'x-api-key': API_KEY,
          accept: 'application/json',
        },
      },
      settings: [
        { name: 'openai', apiKey: API_KEY },
        { name: 'db', credentials: { user: 'chatbot', pass: 'db-password-77' } },
      ],
      env: { JWT_SECRET: PASSWORD, FERNET_KEYS: 'k1,k2', ws_token: JWT, PORT: '8003' },
    });
    expectNoSecrets(await output());
    const [line] = await lines();
    expect(line).to.deep.include({ username: 'alice', password: '[REDACTED]', access_token: '[REDACTED]' });
    expect(line!.request).to.deep.equal({
      headers: {
        authorization: '[REDACTED]',
        cookie: '[REDACTED]',
        'x-api-key': '[REDACTED]',
        accept: 'application/json',
      },
    });
    expect(line!.settings).to.deep.equal([
      { name: 'openai', apiKey: '[REDACTED]' },
      { name: 'db', credentials: { user: '[REDACTED]', pass: '[REDACTED]' } },
    ]);
    expect(line!.env).to.deep.equal({
      JWT_SECRET: '[REDACTED]',
      FERNET_KEYS: '[REDACTED]',
      ws_token: '[REDACTED]',
      PORT: '8003',
    });
  });

  it('scrubs JWTs, Bearer credentials, API keys, Fernet tokens and URL passwords inside text, the message included', async () => {
    const { logger, output, lines } = capture();
    logger.info(`provider call with ${API_KEY} failed for token ${JWT}`, {
      detail: `header was Bearer opaque-refresh-value; blob ${FERNET_TOKEN}`,
      dsn: 'postgres://chatbot:db-password-77@postgres:5432/chatbot',
    });
    expectNoSecrets(await output());
    const [line] = await lines();
    expect(line!.message).to.equal('provider call with [REDACTED] failed for token [REDACTED]');
    expect(line!.detail).to.equal('header was Bearer [REDACTED]; blob [REDACTED]');
    expect(line!.dsn).to.equal('postgres://chatbot:[REDACTED]@postgres:5432/chatbot');
  });

  it('logs errors by name and message, scrubbed, without the stack at info level', async () => {
    const { logger, output, lines } = capture('info');
    const error = Object.assign(new TypeError(`upstream refused ${API_KEY} and ${JWT}`), {
      code: 'E_UPSTREAM',
      config: { headers: { Authorization: `Bearer ${JWT}` } },
    });
    logger.error(error);
    logger.error('LLM provider timeout', error);
    logger.warn('fallback used', { error: new Error('wrapped', { cause: error }) });
    const text = await output();
    expectNoSecrets(text);
    expect(text).not.to.include('    at ');
    const [direct, withMessage, nested] = await lines();
    expect(direct!.message).to.equal('upstream refused [REDACTED] and [REDACTED]');
    expect(direct!.error).to.deep.equal({
      name: 'TypeError',
      message: 'upstream refused [REDACTED] and [REDACTED]',
      code: 'E_UPSTREAM',
      config: { headers: { Authorization: '[REDACTED]' } },
    });
    expect(withMessage!.message).to.match(/^LLM provider timeout/);
    expect(withMessage!.error).to.deep.include({ name: 'TypeError', code: 'E_UPSTREAM' });
    expect((nested!.error as { cause: { name: string } }).cause.name).to.equal('TypeError');
  });

  it('includes the stack only at debug level, scrubbed as well', async () => {
    const { logger, output, lines } = capture('debug');
    logger.error('crash', { error: new Error(`bad key ${API_KEY}`) });
    expectNoSecrets(await output());
    const [line] = await lines();
    expect((line!.error as { stack: string }).stack).to.match(/^Error: bad key \[REDACTED\]\n\s+at /);
  });

  it('every line logged inside runWithContext carries its correlation id, also after an await, and none outside', async () => {
    const { logger, lines } = capture();
    logger.info('before');
    await runWithContext({ correlationId: 'req-corr-0001', actor: 'user-7' }, async () => {
      logger.info('start');
      await new Promise((resolve) => setTimeout(resolve, 5));
      logger.info('after timer');
      await Promise.resolve();
      logger.child({ component: 'projections' }).warn('from a child logger');
      logger.log({ level: 'info', message: 'as an object' });
    });
    logger.info('after');
    const all = await lines();
    expect(all.map((line) => [line.message, line.correlationId])).to.deep.equal([
      ['before', undefined],
      ['start', 'req-corr-0001'],
      ['after timer', 'req-corr-0001'],
      ['from a child logger', 'req-corr-0001'],
      ['as an object', 'req-corr-0001'],
      ['after', undefined],
    ]);
    expect(all[3]).to.include({ actor: 'user-7', component: 'projections' });
  });

  it('concurrent contexts keep their own correlation ids, and an explicit one wins', async () => {
    const { logger, lines } = capture();
    const request = (id: string, delay: number) =>
      runWithContext({ correlationId: id }, async () => {
        await new Promise((resolve) => setTimeout(resolve, delay));
        logger.info(`done ${id}`);
      });
    await Promise.all([request('req-slow-0001', 15), request('req-fast-0002', 1)]);
    runWithContext({ correlationId: 'req-outer-003' }, () =>
      logger.info('replayed event', { correlationId: 'evt-origin-04' }),
    );
    const all = await lines();
    expect(all.map((line) => [line.message, line.correlationId])).to.deep.equal([
      ['done req-fast-0002', 'req-fast-0002'],
      ['done req-slow-0001', 'req-slow-0001'],
      ['replayed event', 'evt-origin-04'],
    ]);
  });

  it('keeps counts and flags under token-like names, and survives circular data', async () => {
    const { logger, lines } = capture();
    const circular: Record<string, unknown> = { name: 'loop' };
    circular.self = circular;
    logger.info('LLM call succeeded', {
      provider: 'openai',
      tokens: { prompt: 12, completion: 30 },
      passwordChanged: true,
      circular,
    });
    const [line] = await lines();
    expect(line).to.deep.include({
      tokens: { prompt: 12, completion: 30 },
      passwordChanged: true,
      circular: { name: 'loop', self: '[Circular]' },
    });
  });

  it('operational markers stay greppable in the message', async () => {
    const { logger, output } = capture();
    const markers = ['SECURITY_LOGIN_FAILED', 'lockout', 'rate limit', 'provider', 'fallback', 'timeout', 'circuit'];
    for (const marker of markers) logger.warn(`${marker} for user alice`, { ip: '10.0.0.9' });
    const text = await output();
    for (const marker of markers) expect(text).to.include(`"message":"${marker} for user alice"`);
  });

  it('the redacted config summary logs as "set"/"not set", not as [REDACTED] and not as the secrets', async () => {
    const { logger, output, lines } = capture();
    const config = loadConfig({
      JWT_SECRET: `${PASSWORD}-${PASSWORD}-${PASSWORD}`,
      ADMIN_PASSWORD: PASSWORD,
      OPENAI_API_KEY: API_KEY,
    });
    logger.info('configuration loaded', redactedConfigSummary(config));
    logger.info('whole config by mistake', { config });
    expectNoSecrets(await output());
    const [summary, mistake] = await lines();
    expect(summary).to.include({
      JWT_SECRET: 'set',
      ADMIN_PASSWORD: 'set',
      OPENAI_API_KEY: 'set',
      WHATSAPP_APP_SECRET: 'not set',
      PORT: 8003,
    });
    expect(mistake!.config).to.include({ JWT_SECRET: 'set' });
  });
});
