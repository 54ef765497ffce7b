import { expect } from 'chai';
import {
  classifyGraphError,
  META_ERRORS,
  parseRetryAfter,
  ruleFor,
} from '#infrastructure/channels/cloud/metaErrors.js';
import { metaErrorBody } from '../../support/cloudPayloads.js';

const metaError = (code: number, details?: string) =>
  metaErrorBody({ code, ...(details !== undefined ? { details } : {}) });

describe("Meta's error codes", () => {
  const retryable = [1, 2, 4, 80007, 130429, 131000, 131016, 131048, 131056, 131057, 133004, 133016];
  const permanent = [
    0, 3, 10, 100, 190, 200, 250, 368, 131005, 131008, 131009, 131021, 131026, 131030, 131031, 131042, 131045, 131047,
    131049, 131050, 131051, 131052, 131053, 132000, 132001, 132005, 132007, 132012, 132015, 132016, 133010, 130472,
    130497, 135000,
  ];

  for (const code of retryable)
    it(`${code} (${ruleFor(code)?.title}) is retried later`, () => {
      const failure = classifyGraphError(400, metaError(code), undefined);
      expect(failure).to.include({ status: 'failed', retryable: true, code: String(code) });
    });

  for (const code of permanent)
    it(`${code} (${ruleFor(code)?.title}) is permanent, even when Meta answers 5xx`, () => {
      expect(classifyGraphError(400, metaError(code), undefined)).to.include({ retryable: false, code: String(code) });
      expect(classifyGraphError(500, metaError(code), undefined)).to.include({ retryable: false });
    });

  it('covers every code of the table in this test', () => {
    const tested = new Set([...retryable, ...permanent]);
    for (const code of Object.keys(META_ERRORS).map(Number)) expect(tested.has(code), String(code)).to.equal(true);
  });

  it("keeps Meta's message and details, bounded, as the failure message", () => {
    const failure = classifyGraphError(
      400,
      metaError(131030, 'Add recipient phone number to recipient list.'),
      undefined,
    );
    expect(failure.message).to.equal(
      '(#131030) Recipient phone number not in allowed list: Add recipient phone number to recipient list.',
    );
    const long = classifyGraphError(400, metaError(100, 'x'.repeat(5000)), undefined);
    expect(long.message.length).to.be.at.most(300);
  });

  it('scrubs anything shaped like a credential out of the message', () => {
    const failure = classifyGraphError(401, metaError(190, 'token Bearer EAAGabcdefghijklmnop is expired'), undefined);
    expect(failure.message).not.to.include('EAAGabcdefghijklmnop');
  });

  it('an unknown Meta code is decided by the HTTP status', () => {
    expect(classifyGraphError(400, metaError(999999), undefined)).to.include({ retryable: false, code: '999999' });
    expect(classifyGraphError(503, metaError(999999), undefined)).to.include({ retryable: true, code: '999999' });
    expect(classifyGraphError(429, metaError(999999), undefined)).to.include({ retryable: true });
  });

  it("a body that is not Meta's error shape: 429 and 5xx retry, other statuses do not", () => {
    expect(classifyGraphError(500, '<html>oops</html>', undefined)).to.include({ retryable: true, code: 'http_500' });
    expect(classifyGraphError(502, undefined, undefined)).to.include({ retryable: true, code: 'http_502' });
    expect(classifyGraphError(429, {}, 2000)).to.deep.include({
      retryable: true,
      code: 'http_429',
      retryAfterMs: 2000,
    });
    expect(classifyGraphError(404, { error: 'nope' }, undefined)).to.include({ retryable: false, code: 'http_404' });
  });

  it("Retry-After wins; without it the pair rate limit suggests Meta's 6 s gap; permanent failures carry none", () => {
    expect(classifyGraphError(400, metaError(131056), 30_000).retryAfterMs).to.equal(30_000);
    expect(classifyGraphError(400, metaError(131056), undefined).retryAfterMs).to.equal(6_000);
    expect(classifyGraphError(400, metaError(130429), undefined)).not.to.have.property('retryAfterMs');
    expect(classifyGraphError(400, metaError(131026), 5_000)).not.to.have.property('retryAfterMs');
  });

  it('reads Retry-After as seconds or as an HTTP date', () => {
    const now = new Date('2026-11-29T10:00:00Z');
    expect(parseRetryAfter('7', now)).to.equal(7_000);
    expect(parseRetryAfter('Sun, 29 Nov 2026 10:00:30 GMT', now)).to.equal(30_000);
    expect(parseRetryAfter('Sun, 29 Nov 2026 09:00:00 GMT', now)).to.equal(0);
    expect(parseRetryAfter('soon', now)).to.equal(undefined);
    expect(parseRetryAfter(null, now)).to.equal(undefined);
    expect(parseRetryAfter('99999999', now)).to.equal(24 * 3600 * 1000);
  });
});
