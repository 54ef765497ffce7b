import { expect } from 'chai';
import type { ChannelLimits } from '#application/messaging/channel.js';
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

  it('adds a random jitter of 0..jitterMs to the per-recipient gap, drawn per message from the injected random', () => {
    const draws = [1, 0, 0.5, 0.25];
    const used: number[] = [];
    const random = () => {
      const next = draws.shift()!;
      used.push(next);
      return next;
    };
    const pacer = createPacer({ random });
    const web = { ...limits, messagesPerSecond: 1000, jitterMs: 2_000 };
    // first message: the draw of 1 makes the gap after it 1 000 + 2 000 ms
    expect(pacer.tryAcquire('n', 'a', web, 0)).to.equal(true);
    pacer.done('n', 'a', 0);
    expect(pacer.tryAcquire('n', 'a', web, 2_999)).to.equal(false);
    expect(pacer.tryAcquire('n', 'a', web, 3_000)).to.equal(true);
    // second: the draw of 0 leaves the bare minimum gap
    pacer.done('n', 'a', 3_000);
    expect(pacer.tryAcquire('n', 'a', web, 3_999)).to.equal(false);
    expect(pacer.tryAcquire('n', 'a', web, 4_000)).to.equal(true);
    // third: half the jitter
    pacer.done('n', 'a', 4_000);
    expect(pacer.tryAcquire('n', 'a', web, 5_999)).to.equal(false);
    expect(pacer.tryAcquire('n', 'a', web, 6_000)).to.equal(true);
    // one draw per message sent (a refused slot draws nothing)
    expect(used).to.deep.equal([1, 0, 0.5, 0.25]);
    expect(draws).to.deep.equal([]);
  });

  it('no jitter (and no random drawn) for channels without jitterMs or with 0', () => {
    let calls = 0;
    const pacer = createPacer({
      random: () => {
        calls += 1;
        return 1;
      },
    });
    const channels: ChannelLimits[] = [
      { ...limits, messagesPerSecond: 1000 },
      { ...limits, messagesPerSecond: 1000, jitterMs: 0 },
    ];
    for (const channel of channels) {
      const numberId = `n-${channel.jitterMs ?? 'none'}`;
      expect(pacer.tryAcquire(numberId, 'a', channel, 0)).to.equal(true);
      pacer.done(numberId, 'a', 0);
      expect(pacer.tryAcquire(numberId, 'a', channel, 999)).to.equal(false);
      expect(pacer.tryAcquire(numberId, 'a', channel, 1_000)).to.equal(true);
    }
    expect(calls).to.equal(0);
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
