import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fingerprint, scanRepository } from '../../../scripts/secret-scan.js';

// Assembled at run time so this file itself does not hold the patterns it plants.
const JWT = [
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9',
  'eyJzdWIiOiJhZG1pbiIsImlhdCI6MTcwMDAwMDAwMH0',
  'Qm9ndXNTaWduYXR1cmVWYWx1ZTEyMzQ1Njc4OTA',
].join('.');
const PRIVATE_KEY = ['-----BEGIN', 'RSA PRIVATE KEY-----\nMIIEow...\n-----END RSA PRIVATE KEY-----'].join(' ');
const AWS_KEY = ['AKIA', 'Z7Q3M9K2X5V8N4R6'].join('');
const OPENAI_KEY = ['sk', 'proj-Q8wErTy7UiOp3AsDfGh5JkLzXcVb'].join('-');
const FERNET_KEY = ['Mvz2Ue3rhLGjTpcRWmRMdBfE5bxQ9EGVHSHu', 'dpsmqh8='].join('');
const SPEC_KEY = ['cw_0x689RpI-jtRR7oE8h', '_eQsKImvJapLeSbXpwF4e4='].join('');

describe('secret scan over git ls-files', () => {
  let repo: string;
  const write = (path: string, content: string) => {
    mkdirSync(dirname(join(repo, path)), { recursive: true });
    writeFileSync(join(repo, path), content);
  };
  const git = (...args: string[]) => execFileSync('git', args, { cwd: repo, stdio: 'pipe' });

  beforeEach(() => {
    repo = mkdtempSync(join(tmpdir(), 'secret-scan-'));
    git('init', '-q');
    write(
      'src/ok.ts',
      "export const greeting = 'hola';\nconst integrity = 'sha512-p9VOFMiHB/ZbJATetbg+99PxssTVSQRnyuPSQ67mN1+1KBOjZaZ83ZQzltnxPhJwSsC3nwVjJ10DVJlerbFzLg==';\n",
    );
    write('scripts/check.sh', 'FERNET_KEYS=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n');
    write('tests/fixtures/fernet/verify.json', `{"secret": "${FERNET_KEY}"}\n`);
    write('docs/spec.md', `The Fernet spec's test key is ${SPEC_KEY}.\n`);
    write('.env.example', 'JWT_SECRET=\n');
    git('add', '-A');
  });
  afterEach(() => rmSync(repo, { recursive: true, force: true }));

  it('a clean tree has no finding: fixtures, the published vector, placeholders and lock hashes pass', () => {
    expect(scanRepository(repo)).to.deep.equal([]);
  });

  it('flags each planted secret with its file, line and kind, and only tracked files', () => {
    write('src/config.ts', `// config\nexport const token = '${JWT}';\n`);
    write('deploy/id_rsa', PRIVATE_KEY);
    write('src/aws.ts', `const id = "${AWS_KEY}";\n`);
    write('src/llm.ts', `const key = "${OPENAI_KEY}";\n`);
    write('src/keys.ts', `const FERNET = "${FERNET_KEY}";\n`);
    write('.env', 'JWT_SECRET=abc\n');
    write('untracked.ts', `const key = "${OPENAI_KEY}";\n`);
    git('add', 'src', 'deploy', '.env');
    const found = scanRepository(repo).map((f) => `${f.path}:${f.line} ${f.rule}`);
    expect(found).to.have.members([
      '.env:0 tracked-env-file',
      'deploy/id_rsa:1 private-key',
      'src/aws.ts:1 aws-access-key-id',
      'src/config.ts:2 jwt',
      'src/keys.ts:1 fernet-key',
      'src/llm.ts:1 openai-style-key',
    ]);
  });

  it('a finding never prints the secret itself', () => {
    write('src/llm.ts', `const key = "${OPENAI_KEY}";\n`);
    git('add', 'src');
    const [finding] = scanRepository(repo);
    expect(JSON.stringify(finding)).not.to.include(OPENAI_KEY.slice(6));
  });

  it('the allow list accepts a reviewed fake by fingerprint, in that file only', () => {
    write('tests/unit/logger.test.ts', `const KEY = '${OPENAI_KEY}';\n`);
    write('src/llm.ts', `const key = "${OPENAI_KEY}";\n`);
    write(
      'scripts/secret-scan.allow',
      `${fingerprint('openai-style-key', OPENAI_KEY)} tests/unit/logger.test.ts  # fake\n`,
    );
    git('add', '-A');
    expect(scanRepository(repo).map((f) => f.path)).to.deep.equal(['src/llm.ts']);
  });
});
