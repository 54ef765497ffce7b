// Building blocks for environment variable schemas. Every parser reports all the problems it finds
// (with a fix) instead of stopping at the first one, so one failed start lists everything to repair.
import { z } from 'zod';

/** Records one problem with the variable being parsed. `problem` and `fix` must never contain a secret. */
export type Report = (problem: string, fix: string) => void;

export type Env = Readonly<Record<string, string | undefined>>;

/**
 * A zod schema for one variable. The parser returns the typed value; if it called `report` at least
 * once the variable is invalid and the returned value is discarded.
 */
export const envVar = <T>(parse: (value: string | undefined, report: Report) => T) =>
  z
    .string()
    .optional()
    .transform((value, ctx) => {
      let failed = false;
      const result = parse(value, (problem, fix) => {
        failed = true;
        ctx.addIssue({ code: 'custom', message: problem, params: { fix } });
      });
      return failed ? z.NEVER : result;
    });

/** Quotes a NON-secret value for an error message, shortened so a pasted blob cannot flood the log. */
export const shown = (value: string): string => JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);

export const text = (fallback: string) => envVar((value) => value ?? fallback);

export const optionalText = () => envVar((value) => value ?? null);

export const oneOf = <const T extends string>(values: readonly T[], fallback: T) =>
  envVar((value, report): T => {
    if (value === undefined) return fallback;
    const normalised = value.trim().toLowerCase();
    const match = values.find((candidate) => candidate === normalised);
    if (match !== undefined) return match;
    report(
      `${shown(value)} is not one of ${values.join(', ')}`,
      `Set it to one of ${values.join(' | ')} (default ${fallback}).`,
    );
    return fallback;
  });

export type IntegerRule = { fallback: number; min: number; max: number; unit?: string };

/** Parses a whole number; returns undefined (after reporting) when the text is not one or is out of range. */
export const parseInteger = (value: string, rule: IntegerRule, report: Report): number | undefined => {
  const unit = rule.unit === undefined ? '' : ` ${rule.unit}`;
  const fix = `Set it to a whole number from ${rule.min} to ${rule.max}${unit} (default ${rule.fallback}).`;
  const trimmed = value.trim();
  if (!/^[+-]?\d+$/.test(trimmed)) {
    report(`${shown(value)} is not a whole number`, fix);
    return undefined;
  }
  const parsed = Number(trimmed);
  if (!Number.isSafeInteger(parsed) || parsed < rule.min || parsed > rule.max) {
    report(`${shown(trimmed)} is out of range`, fix);
    return undefined;
  }
  return parsed;
};

export const integer = (rule: IntegerRule) =>
  envVar((value, report) =>
    value === undefined ? rule.fallback : (parseInteger(value, rule, report) ?? rule.fallback),
  );

const TRUE = new Set(['true', '1', 'yes', 'on']);
const FALSE = new Set(['false', '0', 'no', 'off']);

export const boolean = (fallback: boolean) =>
  envVar((value, report) => {
    if (value === undefined) return fallback;
    const normalised = value.trim().toLowerCase();
    if (TRUE.has(normalised)) return true;
    if (FALSE.has(normalised)) return false;
    report(`${shown(value)} is not a boolean`, `Set it to true or false (default ${fallback}).`);
    return fallback;
  });

/** Parses a URL whose scheme must be one of `protocols` (e.g. ['postgres:']); never echoes the value. */
export const parseUrl = (value: string, protocols: readonly string[]): URL | undefined => {
  try {
    const url = new URL(value.trim());
    return protocols.includes(url.protocol) && url.hostname !== '' ? url : undefined;
  } catch {
    return undefined;
  }
};

/** Splits a comma-separated list, dropping blanks around separators. */
export const list = (value: string): string[] =>
  value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');

/** Treats empty and whitespace-only values as unset (docker compose passes `${VAR}` of an unset VAR as ''). */
export const normaliseEnv = (env: Env): Record<string, string | undefined> =>
  Object.fromEntries(
    Object.entries(env).map(([key, value]) => [key, value === undefined || value.trim() === '' ? undefined : value]),
  );

export const deepFreeze = <T>(value: T): T => {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
};
