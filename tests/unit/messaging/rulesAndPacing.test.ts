import { expect } from 'chai';
import { backoffDelayMs, createPacer } from '#application/messaging/pacing.js';
import { DEFAULT_RULES, compileRules } from '#application/messaging/rules.js';

describe('rules responder', () => {
  const match = compileRules(DEFAULT_RULES);

  it('answers the shipped Spanish defaults by keyword, ignoring case and accents', () => {
    expect(match('Hola!')?.source).to.equal('rules:greeting');
    expect(match('¿Qué HORARIO tenéis?')?.source).to.equal('rules:hours');
    expect(match('necesito AYUDA')?.source).to.equal('rules:help');
    expect(match('??')?.source).to.equal('rules:help');
  });

  it('falls back when nothing matches, and says nothing without a fallback', () => {
    expect(match('quiero devolver un pedido')).to.deep.equal({
      text: DEFAULT_RULES.fallback,
      source: 'rules:fallback',
    });
    expect(compileRules({ rules: [], fallback: null })('x')).to.equal(null);
  });

  it('matches whole words only ("hi" is not in "chicken")', () => {
    const only = compileRules({ rules: [{ name: 'hi', keywords: ['hi'], answer: 'hey' }], fallback: null });
    expect(only('chicken')).to.equal(null);
    expect(only('hi there')?.text).to.equal('hey');
  });
});

describe('pacing', () => {
  const limits = { messagesPerSecond: 2, minGapPerRecipientMs: 1_000, maxTextLength: 4096 };

  it('holds a number to its rate: a burst waits for tokens instead of failing', () => {
    const pacer = createPacer();
    expect(pacer.tryAcquire('n', 'a', limits, 0)).to.equal(true);
    expect(pacer.tryAcquire('n', 'b', limits, 0)).to.equal(true);
    expect(pacer.tryAcquire('n', 'c', limits, 0)).to.equal(false);
    expect(pacer.tryAcquire('n', 'c', limits, 500)).to.equal(true);
  });

  it('one message in flight per recipient, then a minimum gap', () => {
    const pacer = createPacer();
    const fast = { ...limits, messagesPerSecond: 1000 };
    expect(pacer.tryAcquire('n', 'a', fast, 0)).to.equal(true);
    expect(pacer.tryAcquire('n', 'a', fast, 10)).to.equal(false);
    pacer.done('n', 'a', 100);
    expect(pacer.tryAcquire('n', 'a', fast, 600)).to.equal(false);
    expect(pacer.tryAcquire('n', 'a', fast, 1_100)).to.equal(true);
  });

  it('backs off exponentially with jitter, capped, and honours Retry-After', () => {
    const options = { baseMs: 1_000, maxMs: 10_000 };
    expect(backoffDelayMs(1, options, () => 1)).to.equal(1_000);
    expect(backoffDelayMs(1, options, () => 0)).to.equal(500);
    expect(backoffDelayMs(3, options, () => 1)).to.equal(4_000);
    expect(backoffDelayMs(10, options, () => 1)).to.equal(10_000);
    expect(backoffDelayMs(1, options, () => 0, 30_000)).to.equal(30_000);
  });
});
