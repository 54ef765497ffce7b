import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { systemRuntime } from '#infrastructure/shared/runtime.js';
import { recordProcessEvent } from '#interfaces/process/lifecycle.js';
import { allProjections } from '#projections/registry.js';
import { newEvent } from '../../support/events.js';
import { ADMIN_PASSWORD, TEST_JWT_SECRET, TEST_REDIS_URL, startTestApp, type TestApp } from '../../support/app.js';
import { runCliIn } from '../../support/cli.js';
import { TcpProxy } from '../../support/tcp-proxy.js';

// Secrets the configuration holds; none may reach the bundle, in any file.
const FERNET_KEY = Buffer.alloc(32, 7).toString('base64url') + '=';
const METRICS_TOKEN = 'metrics-token-0123456789abcdef';
const OPENAI_KEY = 'sk-doctor-test-key-0123456789abcdef';
const SESSION_TOKEN = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJkb2N0b3ItdGVzdCJ9.c2lnbmF0dXJlLWZvci1kb2N0b3ItdGVzdA';

describe('chatbot doctor (runbook sections 0 and 15)', function () {
  this.timeout(60_000);
  let app: TestApp;
  let work: string;

  before(async () => {
    app = await startTestApp({
      redis: true,
      env: { FERNET_KEYS: FERNET_KEY, METRICS_TOKEN, OPENAI_API_KEY: OPENAI_KEY },
    });
  });
  after(() => app.close());
  beforeEach(() => {
    work = mkdtempSync(path.join(tmpdir(), 'chatbot-doctor-'));
  });
  afterEach(() => rmSync(work, { recursive: true, force: true }));

  const env = (overrides: Record<string, string> = {}): NodeJS.ProcessEnv => ({
    NODE_ENV: 'test',
    JWT_SECRET: TEST_JWT_SECRET,
    ADMIN_PASSWORD,
    DATABASE_URL: app.databaseUrl,
    REDIS_URL: TEST_REDIS_URL,
    FERNET_KEYS: FERNET_KEY,
    METRICS_TOKEN,
    OPENAI_API_KEY: OPENAI_KEY,
    PATH: process.env.PATH,
    ...overrides,
  });

  const doctor = (environment: NodeJS.ProcessEnv, ...argv: string[]) =>
    runCliIn({ env: environment, cwd: work, projections: () => allProjections() }, [
      'doctor',
      '--out',
      path.join(work, 'out'),
      ...argv,
    ]);

  /** Extracts the one bundle with the system's tar; returns every file's path and text. */
  const extract = (): Map<string, string> => {
    const [bundle] = readdirSync(path.join(work, 'out')).filter((name) => name.endsWith('.tar.gz'));
    expect(bundle, 'a .tar.gz in --out').to.match(/^doctor-\d{8}T\d{6}Z\.tar\.gz$/);
    const into = path.join(work, 'x');
    execFileSync('mkdir', ['-p', into]);
    execFileSync('tar', ['-xzf', path.join(work, 'out', bundle!), '-C', into]);
    const files = new Map<string, string>();
    const walk = (dir: string) => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const full = path.join(dir, entry.name);
        if (entry.isDirectory()) walk(full);
        else files.set(path.relative(into, full).split(path.sep).slice(1).join('/'), readFileSync(full, 'utf8'));
      }
    };
    walk(into);
    return files;
  };

  it('all healthy: every dependency answers, one verdict per check, exit 0 and a bundle', async () => {
    await recordProcessEvent(app.app.infra.store, systemRuntime, 'ProcessStarted', { name: 'app', role: 'app' });
    const result = await doctor(env(), '--lang', 'en', '--url', app.baseUrl);
    expect(result.code, result.out + result.err).to.equal(0);
    expect(result.out)
      .to.match(/^chatbot doctor: started \d{4}-\d{2}-\d{2}T/m)
      .and.match(/^\[OK\] PostgreSQL answers \(/m)
      .and.match(/^\[OK\] event store \(postgres\) answers \(.*position \d+\)/m)
      .and.match(/^\[OK\] Redis: PONG/m)
      .and.match(/^\[OK\] http:\/\/127\.0\.0\.1:\d+\/healthz: 200 OK/m)
      .and.match(/^\[OK\] processes: app: started \d{4}-/m)
      .and.match(/^\[OK\] projections: caught up \(/m)
      .and.match(/^Result: every dependency answers\.$/m);

    const files = extract();
    expect([...files.keys()]).to.include.members([
      'summary.json',
      'verdict.txt',
      'versions.json',
      'config.json',
      'events.ndjson',
      'projections.json',
    ]);
    const versions = JSON.parse(files.get('versions.json')!);
    expect(versions).to.include({ chatbot: '0.1.0', node: process.version, eventStore: 'postgres' });
    expect(versions.postgres).to.match(/^\d+/);
    expect(versions.redis).to.match(/^\d+\./);
    const events = files
      .get('events.ndjson')!
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(events.map((e) => e.type)).to.include('ProcessStarted');
    expect(JSON.parse(files.get('projections.json')!).map((p: { name: string }) => p.name)).to.include('accounts');
    expect(JSON.parse(files.get('config.json')!)).to.include({ JWT_SECRET: 'set', ADMIN_PASSWORD: 'set' });
  });

  it('speaks Spanish by default, in the runbook words', async () => {
    const result = await doctor(env());
    expect(result.code, result.out).to.equal(0);
    expect(result.out)
      .to.match(/sección 0: timestamp de inicio registrado/)
      .and.match(/^\[OK\] PostgreSQL responde/m)
      .and.match(/^\[N\/A\] \/healthz: sin --url/m)
      .and.match(/^Evidencia: .*\.tar\.gz$/m)
      .and.match(/^Resultado: todas las dependencias responden\.$/m);
  });

  it('database down: non-zero exit naming the database, and the bundle is still written', async () => {
    // A port that was just open and is now closed: connections are refused at once.
    const closed = await new Promise<number>((resolve) => {
      const server = net.createServer().listen(0, '127.0.0.1', () => {
        const { port } = server.address() as net.AddressInfo;
        server.close(() => resolve(port));
      });
    });
    const result = await doctor(env({ DATABASE_URL: `postgres://postgres@127.0.0.1:${closed}/test` }), '--lang', 'en');
    expect(result.code).to.equal(1);
    expect(result.out)
      .to.match(
        /^\[DOWN\] PostgreSQL does not answer \(.*ECONNREFUSED.*\): section 5 \(PostgreSQL connection error\)$/m,
      )
      .and.match(/^\[DOWN\] event store \(postgres\) does not answer/m)
      .and.match(/^\[OK\] Redis: PONG/m)
      .and.match(/^Result: DOWN: database, eventStore\. Section 15: restart the affected service/m);
    expect(result.err).to.include('something is down');
    const files = extract();
    expect(files.get('verdict.txt')).to.include('PostgreSQL does not answer');
    expect(JSON.parse(files.get('events.ndjson')!)).to.have.property('error');
  });

  it('database cut mid-way (tcp proxy): answers, then down naming it, then answers again', async () => {
    const proxy = new TcpProxy({ host: '127.0.0.1', port: 5432 });
    await proxy.start();
    try {
      const url = app.databaseUrl.replace('127.0.0.1:5432', `127.0.0.1:${proxy.port}`);
      expect(url).to.not.equal(app.databaseUrl);
      const before = await doctor(env({ DATABASE_URL: url }), '--lang', 'en');
      expect(before.code, before.out).to.equal(0);
      proxy.cut();
      const during = await doctor(env({ DATABASE_URL: url }), '--lang', 'en', '--timeout', '2000');
      expect(during.code).to.equal(1);
      expect(during.out)
        .to.match(/^\[DOWN\] PostgreSQL does not answer/m)
        .and.match(/^Result: DOWN: database/m);
      proxy.restore();
      const after = await doctor(env({ DATABASE_URL: url }), '--lang', 'en');
      expect(after.code, after.out).to.equal(0);
    } finally {
      await proxy.stop();
    }
  });

  it('never writes a secret: planted in the configuration, an event and the logs, absent from the bundle', async () => {
    await app.app.infra.store.append(`doctor-test-${Date.now()}`, [
      newEvent(
        'DoctorProbe',
        { note: `the admin password is ${ADMIN_PASSWORD}`, apiKey: OPENAI_KEY, fernet: FERNET_KEY },
        { userAgent: `curl with Bearer ${SESSION_TOKEN}`, ...({ accessToken: SESSION_TOKEN } as object) },
      ),
    ]);
    const logs = path.join(work, 'logs');
    execFileSync('mkdir', ['-p', logs]);
    writeFileSync(
      path.join(logs, 'app.log'),
      [
        JSON.stringify({ timestamp: new Date().toISOString(), level: 'info', message: 'probe', jwt: TEST_JWT_SECRET }),
        `plain line: JWT_SECRET=${TEST_JWT_SECRET} Authorization: Bearer ${SESSION_TOKEN}`,
        JSON.stringify({ timestamp: '2000-01-01T00:00:00.000Z', level: 'info', message: 'too old to keep' }),
      ].join('\n'),
    );
    const result = await doctor(env(), '--lang', 'en', '--logs', logs);
    expect(result.code, result.out).to.equal(0);

    const files = extract();
    const all = [...files.values()].join('\n');
    expect(all, 'the planted event is in the bundle').to.include('DoctorProbe');
    expect(files.get('logs/app.log'), 'the log lines of the window are in the bundle')
      .to.include('plain line')
      .and.not.include('too old to keep');
    for (const [name, secret] of Object.entries({
      TEST_JWT_SECRET,
      ADMIN_PASSWORD,
      FERNET_KEY,
      METRICS_TOKEN,
      OPENAI_KEY,
      SESSION_TOKEN,
    }))
      for (const [file, text] of files) expect(text, `${name} in ${file}`).to.not.include(secret);
  });
});
