import { spawn, type ChildProcess } from 'node:child_process';
import { expect } from 'chai';
import { Fernet } from '#infrastructure/secrets/fernet.js';
import { ADMIN_PASSWORD, loginAs, request, startTestApp, TEST_JWT_SECRET, type TestApp } from '../../support/app.js';
import { waitFor } from '../../support/events.js';
import { killHard } from '../../support/messaging.js';
import { startWaPeer, type WaPeer } from '../../support/waPeer.js';
import { waitForWhatsAppEvent, whatsappEvents } from '../../support/webWorker.js';

const FERNET_KEY = Fernet.generateKey();

/** worker-web with the Web channel, in its own OS process (tests/support/webWorkerProcess.ts). */
const spawnWebWorker = async (t: TestApp, peer: WaPeer) => {
  const child = spawn(process.execPath, ['--import', 'tsx', 'tests/support/webWorkerProcess.ts'], {
    cwd: process.cwd(),
    env: {
      ...process.env,
      NODE_ENV: 'test',
      JWT_SECRET: TEST_JWT_SECRET,
      ADMIN_PASSWORD,
      DATABASE_URL: t.databaseUrl,
      REDIS_URL: '',
      FERNET_KEYS: FERNET_KEY,
      WHATSAPP_WEB_URL: peer.url,
      WA_PEER_ROOT: peer.rootPublicKey.toString('base64'),
      WHATSAPP_NUMBER_LEASE_SECONDS: '2',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  await waitFor(() => output.includes('"ready":true') || child.exitCode !== null, 60_000, 'the worker to start');
  if (child.exitCode !== null) throw new Error(`the worker exited with ${child.exitCode}`);
  const printedQrs = () =>
    output
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { qr?: string })
      .filter((line) => line.qr !== undefined);
  return { child, printedQrs };
};

describe('WhatsApp Web: worker-web killed with SIGKILL resumes the session from the stored auth state (separate OS processes, real protocol)', function () {
  this.timeout(180_000);
  let peer: WaPeer;
  let t: TestApp;
  let children: ChildProcess[] = [];
  before(async () => {
    peer = await startWaPeer({ refs: 6 });
    t = await startTestApp({ env: { FERNET_KEYS: FERNET_KEY } });
  });
  after(async () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) await killHard(child);
    children = [];
    await t?.close();
    await peer?.close();
  });

  it('pairs once; after SIGKILL a new worker logs in with the stored creds: no new QR, connected again', async () => {
    const admin = (await loginAs(t.baseUrl, 'admin', ADMIN_PASSWORD)).access;
    const created = await request(t.baseUrl, 'POST', '/api/numbers', {
      token: admin,
      body: { id: 'wa-kill', name: 'Survives', kind: 'web' },
    });
    expect(created.status).to.equal(201);

    const first = await spawnWebWorker(t, peer);
    children.push(first.child);
    let view: any;
    await waitFor(
      async () =>
        (view = (await request(t.baseUrl, 'GET', '/api/numbers/wa-kill/pairing', { token: admin })).body).state ===
        'qr',
      60_000,
      'a QR',
    );
    // worker-web printed the same QR in its terminal
    await waitFor(() => first.printedQrs().some((line) => line.qr === view.qr), 10_000, 'the terminal QR');
    await peer.scan(view.qr);
    const connected = await waitForWhatsAppEvent(
      t,
      'wa-kill',
      (e) => e.type === 'WhatsAppConnected',
      60_000,
      'connected',
    );
    expect(connected.data).to.include({ newLogin: true });
    const registrations = peer.connections.filter((c) => c.kind === 'registration').length;

    await killHard(first.child);
    const connectionsBefore = peer.connections.length;
    const second = await spawnWebWorker(t, peer);
    children.push(second.child);
    const resumed = await waitForWhatsAppEvent(
      t,
      'wa-kill',
      (e) => e.type === 'WhatsAppConnected' && e.position > connected.position,
      60_000,
      'connected again after the kill',
    );
    expect(resumed.data).to.include({ newLogin: false });
    expect(resumed.type === 'WhatsAppConnected' && resumed.data.worker).to.not.equal(
      connected.type === 'WhatsAppConnected' && connected.data.worker,
    );
    const after = (await whatsappEvents(t, 'wa-kill')).filter((e) => e.position > connected.position);
    expect(after.map((e) => e.type)).to.deep.equal(['WhatsAppConnecting', 'WhatsAppConnected']);
    expect(after[0]!.data).to.include({ cause: 'open' });
    // through the peer: the new process logged in as the paired device, it did not register again
    const fresh = peer.connections.slice(connectionsBefore);
    expect(fresh.map((c) => c.kind)).to.deep.equal(['login']);
    expect(fresh[0]!.login).to.deep.equal({ username: '34600000001', device: 7 });
    expect(peer.connections.filter((c) => c.kind === 'registration')).to.have.length(registrations);
    expect(second.printedQrs()).to.deep.equal([]);
    await waitFor(
      async () =>
        (await request(t.baseUrl, 'GET', '/api/numbers/wa-kill/pairing', { token: admin })).body.state === 'connected',
      10_000,
      'the pairing view',
    );
  });
});
