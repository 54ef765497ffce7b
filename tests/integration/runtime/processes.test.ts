import { expect } from 'chai';
import { ADMIN_PASSWORD, loginAs, request, startTestApp, type TestApp } from '../../support/app.js';
import { waitFor } from '../../support/events.js';
import { startChannelServer } from '../../support/httpChannel.js';
import { killHard, spawnWorker } from '../../support/messaging.js';

// short liveness timings through the configuration, as an operator would set them
const HEARTBEAT_MS = 300;
const MISSED_HEARTBEATS = 5;
const CRASH_AFTER_MS = HEARTBEAT_MS * MISSED_HEARTBEATS;
const timings = {
  PROCESS_HEARTBEAT_MS: String(HEARTBEAT_MS),
  PROCESS_CRASH_MISSED_HEARTBEATS: String(MISSED_HEARTBEATS),
};

describe('process heartbeats: a worker-web that stops reporting is recorded crashed by another process, once', function () {
  this.timeout(180_000);
  let t: TestApp;
  let channel: Awaited<ReturnType<typeof startChannelServer>>;
  const children: Array<Awaited<ReturnType<typeof spawnWorker>>['child']> = [];
  before(async () => {
    t = await startTestApp({
      env: { LOG_LEVEL: 'warn', ...timings },
    });
    channel = await startChannelServer();
  });
  after(async () => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    await channel.close();
    await t.close();
  });

  it('SIGKILL -> ProcessCrashed within a bounded time, recorded once though the app and a second worker both watch', async () => {
    const { access } = await loginAs(t.baseUrl, 'admin', ADMIN_PASSWORD);
    const victim = await spawnWorker(t.databaseUrl, channel.url, timings);
    const witness = await spawnWorker(t.databaseUrl, channel.url, timings);
    children.push(victim.child, witness.child);
    const instanceOf = (pid: number | undefined) => `:${pid}`;
    const processes = async () =>
      (await request(t.baseUrl, 'GET', '/api/admin/processes', { token: access })).body.processes as any[];
    await waitFor(
      async () =>
        (await processes()).filter((p) => p.name === 'worker-web' && p.state === 'running' && p.reporting).length === 2,
      30_000,
      'two worker-web instances reporting',
    );
    const listed = await processes();
    const app = listed.find((p) => p.name === 'app');
    expect(app).to.include({ role: 'app', state: 'running', pid: process.pid });
    const victimRow = listed.find((p) => p.name === 'worker-web' && p.instance.endsWith(instanceOf(victim.child.pid)));
    expect(victimRow).to.include({ role: 'worker-web', pid: victim.child.pid, state: 'running' });
    expect(victimRow.host).to.be.a('string');
    expect(victimRow.heartbeatAgeSeconds).to.be.at.most(2);

    const killedAt = Date.now();
    await killHard(victim.child);
    await waitFor(
      async () => {
        const events = await t.app.infra.store.readStream('process-worker-web');
        return events.some((e) => e.type === 'ProcessCrashed');
      },
      30_000,
      'ProcessCrashed',
    );
    const detectedMs = Date.now() - killedAt;
    console.log(
      `      ProcessCrashed ${detectedMs} ms after the SIGKILL (heartbeat ${HEARTBEAT_MS} ms, crashed after ${CRASH_AFTER_MS} ms silent)`,
    );
    expect(detectedMs).to.be.below(CRASH_AFTER_MS + 10_000);

    // both watchers have had several rounds since: still exactly one ProcessCrashed, naming the victim
    await waitFor(
      async () => (await processes()).some((p) => p.name === 'worker-web' && p.state === 'crashed'),
      10_000,
      'the crashed state in the list',
    );
    const witnessBeat = async () =>
      new Date(
        (await processes()).find((p) => p.instance.endsWith(instanceOf(witness.child.pid))).lastHeartbeatAt,
      ).getTime();
    const first = await witnessBeat();
    await waitFor(async () => (await witnessBeat()) > first + 2 * HEARTBEAT_MS, 20_000, 'more watcher rounds');
    const crashed = (await t.app.infra.store.readStream('process-worker-web')).filter(
      (e) => e.type === 'ProcessCrashed',
    );
    expect(crashed).to.have.length(1);
    expect(crashed[0]!.data.instance).to.match(new RegExp(`${instanceOf(victim.child.pid)}$`));
    expect(crashed[0]!.data.reason).to.match(/^no heartbeat for \d+ s$/);

    const after = await processes();
    expect(after.find((p) => p.instance.endsWith(instanceOf(victim.child.pid))).state).to.equal('crashed');
    expect(after.find((p) => p.instance.endsWith(instanceOf(witness.child.pid))).state).to.equal('running');

    // /healthz shows it in its detail and still answers 200
    const health = await request(t.baseUrl, 'GET', '/healthz');
    expect(health.status).to.equal(200);
    expect(health.body.status).to.equal('ok');
    expect(health.body.detail.processes['worker-web']).to.include({ running: 1, crashed: 1 });
    expect(health.body.detail.processes.app.running).to.be.at.least(1);

    // the audit trail has it as process.crashed (failure)
    await waitFor(
      async () =>
        (await request(t.baseUrl, 'GET', '/api/audit?action=process.crashed', { token: access })).body.entries
          ?.length === 1,
      20_000,
      'process.crashed in the audit trail',
    );

    // a clean stop is `stopped`, never crashed
    const exited = new Promise((resolve) => witness.child.once('exit', resolve));
    witness.child.kill('SIGTERM');
    await exited;
    const final = await processes();
    expect(final.find((p) => p.instance.endsWith(instanceOf(witness.child.pid))).state).to.equal('stopped');
    const events = await t.app.infra.store.readStream('process-worker-web');
    expect(events.filter((e) => e.type === 'ProcessCrashed')).to.have.length(1);
    expect(events.filter((e) => e.type === 'ProcessStopped')).to.have.length(1);
  });
});
