/**
 * The load generator of bench/auth.ts, in a process of its own so that it does not share an event
 * loop with either server. It receives one LoadSpec over IPC, runs autocannon twice (warm-up, then
 * the measured run, same connections) and sends the LoadResult back. Loopback targets only.
 */
import autocannon from 'autocannon';
import { assertLoopback } from './bench-support.js';
import { tellParent } from './auth-children.js';

export type LoadSpec = {
  label: string;
  /** http://127.0.0.1:<port>/<path> */
  url: string;
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  connections: number;
  warmupSeconds: number;
  seconds: number;
  /**
   * POST /api/auth/login bodies rotating over these accounts. With maxPerAccount, no account gets
   * more attempts than that (warm-up included): the run ends early rather than exceed it.
   */
  logins?: { usernames: string[]; password: string; maxPerAccount?: number };
};

export type LoadResult = {
  label: string;
  connections: number;
  seconds: number;
  /** completed responses, any status */
  responses: number;
  statusCodes: Record<string, number>;
  errors: number;
  timeouts: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number; mean: number };
  warmup: { seconds: number; responses: number };
  /** the most attempts one account received (login runs) */
  maxAttemptsPerAccount: number | null;
};

type Run = { seconds: number; maxOverallRequests?: number };

const run = async (spec: LoadSpec, { seconds, maxOverallRequests }: Run, setupRequest?: (req: autocannon.Request) => autocannon.Request) => {
  const result = await autocannon({
    url: spec.url,
    method: spec.method,
    headers: spec.headers,
    connections: spec.connections,
    pipelining: 1,
    duration: seconds,
    timeout: 30,
    ...(maxOverallRequests !== undefined ? { maxOverallRequests } : {}),
    ...(setupRequest ? { requests: [{ method: spec.method, setupRequest }] } : {}),
  });
  return result;
};

const statusCodes = (result: autocannon.Result): Record<string, number> =>
  Object.fromEntries(Object.entries(result.statusCodeStats ?? {}).map(([code, stat]) => [code, Number((stat as { count: number | string }).count)]));

const measure = async (spec: LoadSpec): Promise<LoadResult> => {
  assertLoopback(spec.url);
  const attempts = new Map<string, number>();
  let sent = 0;
  const logins = spec.logins;
  const setupRequest = logins
    ? (req: autocannon.Request): autocannon.Request => {
        // Round robin: consecutive requests, hence concurrent ones, go to different accounts.
        const username = logins.usernames[sent % logins.usernames.length]!;
        sent += 1;
        attempts.set(username, (attempts.get(username) ?? 0) + 1);
        return { ...req, body: JSON.stringify({ username, password: logins.password }) };
      }
    : undefined;
  const budget = () => (logins?.maxPerAccount !== undefined ? logins.usernames.length * logins.maxPerAccount - sent : undefined);
  const limited = (seconds: number): Run => {
    const left = budget();
    if (left === undefined) return { seconds };
    if (left < spec.connections) throw new Error(`${spec.label}: the account pool is used up; create more accounts`);
    return { seconds, maxOverallRequests: left };
  };

  const warm = await run(spec, limited(spec.warmupSeconds), setupRequest);
  const result = await run(spec, limited(spec.seconds), setupRequest);
  const maxAttempts = attempts.size === 0 ? null : Math.max(...attempts.values());
  if (logins?.maxPerAccount !== undefined && maxAttempts !== null && maxAttempts > logins.maxPerAccount) {
    throw new Error(`${spec.label}: an account got ${maxAttempts} attempts, more than ${logins.maxPerAccount}`);
  }
  const responses = Object.values(statusCodes(result)).reduce((a, b) => a + b, 0);
  return {
    label: spec.label,
    connections: spec.connections,
    seconds: result.duration,
    responses,
    statusCodes: statusCodes(result),
    errors: result.errors,
    timeouts: result.timeouts,
    latencyMs: { p50: result.latency.p50, p90: result.latency.p90, p99: result.latency.p99, max: result.latency.max, mean: result.latency.average },
    warmup: { seconds: warm.duration, responses: Object.values(statusCodes(warm)).reduce((a, b) => a + b, 0) },
    maxAttemptsPerAccount: maxAttempts,
  };
};

process.once('message', (message: { type: string; spec: LoadSpec }) => {
  measure(message.spec).then(
    (result) => {
      tellParent({ type: 'result', result });
      process.disconnect();
    },
    (error: unknown) => {
      tellParent({ type: 'failed', error: error instanceof Error ? error.message : String(error) });
      process.disconnect();
    },
  );
});
