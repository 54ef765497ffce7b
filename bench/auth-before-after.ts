/**
 * Before/after of the HTTP path on the same machine in the same run: `bench/auth.ts --me-only` of an
 * earlier commit (exported with git archive into a temporary directory that shares node_modules) and of
 * this checkout, alternately, N pairs; the pairs and their medians go into bench/results/auth.json
 * (`beforeAfter`), next to the full run's figures.
 *
 *   npx tsx bench/auth-before-after.ts --before 9e19c88 --pairs 3
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { median, round3 } from './bench-support.js';

const { values: args } = parseArgs({
  options: { before: { type: 'string' }, pairs: { type: 'string', default: '3' } },
});
if (!args.before) throw new Error('usage: auth-before-after.ts --before <commit> [--pairs N]');
const root = path.resolve(new URL('..', import.meta.url).pathname);
const log = (line: string) => process.stderr.write(`${line}\n`);

type MeRun = {
  code: 'before' | 'after';
  at: string;
  loadAverage1m: number;
  meRps: number;
  bareRps: number;
  ratio: number;
  cpuUsPerRequest: { me: number; bare: number };
  cpuRatio: number;
};

const runMeOnly = (dir: string, code: MeRun['code']): MeRun | null => {
  const at = new Date().toISOString();
  const loadAverage1m = round3(os.loadavg()[0] ?? 0);
  const result = spawnSync(process.execPath, ['--import', 'tsx', 'bench/auth.ts', '--me-only'], {
    cwd: dir,
    encoding: 'utf8',
    timeout: 300_000,
  });
  const text = `${result.stdout}\n${result.stderr}`;
  const rps = (label: string) => {
    const match = new RegExp(`^${label}\\s+\\{"200":(\\d+)\\} in ([\\d.]+) s`, 'm').exec(text);
    return match ? Number(match[1]) / Number(match[2]) : NaN;
  };
  const cpu = /CPU per request: me (\d+) µs, bare (\d+) µs/.exec(text);
  const ratio = /me\/bare ratio ([\d.]+)/.exec(text);
  if (!cpu || !ratio) {
    log(`${code}: no figures (${result.status}): ${text.slice(-500)}`);
    return null;
  }
  const run: MeRun = {
    code,
    at,
    loadAverage1m,
    meRps: round3(rps('me')),
    bareRps: round3(rps('bare')),
    ratio: Number(ratio[1]),
    cpuUsPerRequest: { me: Number(cpu[1]), bare: Number(cpu[2]) },
    cpuRatio: round3(Number(cpu[2]) / Number(cpu[1])),
  };
  log(JSON.stringify(run));
  return run;
};

const beforeDir = mkdtempSync(path.join(os.tmpdir(), 'bench-auth-before-'));
try {
  const archive = execFileSync('git', ['archive', args.before], { cwd: root, maxBuffer: 1 << 30 });
  execFileSync('tar', ['-x', '-C', beforeDir], { input: archive });
  symlinkSync(path.join(root, 'node_modules'), path.join(beforeDir, 'node_modules'));
  symlinkSync(path.join(root, 'bench', 'node_modules'), path.join(beforeDir, 'bench', 'node_modules'));
  // The earlier commit's app server imported an alias that does not resolve from bench/: use this one's.
  writeFileSync(
    path.join(beforeDir, 'bench', 'auth-app-server.ts'),
    readFileSync(path.join(root, 'bench', 'auth-app-server.ts')),
  );
  const runs: MeRun[] = [];
  for (let i = 0; i < Number(args.pairs); i++) {
    for (const [code, dir] of [
      ['before', beforeDir],
      ['after', root],
    ] as const) {
      const run = runMeOnly(dir, code);
      if (run) runs.push(run);
    }
  }
  const summary = (code: MeRun['code']) => {
    const of = runs.filter((r) => r.code === code);
    return {
      runs: of.length,
      medianRatio: round3(median(of.map((r) => r.ratio))),
      medianCpuRatio: round3(median(of.map((r) => r.cpuRatio))),
      medianCpuUsPerRequest: round3(median(of.map((r) => r.cpuUsPerRequest.me))),
    };
  };
  const file = path.join(root, 'bench', 'results', 'auth.json');
  const current = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>) : {};
  current['beforeAfter'] = {
    method:
      'bench/auth.ts --me-only (50 connections, 5 interleaved rounds of 2 s against a bare Express route), the commit before the change and this checkout alternately, same machine, same period',
    before: args.before,
    summary: { before: summary('before'), after: summary('after') },
    runs,
  };
  writeFileSync(file, `${JSON.stringify(current, null, 2)}\n`);
  console.log(JSON.stringify((current['beforeAfter'] as { summary: unknown }).summary));
} finally {
  rmSync(beforeDir, { recursive: true, force: true });
}
