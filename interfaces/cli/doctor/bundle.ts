// The evidence bundle of `chatbot doctor`: what section 0 asks to capture, in one .tar.gz that can be
// attached to an incident. Nothing in it may be a secret: events and logs go through the logger's
// redaction, and a last pass replaces every configured secret value wherever it still appears.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { EventStore, RecordedEvent } from '#application/shared/eventStore.js';
import { redactedConfigSummary, type Config } from '#infrastructure/config/config.js';
import { REDACTED, SENSITIVE_KEY, redact, scrubText } from '#infrastructure/logging/redact.js';
import type { TarEntry } from './tarGz.js';

/** The most events a bundle carries; older events of the window are left out (and the summary says so). */
export const MAX_BUNDLE_EVENTS = 5_000;
const MAX_LOG_BYTES = 20 * 1024 * 1024;

/**
 * Every secret value the configuration holds (by field name, like the logger's redaction) and the
 * passwords inside its connection URLs, longest first so a key containing another is replaced whole.
 */
export const configuredSecrets = (config: Config): string[] => {
  const found = new Set<string>();
  const visit = (value: unknown, sensitive: boolean) => {
    if (typeof value === 'string') {
      if (sensitive && value.length >= 4) found.add(value);
      if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) {
        try {
          const password = decodeURIComponent(new URL(value).password);
          if (password.length >= 4) found.add(password);
        } catch {
          // not a URL after all
        }
      }
    } else if (Array.isArray(value)) for (const item of value) visit(item, sensitive);
    else if (value !== null && typeof value === 'object')
      for (const [key, child] of Object.entries(value)) visit(child, sensitive || SENSITIVE_KEY.test(key));
  };
  visit(config, false);
  return [...found].sort((a, b) => b.length - a.length);
};

/** Shapes (JWTs, bearer values, keys, URL passwords) and the configured values themselves. */
export const scrubber = (secrets: readonly string[]) => (text: string) =>
  secrets.reduce((result, secret) => result.split(secret).join(REDACTED), scrubText(text));

export type EventWindow = { events: RecordedEvent[]; truncated: boolean; headPosition: number };

/** Events recorded since `since`, read forwards from at most MAX_BUNDLE_EVENTS positions before the head. */
export const recentEvents = async (store: EventStore, since: Date): Promise<EventWindow> => {
  const headPosition = await store.headPosition();
  let after = Math.max(0, headPosition - MAX_BUNDLE_EVENTS);
  const start = after;
  const events: RecordedEvent[] = [];
  let firstRead: RecordedEvent | undefined;
  for (;;) {
    const page = await store.readAll({ after, maxCount: 1_000 });
    firstRead ??= page[0];
    for (const event of page) if (Date.parse(event.recordedAt) >= since.getTime()) events.push(event);
    const last = page[page.length - 1];
    if (page.length < 1_000 || last === undefined || last.position >= headPosition) break;
    after = last.position;
  }
  // Positions can have gaps, so "truncated" means: we started mid-history and the first event read was in the window.
  const truncated = start > 0 && firstRead !== undefined && Date.parse(firstRead.recordedAt) >= since.getTime();
  return { events, truncated, headPosition };
};

/** The log files under `logPath` (a file, or the regular files of a directory), lines of the window only. */
export const recentLogs = (logPath: string, since: Date): TarEntry[] => {
  // `--logs -`: the lines come on stdin (`docker compose logs ... | chatbot doctor --logs -`).
  if (logPath === '-')
    return [{ name: 'logs/stdin.log', content: linesSince(readFileSync(0).toString('utf8'), since) }];
  // eslint-disable-next-line security/detect-non-literal-fs-filename -- the operator's --logs path
  const stat = statSync(logPath);
  const files = stat.isDirectory()
    ? // eslint-disable-next-line security/detect-non-literal-fs-filename -- the operator's --logs path
      readdirSync(logPath, { withFileTypes: true })
        .filter((entry) => entry.isFile())
        .map((entry) => path.join(logPath, entry.name))
    : [logPath];
  return files.map((file) => {
    // eslint-disable-next-line security/detect-non-literal-fs-filename -- the operator's --logs path
    const size = statSync(file).size;
    // eslint-disable-next-line security/detect-non-literal-fs-filename -- the operator's --logs path
    const text = readFileSync(file)
      .subarray(Math.max(0, size - MAX_LOG_BYTES))
      .toString('utf8');
    return { name: `logs/${path.basename(file)}`, content: linesSince(text, since) };
  });
};

const linesSince = (text: string, since: Date): string => {
  const kept = text.split('\n').filter((line) => {
    // JSON lines (ours) carry a timestamp; other lines are kept, since they cannot be placed in time.
    const stamp = /"timestamp":"([^"]+)"/.exec(line)?.[1];
    return line !== '' && (stamp === undefined || Date.parse(stamp) >= since.getTime());
  });
  return kept.join('\n') + (kept.length ? '\n' : '');
};

export type BundleInput = {
  readonly dirName: string;
  readonly config: Config;
  readonly summary: Record<string, unknown>;
  readonly verdictText: string;
  readonly versions: Record<string, unknown>;
  readonly events: EventWindow | { error: string };
  readonly projections: unknown;
  readonly logs: readonly TarEntry[] | { error: string } | null;
};

const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;

/** The files of the bundle, every one scrubbed. */
export const bundleEntries = (input: BundleInput): TarEntry[] => {
  const scrub = scrubber(configuredSecrets(input.config));
  const safe = (value: unknown) => redact(value, { includeStack: false });
  const entries: TarEntry[] = [
    { name: 'summary.json', content: json(safe(input.summary)) },
    { name: 'verdict.txt', content: input.verdictText },
    { name: 'versions.json', content: json(input.versions) },
    { name: 'config.json', content: json(redactedConfigSummary(input.config)) },
    {
      name: 'events.ndjson',
      content:
        'error' in input.events
          ? `${JSON.stringify({ error: input.events.error })}\n`
          : input.events.events.map((event) => JSON.stringify(safe(event))).join('\n') +
            (input.events.events.length ? '\n' : ''),
    },
    { name: 'projections.json', content: json(safe(input.projections)) },
  ];
  if (input.logs !== null)
    if ('error' in input.logs) entries.push({ name: 'logs/ERROR.txt', content: `${input.logs.error}\n` });
    else entries.push(...input.logs);
  return entries.map((entry) => ({
    name: `${input.dirName}/${entry.name}`,
    content: scrub(typeof entry.content === 'string' ? entry.content : entry.content.toString('utf8')),
  }));
};

export const hostFacts = () => ({
  hostname: os.hostname(),
  platform: `${os.platform()} ${os.release()}`,
  pid: process.pid,
});
