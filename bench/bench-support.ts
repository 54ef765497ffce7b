/**
 * Shared helpers for the benchmarks under bench/: the throwaway databases they run on, what the
 * machine and the server are, and plain-text tables. Only loopback servers are ever contacted.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import pg from 'pg';

/** The local server every benchmark uses (trust auth); override with BENCH_PG_URL. */
export const adminConnectionString = (env: NodeJS.ProcessEnv = process.env): string => {
  const url = env['BENCH_PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  assertLoopback(url);
  return url;
};

/**
 * The prefix of a benchmark's throwaway database names: `--db-prefix`, else BENCH_DB_PREFIX, else the
 * fallback. Two runs on one server with different prefixes never drop each other's databases.
 */
export const databasePrefix = (flag: string | undefined, fallback: string, env = process.env): string => {
  const prefix = flag ?? env['BENCH_DB_PREFIX'] ?? fallback;
  // recreateDatabase only drops bench_* databases: the prefix keeps every name inside that space.
  // eslint-disable-next-line security/detect-unsafe-regex -- anchored, one bounded optional group: linear
  if (!/^bench(_[a-z0-9_]{1,40})?$/.test(prefix))
    throw new Error(`database prefix must be bench or bench_<a-z0-9_>, e.g. bench_run2: ${prefix}`);
  return prefix;
};

/** Benchmarks send load; they must never point it at a machine other than this one. */
export const assertLoopback = (connectionString: string): void => {
  const host = new URL(connectionString).hostname.replace(/^\[|\]$/g, '');
  if (!(host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host))) {
    throw new Error(`benchmarks only run against a loopback server, not ${host}`);
  }
};

/** The connection string of database `name` on the same server as `admin`. */
export const databaseUrl = (admin: string, name: string): string => {
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return url.toString();
};

const withAdmin = async <T>(admin: string, fn: (client: pg.Client) => Promise<T>): Promise<T> => {
  const client = new pg.Client({ connectionString: admin, application_name: 'bench-admin' });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
};

/** utime + stime, in ms, of these processes (from /proc; a process that has ended counts 0). */
export const processesCpuMs = (pids: readonly number[]): number => {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // the process ended in between
    }
  }
  return ticks * 10; // USER_HZ is 100 on Linux
};

/**
 * utime + stime, in ms, of the PostgreSQL backends now connected to `database` (the server runs on this
 * machine). Backends that ended before the call are not counted.
 */
export const backendsCpuMs = (admin: string, database: string): Promise<number> =>
  withAdmin(admin, async (client) => {
    const { rows } = await client.query<{ pid: number }>('select pid from pg_stat_activity where datname = $1', [
      database,
    ]);
    return processesCpuMs(rows.map((r) => r.pid));
  });

/** Drops (disconnecting its sessions) and recreates a benchmark database; returns its URL. */
export const recreateDatabase = (admin: string, name: string): Promise<string> => {
  if (!/^bench_[a-z0-9_]+$/.test(name)) throw new Error(`refusing to recreate a non-benchmark database: ${name}`);
  return withAdmin(admin, async (client) => {
    await client.query(`drop database if exists "${name}" with (force)`);
    await client.query(`create database "${name}"`);
    return databaseUrl(admin, name);
  });
};

export const dropDatabase = (admin: string, name: string): Promise<void> =>
  withAdmin(admin, async (client) => {
    await client.query(`drop database if exists "${name}" with (force)`);
  });

export type ServerInfo = Record<
  | 'version'
  | 'fsync'
  | 'synchronous_commit'
  | 'wal_sync_method'
  | 'full_page_writes'
  | 'shared_buffers'
  | 'max_connections',
  string
>;

/** Settings that decide what a commit costs, read from the server itself. */
export const serverInfo = (admin: string): Promise<ServerInfo> =>
  withAdmin(admin, async (client) => {
    const names = [
      'fsync',
      'synchronous_commit',
      'wal_sync_method',
      'full_page_writes',
      'shared_buffers',
      'max_connections',
    ] as const;
    const { rows } = await client.query<{ name: string; setting: string }>(
      `select name, current_setting(name) as setting from pg_settings where name = any($1::text[])`,
      [names],
    );
    const settings = new Map(rows.map((r) => [r.name, r.setting]));
    const version = (await client.query<{ v: string }>('select version() as v')).rows[0]!.v;
    return {
      version,
      ...(Object.fromEntries(names.map((n) => [n, settings.get(n) ?? 'unknown'])) as Omit<ServerInfo, 'version'>),
    };
  });

export const machineInfo = () => ({
  cpuModel: os.cpus()[0]?.model ?? 'unknown',
  cores: os.cpus().length,
  memoryGiB: Math.round(os.totalmem() / 2 ** 30),
  platform: `${os.platform()} ${os.release()}`,
  node: process.version,
});

export const median = (values: readonly number[]): number => percentile(values, 50);

export const percentile = (values: readonly number[], p: number): number => {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index]!;
};

/** Rounds a rate for people: 3 significant digits, no exponent. */
export const round3 = (value: number): number => {
  if (!Number.isFinite(value) || value === 0) return value;
  const digits = Math.max(0, 2 - Math.floor(Math.log10(Math.abs(value))));
  return Number(value.toFixed(Math.min(digits, 6)));
};

/** A plain-text table: first column left-aligned, the others right-aligned. */
export const textTable = (header: readonly string[], rows: ReadonlyArray<readonly string[]>): string => {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
};

/** A GitHub-flavoured markdown table (first column left, the others right). */
export const markdownTable = (header: readonly string[], rows: ReadonlyArray<readonly string[]>): string =>
  [
    `| ${header.join(' | ')} |`,
    `|${header.map((_, i) => (i === 0 ? ' --- ' : ' ---: ')).join('|')}|`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');

/** Replaces the text between `<!-- name:begin -->` and `<!-- name:end -->`; null when the markers are missing. */
export const replaceBetweenMarkers = (text: string, name: string, content: string): string | null => {
  const begin = `<!-- ${name}:begin -->`;
  const end = `<!-- ${name}:end -->`;
  const from = text.indexOf(begin);
  const to = text.indexOf(end);
  if (from < 0 || to < from) return null;
  return `${text.slice(0, from + begin.length)}\n${content}\n${text.slice(to)}`;
};
