/**
 * The load generator of bench/auth.ts, in a process of its own so that it shares an event loop with
 * neither server. It receives one LoadSpec over IPC, warms every target up, then runs them in
 * interleaved rounds (A B, B A, A B...) with the same connections, so that a noisy moment on the
 * shared machine lands on all of them; it sends one LoadResult per target back. Loopback only.
 */
import autocannon from 'autocannon';
import { assertLoopback } from './bench-support.js';
import { tellParent } from './auth-children.js';

export type Target = {
  label: string;
  /** http://127.0.0.1:<port>/<path> */
  url: string;
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  /**
   * POST /api/auth/login bodies rotating over these accounts. With maxPerAccount, no account gets
   * more attempts than that (warm-up included): the run ends early rather than exceed it.
   */
  logins?: { usernames: string[]; password: string; maxPerAccount?: number };
};

export type LoadSpec = {
  targets: Target[];
  connections: number;
  warmupSeconds: number;
  rounds: number;
  roundSeconds: number;
};

export type LoadResult = {
  label: string;
  connections: number;
  /** measured seconds, all rounds together */
  seconds: number;
  rounds: number;
  statusCodes: Record<string, number>;
  errors: number;
  timeouts: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number; mean: number };
  warmup: { seconds: number; responses: number };
  /** the most attempts one account received (login runs) */
  maxAttemptsPerAccount: number | null;
};

type Raw = autocannon.Result & { statusCodeStats: Record<string, { count: number }> };
const { aggregateResult } = autocannon as unknown as {
  aggregateResult: (results: Raw[], opts: { url: string; connections: number }) => autocannon.Result;
};

const statusCodes = (result: Raw): Record<string, number> =>
  Object.fromEntries(Object.entries(result.statusCodeStats).map(([code, stat]) => [code, Number(stat.count)]));

const sum = (into: Record<string, number>, add: Record<string, number>) => {
  for (const [key, n] of Object.entries(add)) into[key] = (into[key] ?? 0) + n;
};

/** One target's autocannon runs: its request rotation and attempt counts live across all of them. */
const driver = (target: Target, connections: number) => {
  assertLoopback(target.url);
  const attempts = new Map<string, number>();
  let sent = 0;
  const logins = target.logins;
  const setupRequest = logins
    ? (req: autocannon.Request): autocannon.Request => {
        // Round robin: consecutive requests, hence concurrent ones, go to different accounts.
        const username = logins.usernames[sent % logins.usernames.length]!;
        sent += 1;
        attempts.set(username, (attempts.get(username) ?? 0) + 1);
        return { ...req, body: JSON.stringify({ username, password: logins.password }) };
      }
    : undefined;
  const maxOverallRequests = (): number | undefined => {
    if (logins?.maxPerAccount === undefined) return undefined;
    const left = logins.usernames.length * logins.maxPerAccount - sent;
    if (left < connections) throw new Error(`${target.label}: the account pool is used up; create more accounts`);
    return left;
  };
  const run = async (seconds: number): Promise<Raw> => {
    const cap = maxOverallRequests();
    const result = (await autocannon({
      url: target.url,
      method: target.method,
      headers: target.headers,
      connections,
      pipelining: 1,
      duration: seconds,
      timeout: 30,
      skipAggregateResult: true,
      ...(cap !== undefined ? { maxOverallRequests: cap } : {}),
      ...(setupRequest ? { requests: [{ method: target.method, setupRequest }] } : {}),
    })) as Raw;
    return result;
  };
  const maxAttempts = () => {
    const most = attempts.size === 0 ? null : Math.max(...attempts.values());
    if (logins?.maxPerAccount !== undefined && most !== null && most > logins.maxPerAccount) {
      throw new Error(`${target.label}: an account got ${most} attempts, more than ${logins.maxPerAccount}`);
    }
    return most;
  };
  return { target, run, maxAttempts };
};

const measure = async (spec: LoadSpec): Promise<LoadResult[]> => {
  const drivers = spec.targets.map((target) => driver(target, spec.connections));
  const warmups: Raw[] = [];
  for (const d of drivers) warmups.push(await d.run(spec.warmupSeconds));
  const rounds = drivers.map(() => [] as Raw[]);
  for (let round = 0; round < spec.rounds; round += 1) {
    const order = drivers.map((_, i) => i);
    if (round % 2 === 1) order.reverse();
    for (const i of order) rounds[i]!.push(await drivers[i]!.run(spec.roundSeconds));
  }
  return drivers.map((d, i) => {
    const runs = rounds[i]!;
    // Before aggregateResult, which adds the later runs' status counts into the first run's object.
    const codes: Record<string, number> = {};
    for (const run of runs) sum(codes, statusCodes(run));
    const warm = warmups[i]!;
    const latency = aggregateResult(runs, { url: d.target.url, connections: spec.connections }).latency;
    return {
      label: d.target.label,
      connections: spec.connections,
      seconds: Math.round(runs.reduce((s, r) => s + r.duration, 0) * 100) / 100,
      rounds: runs.length,
      statusCodes: codes,
      errors: runs.reduce((s, r) => s + r.errors, 0),
      timeouts: runs.reduce((s, r) => s + r.timeouts, 0),
      latencyMs: { p50: latency.p50, p90: latency.p90, p99: latency.p99, max: latency.max, mean: latency.average },
      warmup: { seconds: warm.duration, responses: Object.values(statusCodes(warm)).reduce((a, b) => a + b, 0) },
      maxAttemptsPerAccount: d.maxAttempts(),
    };
  });
};

process.once('message', (message: { type: string; spec: LoadSpec }) => {
  measure(message.spec).then(
    (results) => {
      tellParent({ type: 'result', result: results });
      process.disconnect();
    },
    (error: unknown) => {
      tellParent({ type: 'failed', error: error instanceof Error ? error.message : String(error) });
      process.disconnect();
    },
  );
});
