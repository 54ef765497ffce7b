/**
 * Fails when a tracked file holds something that looks like a secret: private keys, JWT-looking tokens,
 * AWS / OpenAI / GitHub style keys, Fernet keys (outside tests/fixtures and the published spec vector),
 * or a tracked `.env` file. Deliberate fakes in tests are allowed by fingerprint in
 * scripts/secret-scan.allow (`<fingerprint> <path>  # why`), so a new one needs a reviewed line there.
 *
 *   tsx scripts/secret-scan.ts [repo dir]
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export type Finding = { path: string; line: number; rule: string; fingerprint: string; preview: string };

type Rule = { name: string; pattern: RegExp; skip?: (path: string, value: string) => boolean };

/** The Fernet spec's own test key, published in its test vectors (github.com/fernet/spec). */
const PUBLISHED_FERNET_KEY = 'cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=';

const rules: readonly Rule[] = [
  { name: 'private-key', pattern: /-----BEGIN [A-Z0-9 ]{0,40}PRIVATE KEY[A-Z ]{0,10}-----/g },
  { name: 'jwt', pattern: /\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}/g },
  { name: 'aws-access-key-id', pattern: /\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/g },
  { name: 'aws-secret-access-key', pattern: /aws_secret_access_key["']?\s*[:=]\s*["']?[A-Za-z0-9/+]{40}/gi },
  { name: 'openai-style-key', pattern: /\bsk-[A-Za-z0-9_-]{20,}/g },
  { name: 'github-token', pattern: /\bgh[pousr]_[A-Za-z0-9]{36}\b/g },
  {
    name: 'fernet-key',
    pattern: /(?<![A-Za-z0-9_+/-])[A-Za-z0-9_-]{43}=(?![A-Za-z0-9=])/g,
    skip: (path, value) => path.startsWith('tests/fixtures/') || value === PUBLISHED_FERNET_KEY,
  },
];

/** `.env`, `.env.production`...; the documented templates are fine. */
const isEnvFile = (path: string): boolean => {
  const name = basename(path);
  return (
    (name === '.env' || name.startsWith('.env.')) && !['.env.example', '.env.sample', '.env.template'].includes(name)
  );
};

/** Placeholders such as AAAA…= or xxxx… are not secrets. */
const placeholder = (value: string): boolean => new Set(value.replace(/[^A-Za-z0-9]/g, '')).size < 8;

export const fingerprint = (rule: string, value: string): string =>
  createHash('sha256').update(`${rule}\0${value}`).digest('hex').slice(0, 16);

/** Scans one file's text; `path` is relative to the repository root. */
export const scanText = (path: string, text: string): Finding[] => {
  const findings: Finding[] = [];
  const lines = text.split('\n');
  lines.forEach((content, index) => {
    for (const rule of rules) {
      for (const match of content.matchAll(rule.pattern)) {
        const value = match[0];
        if (placeholder(value) || rule.skip?.(path, value)) continue;
        findings.push({
          path,
          line: index + 1,
          rule: rule.name,
          fingerprint: fingerprint(rule.name, value),
          preview: `${value.slice(0, 6)}…(${value.length} chars)`,
        });
      }
    }
  });
  return findings;
};

const ALLOW_FILE = 'scripts/secret-scan.allow';

const readAllowList = (root: string): Set<string> => {
  let text: string;
  try {
    // eslint-disable-next-line security/detect-non-literal-fs-filename -- a fixed file under the scanned repo
    text = readFileSync(join(root, ALLOW_FILE), 'utf8');
  } catch {
    return new Set();
  }
  const allowed = new Set<string>();
  for (const line of text.split('\n')) {
    const [fp, path] = line.replace(/#.*$/, '').trim().split(/\s+/);
    if (fp && path) allowed.add(`${fp} ${path}`);
  }
  return allowed;
};

/** Every finding in the files git tracks under `root`, minus the allow list. */
export const scanRepository = (root: string): Finding[] => {
  const files = execFileSync('git', ['ls-files', '-z'], { cwd: root, encoding: 'utf8', maxBuffer: 64 << 20 })
    .split('\0')
    .filter((path) => path !== '');
  const allowed = readAllowList(root);
  const findings: Finding[] = [];
  for (const path of files) {
    if (isEnvFile(path)) {
      findings.push({ path, line: 0, rule: 'tracked-env-file', fingerprint: fingerprint('env', path), preview: path });
      continue;
    }
    let buffer: Buffer;
    try {
      // eslint-disable-next-line security/detect-non-literal-fs-filename -- paths come from git ls-files
      buffer = readFileSync(join(root, path));
    } catch {
      continue; // deleted in the work tree but not yet from the index
    }
    if (buffer.includes(0)) continue; // binary
    for (const finding of scanText(path, buffer.toString('utf8')))
      if (!allowed.has(`${finding.fingerprint} ${finding.path}`)) findings.push(finding);
  }
  return findings;
};

const main = () => {
  const root = process.argv[2] ?? process.cwd();
  const started = Date.now();
  const findings = scanRepository(root);
  for (const f of findings) console.error(`${f.path}:${f.line}: ${f.rule} ${f.preview} (fingerprint ${f.fingerprint})`);
  if (findings.length > 0) {
    console.error(
      `secret scan: ${findings.length} finding(s). Remove the secret (and rotate it), or if it is a deliberate test fake add "<fingerprint> <path>  # why" to ${ALLOW_FILE}.`,
    );
    process.exit(1);
  }
  console.log(`secret scan: no secret pattern in tracked files (${Date.now() - started} ms)`);
};

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) main();
