import { expect } from 'chai';
import {
  acceptCorrelationId,
  currentContext,
  isValidCorrelationId,
  newCorrelationId,
  runWithContext,
  runWithContextPatch,
} from '#infrastructure/logging/context.js';

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('request context', () => {
  it('new correlation ids are distinct uuid v4', () => {
    const ids = new Set(Array.from({ length: 100 }, () => newCorrelationId()));
    expect(ids.size).to.equal(100);
    for (const id of ids) expect(id).to.match(UUID_V4);
  });

  it('accepts a uuid or 8 to 64 characters of letters, digits, dot, underscore and dash', () => {
    for (const good of [
      newCorrelationId(),
      'A1B2C3D4-E5F6-4A7B-8C9D-0E1F2A3B4C5D',
      'req-1234',
      'trace_id.2024-01-01',
      'x'.repeat(64),
    ]) {
      expect(isValidCorrelationId(good), good).to.equal(true);
    }
  });

  it('refuses anything that could forge or flood a log line', () => {
    for (const bad of [
      'short',
      'x'.repeat(65),
      'has space1',
      'line\nbreak',
      '<script>x</script>',
      'a"quote"b',
      '',
      'ünïcödé-id',
    ]) {
      expect(isValidCorrelationId(bad), bad).to.equal(false);
    }
    for (const notString of [undefined, null, 12345678, ['req-1234']])
      expect(isValidCorrelationId(notString)).to.equal(false);
  });

  it('acceptCorrelationId keeps a valid id and replaces anything else with a fresh one', () => {
    expect(acceptCorrelationId('req-1234')).to.equal('req-1234');
    expect(acceptCorrelationId('bad id')).to.match(UUID_V4);
    expect(acceptCorrelationId(undefined)).to.match(UUID_V4);
  });

  it('the context is visible inside runWithContext, after awaits and timers, and gone outside', async () => {
    expect(currentContext()).to.equal(undefined);
    const seen = await runWithContext({ correlationId: 'req-aaaa1111', ip: '10.0.0.1' }, async () => {
      const before = currentContext()?.correlationId;
      await new Promise((resolve) => setTimeout(resolve, 5));
      const afterTimer = currentContext()?.correlationId;
      await Promise.resolve();
      return [before, afterTimer, currentContext()?.ip];
    });
    expect(seen).to.deep.equal(['req-aaaa1111', 'req-aaaa1111', '10.0.0.1']);
    expect(currentContext()).to.equal(undefined);
  });

  it("concurrent requests never see each other's context", async () => {
    const run = (id: string, delay: number) =>
      runWithContext({ correlationId: id }, async () => {
        await new Promise((resolve) => setTimeout(resolve, delay));
        return currentContext()?.correlationId;
      });
    expect(await Promise.all([run('req-first1', 15), run('req-second2', 1), run('req-third33', 8)])).to.deep.equal([
      'req-first1',
      'req-second2',
      'req-third33',
    ]);
  });

  it('a patch adds the actor for the rest of the request and keeps the correlation id', () => {
    runWithContext({ correlationId: 'req-bbbb2222', ip: '10.0.0.2' }, () => {
      runWithContextPatch({ actor: 'user-1' }, () => {
        expect(currentContext()).to.deep.equal({ correlationId: 'req-bbbb2222', ip: '10.0.0.2', actor: 'user-1' });
      });
      expect(currentContext()?.actor).to.equal(undefined);
    });
    expect(runWithContextPatch({ actor: 'system' }, () => currentContext()?.correlationId)).to.match(UUID_V4);
  });
});
