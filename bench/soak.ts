/**
 * Soak: the three production roles as separate OS processes (`node --import tsx interfaces/process/main.ts
 * app | worker-web | scheduler`) on PostgreSQL (a throwaway database) and Redis, under a steady load of
 * logins, simulator messages and WebSocket clients (bench/soak-load.ts) for a while. Records each process's
 * RSS and open file descriptors at the start and the end (and every minute), and what was lost (accepted
 * messages without MessageReceived, or without a reply) and duplicated. Everything stays on 127.0.0.1.
 *
 *   npx tsx bench/soak.ts --minutes 10            # writes bench/results/soak.json
 *   npx tsx bench/soak.ts --minutes 1 --quick     # smoke run, writes nothing
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { loadConfig } from '../infrastructure/config/config.js';
import { openInfrastructure } from '../interfaces/process/infrastructure.js';
import { adminConnectionString, dropDatabase, machineInfo, recreateDatabase, round3 } from './bench-support.js';
import { startLoad } from './soak-load.js';

const { values: args } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    quick: { type: 'boolean', default: false },
    'messages-per-second': { type: 'string', default: '5' },
    'logins-per-second': { type: 'string', default: '0.2' },
    'web-sockets': { type: 'string', default: '3' },
  },
});
const minutes = Number(args.minutes);
const log = (line: string) => process.stderr.write(`${new Date().toISOString()} ${line}\n`);
const ROLES = ['app', 'worker-web', 'scheduler'] as const;
type Role = (typeof ROLES)[number];

const procStatus = (pid: number) => {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  let fds: number;
  try {
    fds = readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    fds = -1;
  }
  return { rssMiB: round3(kib / 1024), openFds: fds };
};

const waitFor = async (check: () => boolean | Promise<boolean>, timeoutMs: number, what: string) => {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
};

const main = async () => {
  const started = new Date();
  const admin = adminConnectionString();
  const database = `bench_soak_${randomBytes(3).toString('hex')}`;
  const databaseUrl = await recreateDatabase(admin, database);
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  const adminPassword = `soak-admin-${randomBytes(8).toString('hex')}`;
  const env: NodeJS.ProcessEnv = {
    PATH: process.env['PATH'],
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    PORT: String(port),
    LOG_LEVEL: 'warn',
    JWT_SECRET: randomBytes(48).toString('base64'),
    ADMIN_USERNAME: 'admin',
    ADMIN_PASSWORD: adminPassword,
    FERNET_KEYS: randomBytes(32).toString('base64url') + '=',
    DATABASE_URL: databaseUrl,
    REDIS_URL: process.env['BENCH_REDIS_URL'] ?? 'redis://127.0.0.1:6379',
    RATE_LIMIT_LOGIN_PER_MINUTE: '100000',
    RATE_LIMIT_API_PER_MINUTE: '100000',
    WHATSAPP_SIMULATOR: 'true',
  };
  const children = new Map<Role, ChildProcess>();
  const spawnRole = (role: Role) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'interfaces/process/main.ts', role], {
      cwd: new URL('..', import.meta.url).pathname,
      env,
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    children.set(role, child);
    return child;
  };
  const baseUrl = `http://127.0.0.1:${port}`;
  const samples: Array<{ minute: number; processes: Record<string, ReturnType<typeof procStatus>> }> = [];
  const sample = (minute: number) => {
    const processes: Record<string, ReturnType<typeof procStatus>> = {};
    for (const [role, child] of children) processes[role] = procStatus(child.pid!);
    samples.push({ minute, processes });
    log(`minute ${minute}: ${JSON.stringify(processes)}`);
  };
  const infra = await openInfrastructure(loadConfig({ ...env, PORT: undefined }), { applicationName: 'soak-observer' });
  try {
    spawnRole('app');
    await waitFor(
      () =>
        fetch(`${baseUrl}/healthz`)
          .then((r) => r.status === 200)
          .catch(() => false),
      180_000,
      'the app to answer /healthz',
    );
    spawnRole('worker-web');
    spawnRole('scheduler');
    // a minute of warm-up under load before the first sample, so start-up allocations are not "growth"
    const load = startLoad({
      baseUrl: () => baseUrl,
      username: 'admin',
      password: adminPassword,
      messagesPerSecond: Number(args['messages-per-second']),
      loginsPerSecond: Number(args['logins-per-second']),
      webSockets: Number(args['web-sockets']),
      tag: 'soak',
    });
    await new Promise((resolve) => setTimeout(resolve, args.quick ? 10_000 : 60_000));
    sample(0);
    for (let minute = 1; minute <= minutes; minute++) {
      await new Promise((resolve) => setTimeout(resolve, 60_000));
      sample(minute);
    }
    await load.stop();
    log(`load stopped: ${JSON.stringify(load.stats)}`);

    // What was lost or duplicated: every accepted message's MessageReceived and its replies.
    const settle = Date.now();
    let lost = 0;
    let unanswered = 0;
    let duplicatedInbound = 0;
    let repliedTwice = 0;
    for (;;) {
      const received = await infra.store.readAll({ filter: { eventTypes: ['MessageReceived'] } });
      const replies = await infra.store.readAll({ filter: { eventTypes: ['MessageQueued'] } });
      const byMessage = new Map<string, string[]>();
      for (const e of received) {
        const id = (e.data as { messageId: string }).messageId;
        byMessage.set(id, [...(byMessage.get(id) ?? []), e.id]);
      }
      const repliesByCause = new Map<string, number>();
      for (const e of replies) {
        const cause = e.metadata.causationId ?? '';
        repliesByCause.set(cause, (repliesByCause.get(cause) ?? 0) + 1);
      }
      lost = load.accepted.filter((a) => !byMessage.has(a.messageId)).length;
      duplicatedInbound = [...byMessage.values()].filter((ids) => ids.length > 1).length;
      const replyCounts = load.accepted.map((a) => repliesByCause.get(byMessage.get(a.messageId)?.[0] ?? '') ?? 0);
      unanswered = replyCounts.filter((n) => n === 0).length;
      repliedTwice = replyCounts.filter((n) => n > 1).length;
      if (unanswered === 0 || Date.now() - settle > 120_000) break;
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
    const first = samples[0]!;
    const last = samples[samples.length - 1]!;
    const result = {
      benchmark: 'soak',
      date: started.toISOString(),
      machine: { ...machineInfo(), loadAverage1mAtStart: round3(os.loadavg()[0] ?? 0) },
      settings: {
        minutes,
        messagesPerSecond: Number(args['messages-per-second']),
        loginsPerSecond: Number(args['logins-per-second']),
        webSockets: Number(args['web-sockets']),
        processes: 'app, worker-web, scheduler: node --import tsx interfaces/process/main.ts <role>',
        stores: 'PostgreSQL (throwaway database) + Redis',
      },
      load: load.stats,
      outcome: { accepted: load.accepted.length, lost, unanswered, duplicatedInbound, repliedTwice },
      rss: Object.fromEntries(
        ROLES.map((role) => [
          role,
          {
            startMiB: first.processes[role]?.rssMiB,
            endMiB: last.processes[role]?.rssMiB,
            openFdsStart: first.processes[role]?.openFds,
            openFdsEnd: last.processes[role]?.openFds,
          },
        ]),
      ),
      samples,
      oneHourRun: 'pending: this file holds the run of the minutes above',
    };
    console.log(JSON.stringify(result.outcome), JSON.stringify(result.rss));
    if (!args.quick)
      writeFileSync(new URL('./results/soak.json', import.meta.url), `${JSON.stringify(result, null, 2)}\n`);
  } finally {
    for (const child of children.values()) if (child.exitCode === null) child.kill('SIGTERM');
    await Promise.all(
      [...children.values()].map(
        (child) =>
          new Promise((resolve) => {
            if (child.exitCode !== null) return resolve(null);
            const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
            child.once('exit', () => {
              clearTimeout(timer);
              resolve(null);
            });
          }),
      ),
    );
    await infra.close();
    await dropDatabase(admin, database);
  }
};

await main();
