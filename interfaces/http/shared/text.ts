import type { RequestHandler } from 'express';
import { ValidationError } from '#application/shared/errors.js';

/**
 * What no text input may carry, whatever the route: characters PostgreSQL cannot store (NUL, in
 * text and jsonb alike) or that do not survive UTF-8 (a lone surrogate would be stored as U+FFFD,
 * silently another string), and control characters that make no sense in a form field or a query
 * (C0 except tab, line feed and carriage return; DEL; C1). Query parameters are names, ids and
 * filters, so bidi controls (which can make a log line or a console cell read backwards) are refused
 * there too. Free text in JSON bodies may be right-to-left language, so bidi isolates and marks are
 * allowed there; what people see of it is escaped where it is shown.
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0001-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/;
const BIDI = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;

export type TextProblem = 'unstorable' | 'control' | 'bidi';

/** The first problem of one text value, or null. */
export const textProblem = (value: string, options: { bidi: boolean }): TextProblem | null => {
  if (UNSTORABLE.test(value)) return 'unstorable';
  if (CONTROL.test(value)) return 'control';
  if (!options.bidi && BIDI.test(value)) return 'bidi';
  return null;
};

const MAX_DEPTH = 32;

/** Every string (keys included) of a parsed JSON body or query, with its path. */
function* strings(value: unknown, path: string, depth = 0): Generator<[string, string]> {
  if (typeof value === 'string') {
    yield [path, value];
    return;
  }
  if (typeof value !== 'object' || value === null || depth > MAX_DEPTH) return;
  for (const [key, child] of Object.entries(value)) {
    const childPath = Array.isArray(value) ? `${path}[${key}]` : path ? `${path}.${key}` : key;
    yield [`${childPath} (name)`, key];
    yield* strings(child, childPath, depth + 1);
  }
}

const MESSAGES: Record<TextProblem, string> = {
  unstorable: 'contains a character that cannot be stored (NUL or an unpaired UTF-16 surrogate)',
  control: 'contains a control character',
  bidi: 'contains a bidirectional-override character',
};

/** 400 invalid_text naming the first offending field; checks `input` as a JSON body or as a query. */
export const checkText = (input: unknown, where: 'body' | 'query', skip: ReadonlySet<string> = new Set()): void => {
  for (const [path, value] of strings(input, '')) {
    if (skip.has(path)) continue;
    const problem = textProblem(value, { bidi: where === 'body' });
    if (problem !== null)
      throw new ValidationError(
        `The ${where === 'body' ? 'field' : 'query parameter'} ${printablePath(path)} ${MESSAGES[problem]}.`,
        { [where === 'body' ? 'field' : 'parameter']: printablePath(path), problem },
        'invalid_text',
      );
  }
};

// eslint-disable-next-line no-control-regex -- the path may itself be made of odd characters
const ODD_IN_PATH = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]/g;
const printablePath = (path: string): string => path.replace(ODD_IN_PATH, '?').slice(0, 200);

/**
 * Refuses odd text in every JSON body and query parameter of the routes it guards. `skip` lists
 * body fields that a route handles itself, per "METHOD path": the login's username and password,
 * which must still be recorded (escaped) as an attempt rather than refused unrecorded.
 */
export const rejectOddText = (skip: Readonly<Record<string, readonly string[]>> = {}): RequestHandler => {
  const skipped = new Map(Object.entries(skip).map(([route, fields]) => [route, new Set(fields)]));
  const none: ReadonlySet<string> = new Set();
  return (req, _res, next) => {
    try {
      // Express parses req.query anew on every read: without a query string there is nothing to parse.
      if (req.url.includes('?')) checkText(req.query, 'query');
      // No body (a GET, or a type the JSON parser does not read): nothing to check either.
      if (req.body !== undefined) checkText(req.body, 'body', skipped.get(`${req.method} ${req.path}`) ?? none);
      next();
    } catch (error) {
      next(error);
    }
  };
};
