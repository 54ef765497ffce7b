import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import type { EventStore } from '#application/shared/eventStore.js';
import type { Config } from '#infrastructure/config/config.js';
import { openPgliteDatabase, openPostgresDatabase, type Database } from '#infrastructure/sql/database.js';
import { openInfrastructure, type Infrastructure } from '#interfaces/process/infrastructure.js';
import { bundleEntries, hostFacts, recentEvents, recentLogs, type BundleInput } from '../doctor/bundle.js';
import {
  doctorChecks,
  reason,
  withTimeout,
  type CheckResult,
  type CheckStatus,
  type DoctorDeps,
  type Lang,
  type Opened,
} from '../doctor/checks.js';
import { tarGz } from '../doctor/tarGz.js';
import { CliError, type CliCommand, type CliContext } from '../context.js';

type DoctorOptions = { out: string; lang: string; url?: string; since: string; logs?: string; timeout: string };

const LABELS: Record<Lang, Record<CheckStatus, string>> = {
  es: { ok: 'OK', warn: 'AVISO', down: 'CAÍDO', skipped: 'N/A' },
  en: { ok: 'OK', warn: 'WARN', down: 'DOWN', skipped: 'N/A' },
};

/**
 * `chatbot doctor`: runbook sections 0 and 15 in one command. Records the start time, checks every
 * dependency, prints a verdict per check and writes an evidence bundle; exit code 1 when something is down.
 */
export const doctorCommand: CliCommand = (program, context) => {
  program
    .command('doctor')
    .description('check every dependency and write an evidence bundle (runbook sections 0 and 15)')
    .option('--out <dir>', 'directory for the evidence bundle (.tar.gz)', '.')
    .option('--lang <lang>', 'language of the verdicts: es or en', 'es')
    .option('--url <url>', 'base URL of a running app to ask for /healthz, e.g. http://localhost:8003')
    .option('--since <minutes>', 'minutes of events and logs to capture', '15')
    .option('--logs <path>', 'log file or directory to include (e.g. the output of docker compose logs)')
    .option('--timeout <ms>', 'how long each check may take', '5000')
    .action(async (options: DoctorOptions) => {
      const code = await runDoctor(context, options);
      if (code !== 0) throw new CliError(code === 1 ? 'something is down (see above)' : 'doctor failed', code);
    });
};

const positive = (value: string, name: string): number => {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new CliError(`${name} must be a positive number`, 2);
  return n;
};

const runDoctor = async (context: CliContext, options: DoctorOptions): Promise<number> => {
  const startedAt = new Date();
  if (options.lang !== 'es' && options.lang !== 'en') throw new CliError('--lang must be es or en', 2);
  const lang: Lang = options.lang;
  const sinceMinutes = positive(options.since, '--since');
  const timeoutMs = positive(options.timeout, '--timeout');
  const since = new Date(startedAt.getTime() - sinceMinutes * 60_000);
  const { io } = context;
  io.out(
    lang === 'es'
      ? `chatbot doctor: inicio ${startedAt.toISOString()} (sección 0: timestamp de inicio registrado)`
      : `chatbot doctor: started ${startedAt.toISOString()} (section 0: start time recorded)`,
  );

  const config = context.config();
  const opened = await openDependencies(config, timeoutMs);
  try {
    const deps: DoctorDeps = {
      config,
      db: opened.db,
      store: opened.store,
      redis: opened.redis,
      appUrl: options.url ?? null,
      projections: context.projections(),
      timeoutMs,
      now: () => new Date(),
    };
    const results: CheckResult[] = [];
    for (const check of doctorChecks) {
      const result = await check.run(deps).catch((error: unknown): CheckResult => ({
        name: check.name,
        status: 'down',
        verdict: { es: `${check.name}: ${reason(error)}`, en: `${check.name}: ${reason(error)}` },
      }));
      results.push(result);
      io.out(`[${LABELS[lang][result.status]}] ${result.verdict[lang]}`);
    }
    const downs = results.filter((r) => r.status === 'down').map((r) => r.name);
    const verdictLines = results.map((r) => `[${LABELS[lang][r.status]}] ${r.verdict[lang]}`);
    const conclusion =
      downs.length === 0
        ? lang === 'es'
          ? 'Resultado: todas las dependencias responden.'
          : 'Result: every dependency answers.'
        : lang === 'es'
          ? `Resultado: CAÍDO: ${downs.join(', ')}. Sección 15: reinicia el servicio afectado y valida /healthz.`
          : `Result: DOWN: ${downs.join(', ')}. Section 15: restart the affected service and check /healthz.`;

    const file = await writeBundle(context, {
      config,
      opened,
      startedAt,
      since,
      sinceMinutes,
      results,
      verdictText: [...verdictLines, conclusion, ''].join('\n'),
      logs: options.logs ?? null,
      outDir: options.out,
      timeoutMs,
    });
    io.out(lang === 'es' ? `Evidencia: ${file}` : `Evidence: ${file}`);
    io.out(conclusion);
    return downs.length === 0 ? 0 : 1;
  } finally {
    await opened.close();
  }
};

type OpenedDeps = {
  db: Opened<Database>;
  store: Opened<EventStore>;
  redis: Redis | null;
  close(): Promise<void>;
};

/**
 * Opens what the configuration names without letting one dead dependency stop the others: the event
 * store and database together (as the app does), and when that fails, the database alone so its
 * own check can say whether it answers.
 */
const openDependencies = async (config: Config, timeoutMs: number): Promise<OpenedDeps> => {
  const closers: Array<() => Promise<void>> = [];
  let db: Opened<Database>;
  let store: Opened<EventStore>;
  const opening = openInfrastructure(config, { applicationName: 'chatbot-doctor' });
  try {
    const infra: Infrastructure = await withTimeout(opening, timeoutMs);
    closers.push(() => infra.close());
    db = { ok: true, value: infra.db };
    store = { ok: true, value: infra.store };
  } catch (error) {
    // A late success after the timeout still holds connections: close them when it arrives.
    opening.then((late) => late.close()).catch(() => undefined);
    store = { ok: false, error };
    try {
      const alone =
        config.database.kind === 'postgres'
          ? openPostgresDatabase(config.database.url, { applicationName: 'chatbot-doctor', poolSize: 1 })
          : openPgliteDatabase(config.database.dataDir);
      closers.push(() => alone.close());
      db = { ok: true, value: alone };
    } catch (dbError) {
      db = { ok: false, error: dbError };
    }
  }
  let redis: Redis | null = null;
  if (config.redis) {
    const client = new Redis(config.redis.url, {
      lazyConnect: true,
      enableOfflineQueue: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      connectTimeout: timeoutMs,
      connectionName: 'chatbot-doctor',
      ...(config.redis.password === null ? {} : { password: config.redis.password }),
    });
    client.on('error', () => undefined); // reported by the check, not as an unhandled event
    redis = client;
    closers.push(() => Promise.resolve(client.disconnect()));
  }
  return {
    db,
    store,
    redis,
    close: async () => {
      for (const close of closers.reverse()) await close().catch(() => undefined);
    },
  };
};

const appVersion = (): string => {
  try {
    // eslint-disable-next-line security/detect-non-literal-fs-filename -- our own package.json, next to the code
    const manifest = readFileSync(new URL('../../../package.json', import.meta.url), 'utf8');
    return (JSON.parse(manifest) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
};

const writeBundle = async (
  context: CliContext,
  run: {
    config: Config;
    opened: OpenedDeps;
    startedAt: Date;
    since: Date;
    sinceMinutes: number;
    results: CheckResult[];
    verdictText: string;
    logs: string | null;
    outDir: string;
    timeoutMs: number;
  },
): Promise<string> => {
  const { opened } = run;
  let events: BundleInput['events'] = { error: 'no event store' };
  let projections: unknown = { error: 'no database' };
  if (opened.store.ok) {
    const store = opened.store.value;
    events = await withTimeout(recentEvents(store, run.since), run.timeoutMs * 4).catch((error: unknown) => ({
      error: reason(error),
    }));
  }
  const projectionFacts = run.results.find((r) => r.name === 'projections')?.facts;
  if (projectionFacts) projections = projectionFacts.projections;
  let logs: BundleInput['logs'] = null;
  if (run.logs !== null) {
    try {
      logs = recentLogs(run.logs, run.since);
    } catch (error) {
      logs = { error: reason(error) };
    }
  }
  const fact = (name: string, key: string) => run.results.find((r) => r.name === name)?.facts?.[key] ?? null;
  const finishedAt = new Date();
  const stamp = run.startedAt
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  const dirName = `doctor-${stamp}`;
  const entries = bundleEntries({
    dirName,
    config: run.config,
    verdictText: run.verdictText,
    summary: {
      startedAt: run.startedAt.toISOString(),
      finishedAt: finishedAt.toISOString(),
      window: { since: run.since.toISOString(), minutes: run.sinceMinutes },
      host: hostFacts(),
      checks: run.results,
      events:
        'error' in events
          ? events
          : { count: events.events.length, truncated: events.truncated, headPosition: events.headPosition },
    },
    versions: {
      chatbot: appVersion(),
      node: process.version,
      eventStore: run.config.eventStore.kind,
      database: run.config.database.kind,
      postgres: fact('database', 'serverVersion'),
      redis: fact('redis', 'serverVersion'),
    },
    events,
    projections,
    logs,
  });
  // eslint-disable-next-line security/detect-non-literal-fs-filename -- the operator's --out directory
  mkdirSync(run.outDir, { recursive: true });
  const file = path.join(run.outDir, `${dirName}.tar.gz`);
  // eslint-disable-next-line security/detect-non-literal-fs-filename -- the operator's --out directory
  writeFileSync(file, tarGz(entries, finishedAt), { mode: 0o600 });
  context.io.err(`wrote ${entries.length} files to ${file}`);
  return file;
};
