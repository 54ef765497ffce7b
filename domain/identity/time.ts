import { InvalidTimestamp } from './errors.js';

/**
 * Instants enter the domain as ISO-8601 strings carried by commands; these helpers only
 * parse and format them (they never read the clock).
 */

// Date.parse accepts many loose formats; insist on the ISO shape the rest of the system writes.
// eslint-disable-next-line security/detect-unsafe-regex -- anchored, each optional group starts with a distinct literal: linear
const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;

export const toMillis = (iso: string, field = 'now'): number => {
  const ms = ISO_INSTANT.test(iso) ? Date.parse(iso) : Number.NaN;
  if (!Number.isFinite(ms)) throw new InvalidTimestamp(field);
  return ms;
};

export const toIso = (ms: number): string => new Date(ms).toISOString();
