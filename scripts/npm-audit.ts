/**
 * `npm audit --audit-level=high`, where the registry answers it. A registry that does not serve the
 * audit endpoint (405 here), or no network, prints one `SKIPPED: npm audit (<reason>)` line and passes;
 * high or critical findings fail.
 *
 *   tsx scripts/npm-audit.ts [dir...]     (where the package-lock.json files are; default the current dir)
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export type AuditVerdict =
  { kind: 'skipped'; reason: string } | { kind: 'passed'; summary: string } | { kind: 'failed'; summary: string };

type Counts = Partial<Record<'info' | 'low' | 'moderate' | 'high' | 'critical', number>>;

const parse = (stdout: string): Record<string, unknown> | null => {
  try {
    const value: unknown = JSON.parse(stdout);
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
};

const firstLine = (text: string): string =>
  text
    .split('\n')
    .map((line) => line.replace(/^npm (?:error|warn|ERR!)\s*/i, '').trim())
    .find((line) => line !== '' && !/complete log of this run/i.test(line)) ?? 'no answer';

/** Reads `npm audit --json`'s exit code and output. */
export const classifyAudit = (run: { code: number | null; stdout: string; stderr: string }): AuditVerdict => {
  const json = parse(run.stdout);
  const counts = (json?.metadata as { vulnerabilities?: Counts } | undefined)?.vulnerabilities;
  if (counts) {
    const high = (counts.high ?? 0) + (counts.critical ?? 0);
    const summary = Object.entries(counts)
      .filter(([level, n]) => level !== 'total' && (n ?? 0) > 0)
      .map(([level, n]) => `${n} ${level}`)
      .join(', ');
    if (high > 0) return { kind: 'failed', summary };
    return { kind: 'passed', summary: summary === '' ? 'no known vulnerabilities' : `${summary} (below high)` };
  }
  // No report: the registry or the network did not answer the audit request.
  const status = typeof json?.statusCode === 'number' ? `HTTP ${json.statusCode}` : null;
  const message = typeof json?.message === 'string' ? json.message : firstLine(run.stderr);
  return {
    kind: 'skipped',
    reason: status && !message.includes(String(json?.statusCode)) ? `${status}: ${message}` : message,
  };
};

const main = () => {
  const dirs = process.argv.length > 2 ? process.argv.slice(2) : ['.'];
  let failed = false;
  for (const cwd of dirs) {
    const run = spawnSync('npm', ['audit', '--audit-level=high', '--json'], {
      cwd,
      encoding: 'utf8',
      timeout: 120_000,
    });
    const verdict = classifyAudit({ code: run.status, stdout: run.stdout ?? '', stderr: run.stderr ?? '' });
    switch (verdict.kind) {
      case 'skipped':
        // The same registry serves every lock file: one line, and no point asking again.
        console.log(`SKIPPED: npm audit (${verdict.reason})`);
        return;
      case 'passed':
        console.log(`npm audit ${cwd}: ${verdict.summary}`);
        break;
      case 'failed':
        console.error(
          `npm audit ${cwd}: high or critical vulnerabilities: ${verdict.summary} (run \`npm audit\` there)`,
        );
        failed = true;
        break;
      default: {
        const _exhaustive: never = verdict;
        throw new Error('unknown verdict');
      }
    }
  }
  if (failed) process.exit(1);
};

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) main();
