/**
 * Auth benchmark: GET /api/auth/me on the real app next to a bare Express route, on the same machine
 * in the same run, and login attempts per second (right and wrong passwords) at the production
 * argon2id cost. Three kinds of processes, each on its own event loop: the app (startApp, config from
 * loadConfig, Postgres event store and read models in a throwaway database, Redis rate limits), the
 * bare Express server, and autocannon as the load generator. Everything stays on 127.0.0.1.
 *
 *   npm run bench:auth            # full run (~1.5 min on 2 cores): writes bench/results/auth.json and the README table
 *   npx tsx bench/auth.ts --quick # smoke run with short phases, writes nothing
 *   BENCH_PG_URL (default postgres://postgres@127.0.0.1:5432/postgres), BENCH_REDIS_URL (default redis://127.0.0.1:6379)
 */
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { PASSWORD_HASH_PARAMS } from '../infrastructure/identity/passwords.js';
import {
  adminConnectionString,
  assertLoopback,
  dropDatabase,
  machineInfo,
  recreateDatabase,
  replaceBetweenMarkers,
  round3,
  serverInfo,
} from './bench-support.js';
import { forkChild, type Child } from './auth-children.js';
import type { LoadResult, LoadSpec } from './auth-load.js';
import { authFigures, markdownReport, stdoutReport, toRun, type Run } from './auth-report.js';
import { countEventTypes, createAccounts, deleteRedisKeys, getJson, measureHashing, postJson } from './auth-setup.js';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    // Only the /api/auth/me vs bare Express phase (no accounts, no logins); writes nothing.
    'me-only': { type: 'boolean', default: false },
    // A V8 CPU profile of the app server (node --cpu-prof) into this directory; see bench/profile-summary.ts.
    'cpu-prof': { type: 'string' },
  },
});
const settings = args.quick
  ? {
      connections: 10,
      warmupSeconds: 1,
      seconds: 2,
      rounds: 2,
      loginConnections: 4,
      loginWarmupSeconds: 1,
      loginSeconds: 2,
      hashSamples: 3,
      minAccounts: 20,
    }
  : {
      connections: 50,
      warmupSeconds: 2,
      seconds: 10,
      rounds: 5,
      loginConnections: 8,
      loginWarmupSeconds: 1,
      loginSeconds: 10,
      hashSamples: 10,
      minAccounts: 50,
    };
/** The production default; the wrong-password phase stays one attempt below it on every account. */
const LOGIN_MAX_FAILURES = 5;
/** Far above what the runs send from 127.0.0.1 (the config's maximum), so the limiter counts but never refuses. */
const RATE_LIMIT_PER_MINUTE = 1_000_000;
const DATABASE = 'bench_auth';

const log = (line: string) => process.stderr.write(`${line}\n`);
const packageVersion = (relative: string): string =>
  (JSON.parse(readFileSync(new URL(relative, import.meta.url), 'utf8')) as { version: string }).version;
const admin = adminConnectionString();
const redisUrl = process.env['BENCH_REDIS_URL'] ?? 'redis://127.0.0.1:6379';
assertLoopback(redisUrl);

/** One load-generator process per phase; a result per target, in the order of spec.targets. */
const runLoad = async (spec: LoadSpec): Promise<LoadResult[]> => {
  const loader = forkChild('./auth-load.ts', []);
  try {
    loader.send({ type: 'run', spec });
    const timeoutMs = (spec.warmupSeconds + spec.rounds * spec.roundSeconds) * spec.targets.length * 1000 + 60_000;
    const { result } = await loader.next('result', timeoutMs);
    return result as LoadResult[];
  } finally {
    await loader.stop(5_000);
  }
};

const describe = (result: LoadResult) =>
  `${result.label.padEnd(12)} ${JSON.stringify(result.statusCodes)} in ${result.seconds} s, p50 ${result.latencyMs.p50} ms, p99 ${result.latencyMs.p99} ms`;

const main = async () => {
  const started = new Date();
  const postgres = await serverInfo(admin);
  const machine = {
    ...machineInfo(),
    loadAverage1mAtStart: round3(os.loadavg()[0] ?? 0),
    postgres: {
      version: postgres.version.split(' on ')[0],
      fsync: postgres.fsync,
      synchronous_commit: postgres.synchronous_commit,
    },
    versions: {
      express: packageVersion('../node_modules/express/package.json'),
      argon2: packageVersion('../node_modules/argon2/package.json'),
      autocannon: packageVersion('./node_modules/autocannon/package.json'),
    },
  };
  log(
    `${machine.cpuModel}, ${machine.cores} cores, node ${machine.node}, load average ${machine.loadAverage1mAtStart}`,
  );

  // Before any server runs, so that the figure is the cost of argon2 alone.
  const hashing = await measureHashing(settings.hashSamples);
  const threads = Math.min(machine.cores, Number(process.env['UV_THREADPOOL_SIZE'] ?? 4));
  const hash = {
    algorithm: 'argon2id' as const,
    ...PASSWORD_HASH_PARAMS,
    ...hashing,
    samples: settings.hashSamples,
    verify_ceiling_per_s: round3((threads * 1000) / hashing.single_verify_ms),
  };
  log(
    `argon2id ${JSON.stringify(PASSWORD_HASH_PARAMS)}: hash ${hash.single_hash_ms} ms, verify ${hash.single_verify_ms} ms`,
  );
  // Enough accounts that no account reaches LOGIN_MAX_FAILURES, even at the hashing ceiling.
  const wrongPerAccount = LOGIN_MAX_FAILURES - 1;
  const accountCount = Math.max(
    settings.minAccounts,
    Math.ceil(
      (hash.verify_ceiling_per_s * (settings.loginWarmupSeconds + settings.loginSeconds) * 1.5) / wrongPerAccount,
    ),
  );

  const databaseUrl = await recreateDatabase(admin, DATABASE);
  const redisKeyPrefix = `bench-auth-${randomBytes(6).toString('hex')}:`;
  const logFile = path.join(os.tmpdir(), `bench-auth-app-${process.pid}.log`);
  const logFd = openSync(logFile, 'w');
  const adminPassword = `bench-admin-${randomBytes(12).toString('hex')}`;
  const env: NodeJS.ProcessEnv = {
    PATH: process.env['PATH'],
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
    JWT_SECRET: randomBytes(48).toString('base64'),
    ADMIN_USERNAME: 'admin',
    ADMIN_PASSWORD: adminPassword,
    FERNET_KEYS: randomBytes(32).toString('base64url') + '=',
    DATABASE_URL: databaseUrl,
    REDIS_URL: redisUrl,
    LOGIN_MAX_FAILURES: String(LOGIN_MAX_FAILURES),
    RATE_LIMIT_LOGIN_PER_MINUTE: String(RATE_LIMIT_PER_MINUTE),
    RATE_LIMIT_API_PER_MINUTE: String(RATE_LIMIT_PER_MINUTE),
  };

  const children: Child[] = [];
  let eventCounts: Record<string, number>;
  const runs = {} as Record<'me' | 'bare' | 'loginOk' | 'loginWrong', Run>;
  let cpuPerRequest: { me: number; bare: number } | undefined;
  try {
    const cpuProf = args['cpu-prof'];
    const app = forkChild('./auth-app-server.ts', [redisKeyPrefix], {
      env,
      stdout: logFd,
      execArgv: cpuProf === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', path.resolve(cpuProf)],
    });
    children.push(app);
    const appUrl = `http://127.0.0.1:${(await app.next('ready', 120_000)).port}`;
    log(`app listening on ${appUrl} (logs: ${logFile})`);

    const login = await postJson(`${appUrl}/api/auth/login`, { username: 'admin', password: adminPassword });
    const accessToken = String(login.access_token);
    const authorization = `Bearer ${accessToken}`;
    const me = await getJson(`${appUrl}/api/auth/me`, { authorization });

    const bare = forkChild('./auth-bare-server.ts', [JSON.stringify(me)], {
      execArgv: cpuProf === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', path.join(path.resolve(cpuProf), 'bare')],
    });
    children.push(bare);
    const bareUrl = `http://127.0.0.1:${(await bare.next('ready', 60_000)).port}`;
    const bareMe = await getJson(`${bareUrl}/api/auth/me`, {});
    if (JSON.stringify(bareMe) !== JSON.stringify(me))
      throw new Error('the bare route does not answer what /api/auth/me answers');

    const cpuOf = async (child: Child) => {
      const reply = child.next('cpu', 10_000);
      child.send({ type: 'cpu' });
      const { usage } = await reply;
      return usage.user + usage.system;
    };
    const cpuBefore = { me: await cpuOf(app), bare: await cpuOf(bare) };
    // Same token, connections and time for both; the load generator interleaves their rounds.
    const [bareResult, meResult] = await runLoad({
      targets: [
        { label: 'bare', method: 'GET', url: `${bareUrl}/api/auth/me`, headers: { authorization } },
        { label: 'me', method: 'GET', url: `${appUrl}/api/auth/me`, headers: { authorization } },
      ],
      connections: settings.connections,
      warmupSeconds: settings.warmupSeconds,
      rounds: settings.rounds,
      roundSeconds: settings.seconds / settings.rounds,
    });
    const served = (result: LoadResult) =>
      Object.values(result.statusCodes).reduce((a, b) => a + b, 0) + result.warmup.responses;
    cpuPerRequest = {
      me: ((await cpuOf(app)) - cpuBefore.me) / served(meResult!),
      bare: ((await cpuOf(bare)) - cpuBefore.bare) / served(bareResult!),
    };
    for (const result of [bareResult!, meResult!]) log(describe(result));
    log(
      `CPU per request: me ${round3(cpuPerRequest.me)} µs, bare ${round3(cpuPerRequest.bare)} µs (ratio at equal CPU ${round3(cpuPerRequest.bare / cpuPerRequest.me)})`,
    );
    runs.bare = toRun(bareResult!, 200);
    runs.me = toRun(meResult!, 200);
    if (args['me-only']) {
      console.log(
        `me/bare ratio ${round3(runs.me.rps / runs.bare.rps)} (load average ${round3(os.loadavg()[0] ?? 0)})`,
      );
      return;
    }

    const userPassword = `bench-user-${randomBytes(12).toString('hex')}`;
    const usernames = await createAccounts(appUrl, authorization, accountCount, userPassword);
    log(`created ${usernames.length} accounts`);
    const loginTarget = {
      method: 'POST' as const,
      url: `${appUrl}/api/auth/login`,
      headers: { 'content-type': 'application/json' },
    };
    const loginLoad = {
      connections: settings.loginConnections,
      warmupSeconds: settings.loginWarmupSeconds,
      rounds: 1,
      roundSeconds: settings.loginSeconds,
    };
    const [okResult] = await runLoad({
      ...loginLoad,
      targets: [{ ...loginTarget, label: 'login-ok', logins: { usernames, password: userPassword } }],
    });
    log(describe(okResult!));
    runs.loginOk = toRun(okResult!, 200);
    const wrongLogins = { usernames, password: `${userPassword}-wrong`, maxPerAccount: wrongPerAccount };
    const [wrongResult] = await runLoad({
      ...loginLoad,
      targets: [{ ...loginTarget, label: 'login-wrong', logins: wrongLogins }],
    });
    log(`${describe(wrongResult!)}, at most ${wrongResult!.maxAttemptsPerAccount} attempts per account`);
    runs.loginWrong = toRun(wrongResult!, 401);
  } finally {
    for (const child of children.reverse()) await child.stop();
    closeSync(logFd);
    eventCounts = await countEventTypes(databaseUrl).catch(() => ({}));
    await dropDatabase(admin, DATABASE);
    await deleteRedisKeys(redisUrl, redisKeyPrefix);
  }
  if ((eventCounts['AccountLocked'] ?? 0) > 0)
    throw new Error('an account was locked: the wrong-password figure is not valid');

  const figures = authFigures(runs, hash, cpuPerRequest);
  const loadAverage1mAtEnd = round3(os.loadavg()[0] ?? 0);
  console.log(`\nAuth benchmark (${started.toISOString()})\n`);
  console.log(stdoutReport(figures, runs));
  console.log(`\nevents appended: ${JSON.stringify(eventCounts)}`);
  if (args.quick) return;

  const result = {
    benchmark: 'auth',
    date: started.toISOString(),
    durationSeconds: round3((Date.now() - started.getTime()) / 1000),
    machine: { ...machine, loadAverage1mAtEnd },
    settings: {
      ...settings,
      accounts: accountCount,
      wrongAttemptsPerAccountMax: wrongPerAccount,
      loginMaxFailures: LOGIN_MAX_FAILURES,
      rateLimitPerMinute: RATE_LIMIT_PER_MINUTE,
      loadGenerator: 'autocannon (separate process)',
    },
    figures,
    runs,
    eventsAppended: eventCounts,
  };
  mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
  writeFileSync(new URL('./results/auth.json', import.meta.url), `${JSON.stringify(result, null, 2)}\n`);
  const machineLine =
    `Run of ${started.toISOString().slice(0, 10)}: ${machine.cpuModel}, ${machine.cores} cores, Node ${machine.node}, ${machine.postgres.version} ` +
    `(fsync=${machine.postgres.fsync}, synchronous_commit=${machine.postgres.synchronous_commit}), Express ${machine.versions.express}, autocannon ${machine.versions.autocannon}; ` +
    `1-minute load average ${machine.loadAverage1mAtStart} at the start and ${loadAverage1mAtEnd} at the end (other work on the machine competes for the same 2 cores).`;
  const readmeUrl = new URL('./README.md', import.meta.url);
  const readme = existsSync(readmeUrl)
    ? replaceBetweenMarkers(readFileSync(readmeUrl, 'utf8'), 'auth-results', markdownReport(figures, runs, machineLine))
    : null;
  if (readme) writeFileSync(readmeUrl, readme);
  else log('bench/README.md has no auth-results markers: table not written');
  log('wrote bench/results/auth.json');
};

await main();
