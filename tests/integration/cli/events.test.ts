import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import type { NewEvent } from '#application/shared/eventStore.js';
import type { Infrastructure } from '#interfaces/process/infrastructure.js';
import { newEvent, waitFor } from '../../support/events.js';
import { createTestSchema } from '../../support/app.js';
import { cliTestEnv, runCliLines, startCliIn, withInfrastructure } from '../../support/cli.js';

const T0 = Date.parse('2026-03-01T00:00:00.000Z');
const at = (ms: number) => new Date(T0 + ms).toISOString();
const HASH = '$argon2id$v=19$m=65536,t=3,p=4$cli-must-not-print-this';

describe('chatbot events (CLI, real Postgres)', function () {
  this.timeout(60_000);
  let schema: Awaited<ReturnType<typeof createTestSchema>>;
  let cwd: string;
  const env = () => cliTestEnv(schema.url);
  /** `chatbot <args>` through the real entry point; out and err fill while it runs. */
  const start = (...args: string[]) => startCliIn({ env: env(), cwd }, args);
  const cli = (...args: string[]) => runCliLines({ env: env(), cwd }, args);
  const withInfra = <T>(fn: (infra: Infrastructure) => Promise<T>) => withInfrastructure(env(), 'events-cli-test', fn);

  const ROOT = randomUUID();
  const CHILD = randomUUID();
  const GRANDCHILD = randomUUID();
  const SIBLING = randomUUID();
  const ACCOUNT = randomUUID();
  const chained = (id: string, type: string, ms: number, causationId: string | null): NewEvent => ({
    ...newEvent(type, { step: type }, { correlationId: 'cli-chain-0001', causationId, occurredAt: at(ms) }),
    id,
  });

  beforeEach(async () => {
    schema = await createTestSchema();
    cwd = mkdtempSync(join(tmpdir(), 'chatbot-events-cli-'));
    await withInfra(async ({ store }) => {
      await store.append(`account-${ACCOUNT}`, [
        newEvent(
          'PasswordChanged',
          { accountId: ACCOUNT, passwordHash: HASH, changedBy: 'system' },
          { occurredAt: at(0) },
        ),
      ]);
      await store.append('process-cli', [
        chained(ROOT, 'CommandReceived', 60_000, null),
        chained(CHILD, 'LlmCallStarted', 60_120, ROOT),
        chained(GRANDCHILD, 'LlmCallSucceeded', 61_620, CHILD),
        chained(SIBLING, 'MessageQueued', 60_300, ROOT),
      ]);
      await store.append('chat-sim-1', [
        newEvent('MessageReceived', { chatId: randomUUID(), text: 'late' }, { occurredAt: at(3_600_000) }),
      ]);
    });
  });
  afterEach(async () => {
    rmSync(cwd, { recursive: true, force: true });
    await schema.drop();
  });

  it('chain draws the causal tree with branches and the gap from each parent', async () => {
    const result = await cli('events', 'chain', 'cli-chain-0001');
    expect(result.code, result.err.join('\n')).to.equal(0);
    const shape = result.out.map((line) => line.replace(/ {2}\d{4}-\d{2}-\d{2}T.*$/, ''));
    expect(shape).to.deep.equal([
      'CommandReceived',
      '├─ LlmCallStarted +120 ms',
      '│  └─ LlmCallSucceeded +1.500 s',
      '└─ MessageQueued +300 ms',
    ]);
    expect(result.out[0]).to.include(ROOT).and.include(at(60_000));
    expect(result.err.join('\n')).to.include('4 events');
  });

  it('show prints one event with its data redacted; unknown or malformed ids fail with a clear message', async () => {
    const shown = await cli('events', 'show', CHILD);
    expect(shown.code).to.equal(0);
    const event = JSON.parse(shown.out.join('\n')) as { type: string; metadata: { causationId: string } };
    expect(event.type).to.equal('LlmCallStarted');
    expect(event.metadata.causationId).to.equal(ROOT);
    const missing = await cli('events', 'show', randomUUID());
    expect(missing.code).to.equal(1);
    expect(missing.err.join('\n')).to.match(/no event has the id/);
    const malformed = await cli('events', 'show', 'nope');
    expect(malformed.code).to.equal(1);
    expect(malformed.err.join('\n')).to.match(/must be a UUID/);
    const badChain = await cli('events', 'chain', 'bad id');
    expect(badChain.code).to.equal(1);
    expect(badChain.err.join('\n')).to.match(/correlation id must be/);
  });

  it('export writes NDJSON for a time range, oldest first, without the password hash', async () => {
    const all = await cli('events', 'export');
    expect(all.code).to.equal(0);
    const types = all.out.map((line) => (JSON.parse(line) as { type: string }).type);
    expect(types).to.deep.equal([
      'PasswordChanged',
      'CommandReceived',
      'LlmCallStarted',
      'LlmCallSucceeded',
      'MessageQueued',
      'MessageReceived',
    ]);
    expect(all.out.join('\n')).not.to.include('cli-must-not-print-this');
    expect(all.out.join('\n')).to.include('"passwordHash":"[redacted]"');
    const ranged = await cli('events', 'export', '--from', at(60_000), '--to', at(61_000));
    expect(ranged.out.map((line) => (JSON.parse(line) as { id: string }).id)).to.deep.equal([ROOT, CHILD, SIBLING]);
    expect(ranged.err.join('\n')).to.include('exported 3 events');
    const bad = await cli('events', 'export', '--from', 'yesterday');
    expect(bad.code).to.equal(1);
    expect(bad.err.join('\n')).to.match(/--from must be an ISO-8601/);
  });

  it('tail follows events appended after it starts, filtered by type and stream', async () => {
    const tail = start('events', 'tail', '--type', 'MessageSent,MessageFailed', '--stream', 'chat-', '--max', '2');
    await waitFor(() => tail.err.some((line) => line.startsWith('following events')), 20_000, 'tail to start');
    await withInfra(async ({ store }) => {
      await store.append('chat-sim-2', [newEvent('MessageReceived', { chatId: randomUUID(), text: 'not followed' })]);
      await store.append('process-x', [newEvent('MessageSent', { n: 0 })]);
      await store.append('chat-sim-2', [newEvent('MessageSent', { n: 1 })]);
      await store.append('chat-sim-3', [newEvent('MessageFailed', { n: 2 })]);
    });
    expect(await tail.done).to.equal(0);
    expect(tail.out).to.have.length(2);
    expect(tail.out[0]).to.match(/MessageSent\s+chat-sim-2/);
    expect(tail.out[1]).to.match(/MessageFailed\s+chat-sim-3/);
    const bad = await cli('events', 'tail', '--max', '0');
    expect(bad.code).to.equal(1);
    expect(bad.err.join('\n')).to.match(/--max must be/);
  });
  it('state folds an account stream as of a time: locked or not, and the events that made it so', async () => {
    const account = randomUUID();
    await withInfra(async ({ store }) => {
      await store.append(`account-${account}`, [
        newEvent(
          'AccountCreated',
          { accountId: account, username: 'carol', role: 'operator', passwordHash: HASH, createdBy: 'system' },
          { occurredAt: at(0) },
        ),
        newEvent(
          'AccountLocked',
          { accountId: account, until: at(600_000), lockoutCount: 1, failures: 5 },
          { occurredAt: at(60_000), correlationId: 'lock-attempt-0001' },
        ),
      ]);
    });
    const before = await cli('events', 'state', `account-${account}`, '--at', at(30_000));
    expect(before.code, before.err.join('\n')).to.equal(0);
    expect(before.out).to.include('  lockedInForce: false').and.include('events folded (1; 1 later):');
    const during = await cli('events', 'state', `account-${account}`, '--at', at(120_000));
    expect(during.out)
      .to.include('  lockedInForce: true')
      .and.include(`  lockedUntil: "${at(600_000)}"`);
    expect(during.out.join('\n')).to.match(/AccountLocked .*corr=lock-attempt-0001/);
    const json = await cli('events', 'state', `account-${account}`, '--at', at(120_000), '--json');
    expect(json.out.join('\n')).not.to.include('cli-must-not-print-this');
    const unsupported = await cli('events', 'state', 'session-sim-1', '--at', at(0));
    expect(unsupported.code).to.equal(1);
    expect(unsupported.err.join('\n')).to.match(
      /Time travel folds account-<id>, chat-<id>, .*; session-sim-1 is not one/,
    );
  });
});
