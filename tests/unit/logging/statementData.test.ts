import { expect } from 'chai';
import { PassThrough } from 'node:stream';
import { createLogger } from '#infrastructure/logging/logger.js';

describe('error log lines never quote statement data', () => {
  it("a pg error's where/detail (the JSON of the event it failed on) and bound values are omitted", () => {
    let out = '';
    const stream = new PassThrough();
    stream.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    const logger = createLogger({ level: 'info', service: 'test', stream });
    const error = Object.assign(new Error('unsupported Unicode escape sequence'), {
      code: '22P05',
      severity: 'ERROR',
      detail: '\\u0000 cannot be converted to text.',
      where: 'JSON data, line 1: {"username":"secret-user","ip":"203.0.113.5"...',
      parameters: ['{"username":"secret-user"}'],
      bindings: ['secret-user'],
    });
    logger.error('unhandled error', { error });
    const line = JSON.parse(out) as { error: Record<string, unknown> };
    expect(out).not.to.include('secret-user');
    expect(out).not.to.include('203.0.113.5');
    expect(line.error).to.include({ code: '22P05', message: 'unsupported Unicode escape sequence' });
    expect(line.error.where).to.equal('[omitted: statement data]');
  });
});
