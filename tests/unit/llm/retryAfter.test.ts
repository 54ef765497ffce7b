import { expect } from 'chai';
import { retryAfterMs } from '#infrastructure/llm/openaiProvider.js';

describe('Retry-After from a provider', () => {
  const now = Date.parse('2026-03-01T10:00:00.000Z');
  it('reads seconds, an HTTP date, and OpenAI retry-after-ms (which wins)', () => {
    expect(retryAfterMs(new Headers({ 'retry-after': '3' }), now)).to.equal(3000);
    expect(retryAfterMs(new Headers({ 'retry-after': 'Sun, 01 Mar 2026 10:00:05 GMT' }), now)).to.equal(5000);
    expect(retryAfterMs(new Headers({ 'retry-after': '3', 'retry-after-ms': '250' }), now)).to.equal(250);
  });
  it('is null without the header or with one it cannot read, and never negative', () => {
    expect(retryAfterMs(new Headers(), now)).to.equal(null);
    expect(retryAfterMs(undefined, now)).to.equal(null);
    expect(retryAfterMs(new Headers({ 'retry-after': 'soon' }), now)).to.equal(null);
    expect(retryAfterMs(new Headers({ 'retry-after': 'Sun, 01 Mar 2026 09:00:00 GMT' }), now)).to.equal(0);
  });
});
