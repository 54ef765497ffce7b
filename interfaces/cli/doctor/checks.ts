// The checks `chatbot doctor` runs, one entry each. A new context (numbers, LLM circuits, queues) adds
// its check to `doctorChecks` below: a name, and a function from the opened dependencies to a verdict
// in the runbook's words, plus any facts worth keeping in the evidence bundle.
import type { Redis } from 'ioredis';
import type { EventStore } from '#application/shared/eventStore.js';
import type { Config } from '#infrastructure/config/config.js';
import type { Database } from '#infrastructure/sql/database.js';
import { projectionStatus, type Projection, type ProjectionStatus } from '#projections/runner.js';

export type Lang = 'es' | 'en';
/** Every verdict in both languages; the bundle keeps both, the terminal shows one. */
export type Said = Record<Lang, string>;
const say = (es: string, en: string): Said => ({ es, en });

/** `down` makes the exit code non-zero; `warn` is worth a look but not an outage. */
export type CheckStatus = 'ok' | 'warn' | 'down' | 'skipped';

export type CheckResult = {
  readonly name: string;
  readonly status: CheckStatus;
  readonly verdict: Said;
  readonly latencyMs?: number;
  /** kept in the evidence bundle (summary.json) */
  readonly facts?: Record<string, unknown>;
};

/** A dependency the doctor opened, or why it could not. */
export type Opened<T> = { ok: true; value: T } | { ok: false; error: unknown };

export type DoctorDeps = {
  readonly config: Config;
  readonly db: Opened<Database>;
  readonly store: Opened<EventStore>;
  /** null: no REDIS_URL */
  readonly redis: Redis | null;
  /** base URL of a running app to ask for /healthz; null: not given */
  readonly appUrl: string | null;
  readonly projections: readonly Projection[];
  readonly timeoutMs: number;
  readonly now: () => Date;
};

export type DoctorCheck = { readonly name: string; run(deps: DoctorDeps): Promise<CheckResult> };

export const withTimeout = <T>(promise: Promise<T>, ms: number): Promise<T> =>
  new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });

/** The failure class (ECONNREFUSED, timeout, auth) without connection strings or credentials. */
export const reason = (error: unknown): string => {
  const e = error as { code?: unknown; message?: unknown; errors?: unknown };
  // net's AggregateError (IPv4 and IPv6 both refused) has an empty message and the code on each.
  const inner = Array.isArray(e.errors) ? (e.errors[0] as { code?: unknown; message?: unknown }) : undefined;
  const code = typeof e.code === 'string' ? e.code : typeof inner?.code === 'string' ? inner.code : null;
  const message = typeof e.message === 'string' && e.message !== '' ? e.message : String(inner?.message ?? error);
  const text = code !== null && !message.includes(code) ? `${code}: ${message}` : message;
  return text
    .replace(/\b[a-z][a-z0-9+.-]*:\/\/\S+/gi, '[url]')
    .split('\n')[0]!
    .slice(0, 160);
};

const timed = async <T>(fn: () => Promise<T>, ms: number): Promise<{ value: T; latencyMs: number }> => {
  const started = performance.now();
  const value = await withTimeout(fn(), ms);
  return { value, latencyMs: Math.round((performance.now() - started) * 100) / 100 };
};

const inUse = (error: unknown): number | null =>
  (error as { code?: unknown }).code === 'embedded_database_in_use' ? (error as { pid: number }).pid : null;

const embeddedInUse = (name: string, pid: number, appUrl: string | null): CheckResult => ({
  name,
  status: 'skipped',
  verdict: say(
    `en uso por la app embebida (proceso ${pid}); ${appUrl === null ? 'pasa --url http://localhost:8003 para comprobarla vía /healthz' : 'comprobado vía /healthz'}`,
    `in use by the embedded app (process ${pid}); ${appUrl === null ? 'pass --url http://localhost:8003 to check it through /healthz' : 'checked through /healthz'}`,
  ),
  facts: { inUseByPid: pid },
});

const databaseCheck: DoctorCheck = {
  name: 'database',
  async run({ config, db, timeoutMs, appUrl }) {
    const label = config.database.kind === 'pglite' ? `PGlite (${config.database.dataDir})` : 'PostgreSQL';
    if (!db.ok) {
      const pid = inUse(db.error);
      if (pid !== null) return embeddedInUse('database', pid, appUrl);
      return down('database', label, db.error, 5);
    }
    try {
      const { value, latencyMs } = await timed(
        () => db.value.knex.raw<{ rows: Array<{ server_version: string }> }>('show server_version'),
        timeoutMs,
      );
      const version = value.rows[0]?.server_version ?? 'unknown';
      return {
        name: 'database',
        status: 'ok',
        latencyMs,
        verdict: say(`${label} responde (${latencyMs} ms)`, `${label} answers (${latencyMs} ms)`),
        facts: { kind: config.database.kind, serverVersion: version },
      };
    } catch (error) {
      return down('database', label, error, 5);
    }
  },
};

const SECTION_TITLES: Record<number, Said> = {
  4: say('`/healthz` responde 503', '`/healthz` answers 503'),
  5: say('Error de conexión a PostgreSQL', 'PostgreSQL connection error'),
  6: say('Redis no responde', 'Redis does not answer'),
  15: say('Recuperación rápida', 'Quick recovery'),
};

const down = (name: string, label: string, error: unknown, section: number): CheckResult => {
  const why = reason(error);
  const title = SECTION_TITLES[section]!;
  return {
    name,
    status: 'down',
    verdict: say(
      `${label} no responde (${why}): sección ${section} (${title.es})`,
      `${label} does not answer (${why}): section ${section} (${title.en})`,
    ),
    facts: { error: why },
  };
};

const eventStoreCheck: DoctorCheck = {
  name: 'eventStore',
  async run({ config, store, db, timeoutMs, appUrl }) {
    const label = `event store (${config.eventStore.kind})`;
    if (!store.ok) {
      const pid = inUse(store.error) ?? (db.ok ? null : inUse(db.error));
      if (pid !== null) return embeddedInUse('eventStore', pid, appUrl);
      return down('eventStore', label, store.error, config.eventStore.kind === 'eventstoredb' ? 15 : 5);
    }
    try {
      const { value: head, latencyMs } = await timed(async () => {
        await store.value.ping();
        return store.value.headPosition();
      }, timeoutMs);
      return {
        name: 'eventStore',
        status: 'ok',
        latencyMs,
        verdict: say(
          `${label} responde (${latencyMs} ms, posición ${head})`,
          `${label} answers (${latencyMs} ms, position ${head})`,
        ),
        facts: { kind: config.eventStore.kind, headPosition: head },
      };
    } catch (error) {
      return down('eventStore', label, error, config.eventStore.kind === 'eventstoredb' ? 15 : 5);
    }
  },
};

const redisCheck: DoctorCheck = {
  name: 'redis',
  async run({ redis, timeoutMs }) {
    if (redis === null)
      return {
        name: 'redis',
        status: 'skipped',
        verdict: say('Redis: sin REDIS_URL (modo embebido), no aplica', 'Redis: no REDIS_URL (embedded mode), n/a'),
      };
    try {
      const { value, latencyMs } = await timed(async () => {
        const pong = await redis.ping();
        const info = await redis.info('server');
        return { pong, version: /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown' };
      }, timeoutMs);
      return {
        name: 'redis',
        status: value.pong === 'PONG' ? 'ok' : 'down',
        latencyMs,
        verdict: say(`Redis: ${value.pong} (${latencyMs} ms)`, `Redis: ${value.pong} (${latencyMs} ms)`),
        facts: { serverVersion: value.version },
      };
    } catch (error) {
      return down('redis', 'Redis', error, 6);
    }
  },
};

const appCheck: DoctorCheck = {
  name: 'app',
  async run({ appUrl, timeoutMs }) {
    if (appUrl === null)
      return {
        name: 'app',
        status: 'skipped',
        verdict: say('/healthz: sin --url, no se consulta la app', '/healthz: no --url, the app is not asked'),
      };
    const url = new URL('/healthz', appUrl).toString();
    try {
      const { value: response, latencyMs } = await timed(
        () => fetch(url, { signal: AbortSignal.timeout(timeoutMs) }),
        timeoutMs,
      );
      const body = (await response.json().catch(() => null)) as {
        checks?: Record<string, { status?: string }>;
      } | null;
      const failing = Object.entries(body?.checks ?? {})
        .filter(([, c]) => c.status !== 'ok')
        .map(([name]) => name);
      if (response.status === 200)
        return {
          name: 'app',
          status: 'ok',
          latencyMs,
          verdict: say(`${url}: 200 OK (${latencyMs} ms)`, `${url}: 200 OK (${latencyMs} ms)`),
          facts: { status: 200, body },
        };
      return {
        name: 'app',
        status: 'down',
        latencyMs,
        verdict: say(
          `${url} responde ${response.status}${failing.length ? ` (falla: ${failing.join(', ')})` : ''}: sección 4 (${SECTION_TITLES[4]!.es})`,
          `${url} answers ${response.status}${failing.length ? ` (failing: ${failing.join(', ')})` : ''}: section 4 (${SECTION_TITLES[4]!.en})`,
        ),
        facts: { status: response.status, body },
      };
    } catch (error) {
      const why = reason((error as { cause?: unknown }).cause ?? error);
      return {
        name: 'app',
        status: 'down',
        verdict: say(
          `la app no responde en ${url} (${why}): sección 15 (reiniciar el servicio afectado)`,
          `the app does not answer at ${url} (${why}): section 15 (restart the affected service)`,
        ),
        facts: { error: why },
      };
    }
  },
};

/** Lifecycle events on process-<name>; heartbeats join here once the processes write them. */
const PROCESSES = ['app', 'worker-web', 'scheduler'] as const;

const processesCheck: DoctorCheck = {
  name: 'processes',
  async run({ store, timeoutMs }) {
    if (!store.ok)
      return {
        name: 'processes',
        status: 'skipped',
        verdict: say('procesos: sin event store, no se leen', 'processes: no event store to read them from'),
      };
    try {
      const { value: last } = await timed(
        () =>
          Promise.all(
            PROCESSES.map(async (name) => {
              const [event] = await store.value.readStream(`process-${name}`, { direction: 'backwards', maxCount: 1 });
              return { name, event };
            }),
          ),
        timeoutMs,
      );
      const states = last.map(({ name, event }) => ({
        name,
        lastEvent: event?.type ?? null,
        at: event?.recordedAt ?? null,
        instance: (event?.data as { instance?: unknown } | undefined)?.instance ?? null,
      }));
      const describe = (lang: Lang) =>
        states
          .map((s) =>
            s.lastEvent === null
              ? `${s.name}: ${lang === 'es' ? 'sin eventos' : 'no events'}`
              : s.lastEvent === 'ProcessStarted'
                ? `${s.name}: ${lang === 'es' ? 'arrancado' : 'started'} ${s.at}`
                : `${s.name}: ${s.lastEvent} ${s.at}`,
          )
          .join('; ');
      // A process whose last word is a stop or a crash is not running; that is worth a look, not an outage
      // the doctor can prove (it may be stopped on purpose).
      const stopped = states.filter((s) => s.lastEvent !== null && s.lastEvent !== 'ProcessStarted');
      return {
        name: 'processes',
        status: stopped.length > 0 ? 'warn' : 'ok',
        verdict: say(`procesos: ${describe('es')}`, `processes: ${describe('en')}`),
        facts: { processes: states },
      };
    } catch (error) {
      return down('processes', 'process lifecycle', error, 15);
    }
  },
};

/** Lag beyond this (or an error) is a warning: the read models answer, but late. */
const PROJECTION_LAG_WARN_MS = 60_000;

const projectionsCheck: DoctorCheck = {
  name: 'projections',
  async run({ db, store, projections, timeoutMs, now }) {
    if (!db.ok || !store.ok)
      return {
        name: 'projections',
        status: 'skipped',
        verdict: say('proyecciones: sin base de datos, no se leen', 'projections: no database to read them from'),
      };
    try {
      const { value: statuses } = await timed(
        () => projectionStatus(db.value, store.value, projections, { now }),
        timeoutMs * 2,
      );
      const late = statuses.filter((s) => s.lagMs > PROJECTION_LAG_WARN_MS || s.lastError !== null);
      const line = (s: ProjectionStatus) =>
        `${s.name} ${s.lagEvents}${s.lagEventsCapped ? '+' : ''} ev / ${Math.round(s.lagMs / 1000)} s${s.lastError === null ? '' : ' (error)'}`;
      const worst = late.length > 0 ? late : statuses;
      return {
        name: 'projections',
        status: late.length > 0 ? 'warn' : 'ok',
        verdict: say(
          `proyecciones: ${late.length > 0 ? 'retrasadas o con error' : 'al día'} (${worst.map(line).join('; ')}): \`chatbot projections status\``,
          `projections: ${late.length > 0 ? 'behind or failing' : 'caught up'} (${worst.map(line).join('; ')}): \`chatbot projections status\``,
        ),
        facts: { projections: statuses },
      };
    } catch (error) {
      if ((error as { code?: unknown }).code === 'migrations_pending')
        return {
          name: 'projections',
          status: 'warn',
          verdict: say(
            'proyecciones: migraciones pendientes (la app las aplica al arrancar; o `chatbot migrate latest`)',
            'projections: migrations pending (the app applies them at start; or `chatbot migrate latest`)',
          ),
        };
      return down('projections', 'projections', error, 15);
    }
  },
};

/** In the order they print. Add a context's check here (numbers' connections, LLM circuits, queue depth). */
export const doctorChecks: readonly DoctorCheck[] = [
  databaseCheck,
  eventStoreCheck,
  redisCheck,
  appCheck,
  processesCheck,
  projectionsCheck,
];
