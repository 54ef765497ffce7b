// SIGKILL of `app` and of `scheduler` under a steady load (bench/soak-load.ts: logins, simulator messages,
// WebSocket clients), each role a separate OS process on PostgreSQL + Redis, worker-web included.
// After the restart nothing accepted is lost: every simulator message answered 202 has its
// MessageReceived and exactly one reply (MessageQueued caused by it), and the projections resume
// from their checkpoints and catch up with the store. worker-web's kill test is
// tests/integration/messaging/killWorker.test.ts.
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { loadConfig } from '#infrastructure/config/config.js';
import { openInfrastructure, type Infrastructure } from '#interfaces/process/infrastructure.js';
import { readCheckpoints } from '#projections/shared/checkpoints.js';
import { allProjections } from '#projections/registry.js';
import { startLoad } from '../../../bench/soak-load.js';
import { ADMIN_PASSWORD, TEST_JWT_SECRET, TEST_REDIS_URL, createTestSchema } from '../../support/app.js';
import { uniqueName, waitFor } from '../../support/events.js';
import { startChannelServer } from '../../support/httpChannel.js';
import { killHard, spawnWorker } from '../../support/messaging.js';

type Spawned = { child: ChildProcess; output: () => string };

const spawnRole = (script: string[], env: NodeJS.ProcessEnv): Spawned => {
  const child = spawn(process.execPath, ['--import', 'tsx', ...script], {
    cwd: process.cwd(),
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  return { child, output: () => output };
};

for (const victim of ['app', 'scheduler'] as const) {
  describe(`SIGKILL of ${victim} under load (app, worker-web, scheduler as OS processes, PostgreSQL + Redis)`, function () {
    this.timeout(300_000);
    let schema: Awaited<ReturnType<typeof createTestSchema>>;
    let infra: Infrastructure;
    let channel: Awaited<ReturnType<typeof startChannelServer>>;
    const children: ChildProcess[] = [];
    let env: NodeJS.ProcessEnv;
    let baseUrl = '';

    const startAppProcess = async () => {
      const app = spawnRole(['tests/support/app-process.ts'], env);
      children.push(app.child);
      await waitFor(() => /"port":\d+/.test(app.output()) || app.child.exitCode !== null, 90_000, 'the app to listen');
      if (app.child.exitCode !== null) throw new Error(`the app exited: ${app.output()}`);
      baseUrl = `http://127.0.0.1:${(JSON.parse(/\{"port":\d+\}/.exec(app.output())![0]) as { port: number }).port}`;
      return app;
    };
    const processStarts = async (name: string) =>
      (await infra.store.readAll({ filter: { eventTypes: ['ProcessStarted'] } })).filter(
        (e) => (e.data as { name?: string }).name === name,
      ).length;
    const startScheduler = async () => {
      const before = await processStarts('scheduler');
      const scheduler = spawnRole(['interfaces/process/main.ts', 'scheduler'], env);
      children.push(scheduler.child);
      await waitFor(
        async () => (await processStarts('scheduler')) > before || scheduler.child.exitCode !== null,
        90_000,
        'the scheduler to start',
      );
      if (scheduler.child.exitCode !== null) throw new Error(`the scheduler exited: ${scheduler.output()}`);
      return scheduler;
    };

    before(async () => {
      schema = await createTestSchema();
      env = {
        ...process.env,
        NODE_ENV: 'test',
        JWT_SECRET: TEST_JWT_SECRET,
        ADMIN_PASSWORD,
        DATABASE_URL: schema.url,
        REDIS_URL: TEST_REDIS_URL,
        TEST_REDIS_PREFIX: `${uniqueName('kill')}:`,
        LOG_LEVEL: 'warn',
        RATE_LIMIT_LOGIN_PER_MINUTE: '100000',
        RATE_LIMIT_API_PER_MINUTE: '100000',
      };
      channel = await startChannelServer(() => Promise.resolve(null));
      await startAppProcess();
      infra = await openInfrastructure(loadConfig(env), { applicationName: 'kill-test-observer' });
      const worker = await spawnWorker(schema.url, channel.url, { REDIS_URL: TEST_REDIS_URL });
      children.push(worker.child);
      await startScheduler();
    });
    after(async () => {
      for (const child of children) if (child.exitCode === null && child.signalCode === null) await killHard(child);
      await channel?.close();
      await infra?.close();
      await schema?.drop();
    });

    it('loses no accepted message, replies exactly once to each, and the projections resume from their checkpoints', async () => {
      const load = startLoad({
        baseUrl: () => baseUrl,
        username: 'admin',
        password: ADMIN_PASSWORD,
        messagesPerSecond: 10,
        loginsPerSecond: 0.5,
        webSockets: 2,
        tag: `kill-${victim}`,
      });
      await waitFor(() => load.stats.messagesAccepted >= 40, 60_000, '40 accepted messages before the kill');
      const names = allProjections().map((p) => p.name);
      const checkpointsAtKill = await readCheckpoints(infra.db.knex, names);
      const victimChild = victim === 'app' ? children[0]! : children[children.length - 1]!;
      const killedAt = Date.now();
      await killHard(victimChild);
      const acceptedAtKill = load.stats.messagesAccepted;
      // the load goes on against the dead process for a moment, then against the new one
      await waitFor(() => Date.now() - killedAt > 1_000, 5_000, 'a second of load on the dead process');
      if (victim === 'app') await startAppProcess();
      else await startScheduler();
      const recoveredAt = Date.now();
      await waitFor(
        () => load.stats.messagesAccepted >= acceptedAtKill + 40,
        90_000,
        '40 more accepted messages after the restart',
      );
      await load.stop();

      // Every accepted message: its MessageReceived, and exactly one reply caused by it.
      const head = await infra.store.headPosition();
      await waitFor(
        async () => {
          const replies = await infra.store.readAll({ filter: { eventTypes: ['MessageQueued'] } });
          const received = await infra.store.readAll({ filter: { eventTypes: ['MessageReceived'] } });
          const answered = new Set(replies.map((e) => e.metadata.causationId));
          const receivedIds = new Map(received.map((e) => [(e.data as { messageId: string }).messageId, e.id]));
          return load.accepted.every((a) => answered.has(receivedIds.get(a.messageId) ?? ''));
        },
        120_000,
        'a reply to every accepted message',
      );
      const received = await infra.store.readAll({ filter: { eventTypes: ['MessageReceived'] } });
      const replies = await infra.store.readAll({ filter: { eventTypes: ['MessageQueued'] } });
      const receivedById = new Map<string, string[]>();
      for (const e of received) {
        const id = (e.data as { messageId: string }).messageId;
        receivedById.set(id, [...(receivedById.get(id) ?? []), e.id]);
      }
      const repliesByCause = new Map<string, number>();
      for (const e of replies)
        repliesByCause.set(e.metadata.causationId ?? '', (repliesByCause.get(e.metadata.causationId ?? '') ?? 0) + 1);
      const lost = load.accepted.filter((a) => !receivedById.has(a.messageId)).map((a) => a.messageId);
      const duplicatedInbound = [...receivedById].filter(([, ids]) => ids.length > 1).map(([id]) => id);
      const unanswered = load.accepted.filter(
        (a) => (repliesByCause.get(receivedById.get(a.messageId)![0]!) ?? 0) === 0,
      );
      const repliedTwice = load.accepted.filter(
        (a) => (repliesByCause.get(receivedById.get(a.messageId)![0]!) ?? 0) > 1,
      );
      // Projections resume from where they were (a checkpoint never goes back) and catch up with the store.
      await waitFor(
        async () => {
          const now = await readCheckpoints(infra.db.knex, names);
          return names.every((name) => (now.get(name)?.position ?? 0) >= head);
        },
        120_000,
        'every projection caught up with the store',
      );
      const checkpointsAfter = await readCheckpoints(infra.db.knex, names);
      for (const name of names)
        expect(checkpointsAfter.get(name)?.position ?? 0, name).to.be.at.least(
          checkpointsAtKill.get(name)?.position ?? 0,
        );

      console.log(
        `      ${victim} killed: ${load.stats.messagesAccepted} accepted (${acceptedAtKill} before the kill), refused ${JSON.stringify(load.stats.messagesRefused)}, logins refused ${JSON.stringify(load.stats.loginsRefused)}, ` +
          `lost ${lost.length}, inbound duplicates ${duplicatedInbound.length}, unanswered ${unanswered.length}, replied twice ${repliedTwice.length}, ` +
          `restart took ${recoveredAt - killedAt} ms, logins ${load.stats.loginsOk} ok, ws messages ${load.stats.wsMessages}`,
      );
      expect(lost, 'accepted but no MessageReceived').to.deep.equal([]);
      expect(duplicatedInbound, 'one MessageReceived per accepted message').to.deep.equal([]);
      expect(
        unanswered.map((a) => a.messageId),
        'accepted but never answered',
      ).to.deep.equal([]);
      expect(
        repliedTwice.map((a) => a.messageId),
        'answered twice',
      ).to.deep.equal([]);
      expect(load.stats.wsMessages, 'the WebSocket clients got live updates').to.be.above(0);
    });
  });
}
