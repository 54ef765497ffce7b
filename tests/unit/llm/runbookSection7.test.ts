// Runbook section 7 quotes log lines for the on-call engineer's grep: each must be a line the code
// writes, with the words the grep looks for, in both languages.
import { readdirSync, readFileSync } from 'node:fs';
import { expect } from 'chai';
import { LLM_ERROR_KINDS } from '#domain/llm/events.js';

const root = new URL('../../../', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), 'utf8');
const section7 = (path: string): string => {
  const text = read(path);
  const from = text.indexOf('## 7)');
  const to = text.indexOf('## 8)');
  expect(from, `${path} has a section 7`).to.be.greaterThan(0);
  return text.slice(from, to);
};
/** the string literals and templates the LLM code and the app's responder wiring log with */
const sources = [
  ...readdirSync(new URL('application/llm/', root)).map((f) => read(`application/llm/${f}`)),
  read('interfaces/process/app.ts'),
].join('\n');
const GREP = /provider|fallback|timeout|circuit/i;

describe('runbook section 7: the log lines it quotes are the ones the chain writes', () => {
  for (const path of ['docs/runbook.es.md', 'docs/runbook.en.md']) {
    it(`${path}`, () => {
      const section = section7(path);
      expect(section).to.include('grep -i "provider\\|fallback\\|timeout\\|circuit"');
      const quoted = [...section.matchAll(/`((?:llm|responder:) [^`]+)`/g)].map((m) => m[1]!);
      expect(quoted.length).to.be.at.least(10);
      for (const line of quoted) {
        expect(line, 'found by the grep').to.match(GREP);
        const failed = /^llm provider call failed: (\w+)$/.exec(line);
        if (failed) {
          expect(sources).to.include('`llm provider call failed: ${kind}`');
          expect(LLM_ERROR_KINDS).to.include(failed[1]);
        } else expect(sources, line).to.include(`'${line}`);
      }
    });
  }
});
