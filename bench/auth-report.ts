/**
 * Figures of the auth benchmark, from the load generator's raw results: what goes into
 * bench/results/auth.json, the stdout table and the table in bench/README.md.
 */
import { markdownTable, round3, textTable } from './bench-support.js';
import type { LoadResult } from './auth-load.js';

export type HashFigures = {
  algorithm: 'argon2id';
  memoryCost: number;
  timeCost: number;
  parallelism: number;
  /** medians over `samples` sequential calls, on an otherwise idle benchmark (before any server starts) */
  single_hash_ms: number;
  single_verify_ms: number;
  samples: number;
  /** argon2 runs on libuv's thread pool: at most min(cores, UV_THREADPOOL_SIZE) verifies at once */
  verify_ceiling_per_s: number;
};

export type Run = {
  rps: number;
  counted_status: number;
  latency_ms: { p50: number; p90: number; p99: number; max: number };
  connections: number;
  seconds: number;
  status_codes: Record<string, number>;
};

export type AuthFigures = {
  me_rps: number;
  bare_express_rps: number;
  /** me_rps / bare_express_rps */
  ratio: number;
  /**
   * CPU time (user + system) each server spent per request it served, over the interleaved rounds and
   * their warm-up: on a shared machine the rates follow each process's share of the cores, this does not.
   */
  me_cpu_us_per_request?: number;
  bare_express_cpu_us_per_request?: number;
  /** bare_express_cpu_us_per_request / me_cpu_us_per_request: the ratio of the rates at equal CPU */
  cpu_ratio?: number;
  me_latency_ms: { p50: number; p99: number };
  bare_express_latency_ms: { p50: number; p99: number };
  login_ok_per_s: number;
  login_wrong_per_s: number;
  login_ok_latency_ms: { p50: number; p99: number };
  login_wrong_latency_ms: { p50: number; p99: number };
  hash: HashFigures;
};

/** A load result as a rate of responses with `status` (anything else makes the figure invalid). */
export const toRun = (result: LoadResult, status: number): Run => {
  const unexpected = Object.entries(result.statusCodes).filter(([code]) => Number(code) !== status);
  if (unexpected.length > 0 || result.errors > 0 || result.timeouts > 0) {
    throw new Error(
      `${result.label}: expected only ${status} responses, got ${JSON.stringify(result.statusCodes)} with ${result.errors} errors and ${result.timeouts} timeouts`,
    );
  }
  const counted = result.statusCodes[String(status)] ?? 0;
  return {
    rps: round3(counted / result.seconds),
    counted_status: status,
    latency_ms: result.latencyMs,
    connections: result.connections,
    seconds: result.seconds,
    status_codes: result.statusCodes,
  };
};

export const authFigures = (
  runs: Record<'me' | 'bare' | 'loginOk' | 'loginWrong', Run>,
  hash: HashFigures,
  cpu?: { me: number; bare: number },
): AuthFigures => {
  const pick = (run: Run) => ({ p50: run.latency_ms.p50, p99: run.latency_ms.p99 });
  return {
    me_rps: runs.me.rps,
    bare_express_rps: runs.bare.rps,
    ratio: round3(runs.me.rps / runs.bare.rps),
    ...(cpu
      ? {
          me_cpu_us_per_request: round3(cpu.me),
          bare_express_cpu_us_per_request: round3(cpu.bare),
          cpu_ratio: round3(cpu.bare / cpu.me),
        }
      : {}),
    me_latency_ms: pick(runs.me),
    bare_express_latency_ms: pick(runs.bare),
    login_ok_per_s: runs.loginOk.rps,
    login_wrong_per_s: runs.loginWrong.rps,
    login_ok_latency_ms: pick(runs.loginOk),
    login_wrong_latency_ms: pick(runs.loginWrong),
    hash,
  };
};

const rows = (f: AuthFigures, runs: Record<'me' | 'bare' | 'loginOk' | 'loginWrong', Run>): string[][] => {
  const row = (name: string, run: Run, rate: number, per: string) => [
    name,
    String(run.connections),
    `${rate < 100 ? rate.toFixed(1) : Math.round(rate).toLocaleString('en-US')} ${per}`,
    `${run.latency_ms.p50} ms`,
    `${run.latency_ms.p99} ms`,
  ];
  return [
    row('GET /api/auth/me (the app)', runs.me, f.me_rps, 'req/s'),
    row('GET /api/auth/me (bare Express 5)', runs.bare, f.bare_express_rps, 'req/s'),
    row('POST /api/auth/login, right password', runs.loginOk, f.login_ok_per_s, 'logins/s'),
    row('POST /api/auth/login, wrong password', runs.loginWrong, f.login_wrong_per_s, 'attempts/s'),
  ];
};

const HEADER = ['', 'connections', 'rate', 'p50', 'p99'];

const hashLine = (h: HashFigures) =>
  `argon2id m=${h.memoryCost} KiB, t=${h.timeCost}, p=${h.parallelism}: one hash ${h.single_hash_ms} ms, one verify ${h.single_verify_ms} ms (median of ${h.samples}); so at most ~${Math.round(h.verify_ceiling_per_s)} verifies/s with every core hashing`;

export const stdoutReport = (f: AuthFigures, runs: Record<'me' | 'bare' | 'loginOk' | 'loginWrong', Run>): string =>
  [
    textTable(HEADER, rows(f, runs)),
    '',
    `/api/auth/me runs at ${f.ratio} x the bare Express route` +
      (f.cpu_ratio === undefined
        ? ''
        : `; CPU per request ${f.me_cpu_us_per_request} µs vs ${f.bare_express_cpu_us_per_request} µs (${f.cpu_ratio} x at equal CPU)`),
    hashLine(f.hash),
  ].join('\n');

export const markdownReport = (
  f: AuthFigures,
  runs: Record<'me' | 'bare' | 'loginOk' | 'loginWrong', Run>,
  machineLine: string,
): string =>
  [
    machineLine,
    '',
    markdownTable(HEADER, rows(f, runs)),
    '',
    `Ratio /api/auth/me ÷ bare Express: **${f.ratio}**` +
      (f.cpu_ratio === undefined
        ? '. '
        : ` in requests per second; CPU per request ${f.me_cpu_us_per_request} µs vs ${f.bare_express_cpu_us_per_request} µs, so **${f.cpu_ratio}** at equal CPU. `) +
      `${hashLine(f.hash)}.`,
  ].join('\n');
