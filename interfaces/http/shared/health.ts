import { Router } from 'express';

export type HealthCheck = { name: string; check: () => Promise<void> };
export type CheckResult = { status: 'ok' | 'error'; latencyMs: number; error?: string };

const withTimeout = <T>(promise: Promise<T>, ms: number): Promise<T> =>
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

/** Runs every check in parallel, each bounded by `timeoutMs`, so a hung dependency cannot hang /healthz. */
export const runHealthChecks = async (checks: readonly HealthCheck[], timeoutMs = 2_000) => {
  const results = await Promise.all(
    checks.map(async ({ name, check }): Promise<[string, CheckResult]> => {
      const started = performance.now();
      try {
        await withTimeout(check(), timeoutMs);
        return [name, { status: 'ok', latencyMs: round(performance.now() - started) }];
      } catch (error) {
        // The message names the failure class (refused, timeout, auth) without connection strings.
        return [name, { status: 'error', latencyMs: round(performance.now() - started), error: describe(error) }];
      }
    }),
  );
  const healthy = results.every(([, result]) => result.status === 'ok');
  return { healthy, body: { status: healthy ? 'ok' : 'unavailable', checks: Object.fromEntries(results) } };
};

const round = (ms: number) => Math.round(ms * 100) / 100;

const describe = (error: unknown): string => {
  const e = error as { code?: string; message?: string };
  const text = e.code ? `${e.code}: ${e.message ?? ''}` : (e.message ?? String(error));
  return text.replace(/\b[a-z]+:\/\/[^\s]+/gi, '[url]').slice(0, 200);
};

/** Information shown in /healthz that never makes it fail (e.g. the other processes' liveness). */
export type HealthDetail = { name: string; read: () => Promise<unknown> };

/** Each detail bounded by `timeoutMs`; one that fails shows its error instead of its value. */
const readDetails = async (details: readonly HealthDetail[], timeoutMs = 2_000) =>
  Object.fromEntries(
    await Promise.all(
      details.map(async ({ name, read }): Promise<[string, unknown]> => {
        try {
          return [name, await withTimeout(read(), timeoutMs)];
        } catch (error) {
          return [name, { error: describe(error) }];
        }
      }),
    ),
  );

/**
 * GET /healthz: 200 when every dependency answers, 503 naming the failing one otherwise. `details`
 * (processes' liveness) are shown under `detail` and never change the status.
 */
export const healthRoutes = (checks: readonly HealthCheck[], details: readonly HealthDetail[] = []): Router => {
  const router = Router();
  router.get('/healthz', async (_req, res) => {
    const [{ healthy, body }, detail] = await Promise.all([runHealthChecks(checks), readDetails(details)]);
    res
      .status(healthy ? 200 : 503)
      .set('Cache-Control', 'no-store')
      .json(details.length > 0 ? { ...body, detail } : body);
  });
  return router;
};
