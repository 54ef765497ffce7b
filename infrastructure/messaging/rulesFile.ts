import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { DEFAULT_RULES, compileRules, type RuleSet } from '#application/messaging/rules.js';

export const RULES_FILE = 'responder-rules.json';

const Rule = z
  .object({
    name: z.string().min(1).max(64),
    keywords: z.array(z.string().min(1)).optional(),
    pattern: z.string().min(1).optional(),
    answer: z.string().min(1).max(4096),
  })
  .refine((r) => (r.keywords?.length ?? 0) > 0 || r.pattern !== undefined, 'needs keywords or a pattern');
const RulesFile = z.object({ rules: z.array(Rule), fallback: z.string().min(1).max(4096).nullable() });

export class InvalidRulesFileError extends Error {
  readonly code = 'invalid_rules_file';
  constructor(file: string, problem: string) {
    super(`${file}: ${problem}. Fix the file (or delete it to get the shipped defaults back) and start again.`);
    this.name = 'InvalidRulesFileError';
  }
}

/**
 * The rules responder's answers, from `<DATA_DIR>/responder-rules.json`. A missing file is written with
 * the shipped Spanish defaults (greeting, hours, help, fallback) so there is something to edit; a
 * broken one stops the start with the reason, instead of a bot that silently answers nothing.
 */
export const loadRules = (dataDir: string): RuleSet => {
  const file = path.join(dataDir, RULES_FILE);
  let text: string;
  try {
    // eslint-disable-next-line security/detect-non-literal-fs-filename -- the rules file lives at a path derived from DATA_DIR (configuration), never from request input
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    // eslint-disable-next-line security/detect-non-literal-fs-filename -- the rules file lives at a path derived from DATA_DIR (configuration), never from request input
    mkdirSync(dataDir, { recursive: true });
    // eslint-disable-next-line security/detect-non-literal-fs-filename -- the rules file lives at a path derived from DATA_DIR (configuration), never from request input
    writeFileSync(file, `${JSON.stringify(DEFAULT_RULES, null, 2)}\n`, { flag: 'wx' });
    return DEFAULT_RULES;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new InvalidRulesFileError(file, 'not valid JSON');
  }
  const result = RulesFile.safeParse(parsed);
  if (!result.success)
    throw new InvalidRulesFileError(
      file,
      result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; '),
    );
  try {
    compileRules(result.data);
  } catch (error) {
    throw new InvalidRulesFileError(file, `a pattern is not a valid regular expression (${(error as Error).message})`);
  }
  return result.data;
};
