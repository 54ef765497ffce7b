import cliProgress from 'cli-progress';
import {
  buildChain,
  eventsOfCorrelation,
  eventView,
  exportEvents,
  findEvent,
  type ChainNode,
} from '#application/forensics/eventQuery.js';
import { stateAsOf } from '#application/forensics/timeTravel.js';
import type { RecordedEvent } from '#application/shared/eventStore.js';
import { ValidationError } from '#application/shared/errors.js';
import { isValidCorrelationId } from '#infrastructure/logging/context.js';
import { CliError, type CliCommand, type CliIo } from '../context.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const time = (value: string | undefined, option: string): Date | undefined => {
  if (value === undefined) return undefined;
  // a zone is required: the same command must mean the same instant on every machine
  // eslint-disable-next-line security/detect-unsafe-regex -- anchored, bounded optional groups over a CLI argument
  const parsed = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2}))?$/i.test(value)
    ? new Date(value)
    : new Date(Number.NaN);
  if (Number.isNaN(parsed.getTime()))
    throw new CliError(
      `${option} must be an ISO-8601 date or time with a zone, e.g. 2026-03-01 or 2026-03-01T10:00:00Z (got ${value})`,
    );
  return parsed;
};

const list = (values: readonly string[] | undefined): string[] | undefined => {
  const parts = (values ?? []).flatMap((value) => value.split(',')).map((part) => part.trim());
  const kept = parts.filter((part) => part !== '');
  return kept.length > 0 ? kept : undefined;
};
const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/** One line per event: position, when, type, stream, actor, correlation id. */
export const eventLine = (event: RecordedEvent): string =>
  [
    String(event.position).padStart(8),
    event.metadata.occurredAt,
    event.type.padEnd(24),
    event.streamId,
    `actor=${event.metadata.actor}`,
    `corr=${event.metadata.correlationId}`,
  ].join('  ');

const gap = (ms: number | null): string => {
  if (ms === null) return '';
  const sign = ms < 0 ? '-' : '+';
  const abs = Math.abs(ms);
  return abs < 1_000 ? ` ${sign}${abs} ms` : ` ${sign}${(abs / 1_000).toFixed(3)} s`;
};

/** The causal tree with box-drawing branches, the gap from each parent, and the event's time and stream. */
export const renderChain = (roots: readonly ChainNode[]): string[] => {
  const lines: string[] = [];
  const walk = (node: ChainNode, prefix: string, branch: string) => {
    const e = node.event;
    lines.push(`${prefix}${branch}${e.type}${gap(node.gapMs)}  ${e.metadata.occurredAt}  ${e.streamId}  ${e.id}`);
    const childPrefix = prefix + (branch === '├─ ' ? '│  ' : branch === '└─ ' ? '   ' : '');
    node.children.forEach((child, i) => walk(child, childPrefix, i === node.children.length - 1 ? '└─ ' : '├─ '));
  };
  for (const root of roots) walk(root, '', '');
  return lines;
};

type ExportProgress = { start(total: number): void; update(position: number, exported: number): void; stop(): void };

/** A bar on stderr when it is a terminal (stdout is the export file); nothing otherwise. */
const exportProgress = (io: CliIo): ExportProgress => {
  if (!io.interactive) return { start: () => undefined, update: () => undefined, stop: () => undefined };
  const bar = new cliProgress.SingleBar(
    {
      format: 'export [{bar}] {percentage}% | position {value}/{total} | {exported} events | eta {eta_formatted}',
      stream: io.errStream,
      hideCursor: true,
    },
    cliProgress.Presets.shades_classic,
  );
  return {
    start: (total) => bar.start(Math.max(total, 1), 0, { exported: 0 }),
    update: (position, exported) => bar.update(position, { exported }),
    stop: () => bar.stop(),
  };
};

type TailOptions = { type?: string[]; stream?: string[]; json?: boolean; max?: string };
type ExportOptions = { from?: string; to?: string; type?: string[]; stream?: string };

/** `chatbot events tail|show|chain|export`: read the event store itself (incident forensics). */
export const eventsCommand: CliCommand = (program, context) => {
  const events = program.command('events').description('read the event store: follow, show, chain and export events');

  events
    .command('tail')
    .description('follow new events as they are appended (Ctrl-C to stop)')
    .option('--type <type>', 'only this event type (repeat, or a comma list)', collect)
    .option('--stream <prefix>', 'only streams starting with this prefix (repeatable)', collect)
    .option('--json', 'one JSON object per line')
    .option('--max <n>', 'stop after n events')
    .action((options: TailOptions) =>
      context.withInfrastructure(async ({ store }) => {
        const max = options.max === undefined ? Number.POSITIVE_INFINITY : Number(options.max);
        if (options.max !== undefined && (!/^\d{1,9}$/.test(options.max) || max < 1))
          throw new CliError(`--max must be a whole number of at least 1 (got ${options.max})`);
        const head = await store.headPosition();
        let seen = 0;
        await new Promise<void>((resolve, reject) => {
          const interrupt = () => finish(null);
          const finish = (error: Error | null) => {
            process.removeListener('SIGINT', interrupt);
            void subscription.stop().then(() => (error ? reject(error) : resolve()), reject);
          };
          const subscription = store.subscribeToAll({
            after: head,
            filter: { eventTypes: list(options.type), streamPrefixes: list(options.stream) },
            onEvent: (event) => {
              if (seen >= max) return;
              seen++;
              context.io.out(options.json ? JSON.stringify(eventView(event)) : eventLine(event));
              if (seen >= max) finish(null);
            },
            onError: (error) => finish(error),
          });
          process.once('SIGINT', interrupt);
          context.io.err(`following events after position ${head} (Ctrl-C to stop)`);
        });
      }),
    );

  events
    .command('show')
    .description('one event by id: data (secrets redacted) and metadata, as JSON')
    .argument('<id>', 'event id (UUID)')
    .action((id: string) =>
      context.withInfrastructure(async ({ store }) => {
        if (!UUID.test(id)) throw new CliError(`the event id must be a UUID (got ${JSON.stringify(id)})`);
        const event = await findEvent(store, id);
        if (!event) throw new CliError(`no event has the id ${id}`);
        context.io.out(JSON.stringify(eventView(event), null, 2));
      }),
    );

  events
    .command('chain')
    .description('the causal tree of one correlation id (the X-Correlation-Id of a response), with timings')
    .argument('<correlationId>', 'a UUID or 8-64 characters of [A-Za-z0-9._-]')
    .action((correlationId: string) =>
      context.withInfrastructure(async ({ store }) => {
        if (!isValidCorrelationId(correlationId))
          throw new CliError(
            `the correlation id must be a UUID or 8-64 characters of [A-Za-z0-9._-] (got ${JSON.stringify(correlationId)})`,
          );
        const { events: found, complete } = await eventsOfCorrelation(store, correlationId);
        if (found.length === 0) throw new CliError(`no event has the correlation id ${correlationId}`);
        for (const line of renderChain(buildChain(found))) context.io.out(line);
        context.io.err(
          `${found.length} event${found.length === 1 ? '' : 's'}${complete ? '' : ' (only the newest events were searched: the chain may be cut)'}`,
        );
      }),
    );

  events
    .command('export')
    .description('every matching event as NDJSON on stdout, oldest first (secrets redacted)')
    .option('--from <time>', 'ISO time with a zone, inclusive (on occurredAt)')
    .option('--to <time>', 'ISO time with a zone, exclusive')
    .option('--type <type>', 'only this event type (repeat, or a comma list)', collect)
    .option('--stream <prefix>', 'only streams starting with this prefix')
    .action((options: ExportOptions) =>
      context.withInfrastructure(async ({ store }) => {
        const from = time(options.from, '--from');
        const to = time(options.to, '--to');
        if (from && to && from.getTime() > to.getTime()) throw new CliError('--from must not be after --to');
        const progress = exportProgress(context.io);
        progress.start(await store.headPosition());
        let exported = 0;
        try {
          for await (const event of exportEvents(store, {
            from,
            to,
            types: list(options.type),
            streamPrefix: options.stream,
          })) {
            context.io.out(JSON.stringify(eventView(event)));
            exported++;
            if (exported % 200 === 0) progress.update(event.position, exported);
          }
        } finally {
          progress.stop();
        }
        context.io.err(`exported ${exported} event${exported === 1 ? '' : 's'}`);
      }),
    );
  events
    .command('state')
    .description(
      'time travel: the state of a stream (account-<id>) as of a time, folded by the live decider, with its events',
    )
    .argument('<streamId>', 'e.g. account-<id>')
    .requiredOption('--at <time>', 'ISO time with a zone')
    .option('--json', 'the whole answer as JSON')
    .action((streamId: string, options: { at: string; json?: boolean }) =>
      context.withInfrastructure(async ({ store }) => {
        const at = time(options.at, '--at')!;
        const result = await stateAsOf(store, streamId, at).catch((error: unknown) => {
          throw error instanceof ValidationError ? new CliError(error.message) : error;
        });
        if (result.events.length === 0 && result.laterEvents === 0)
          throw new CliError(`the stream ${streamId} has no events`);
        if (options.json) {
          context.io.out(JSON.stringify(result, null, 2));
          return;
        }
        context.io.out(`${streamId} as of ${result.at}:`);
        for (const [key, value] of Object.entries(result.summary)) context.io.out(`  ${key}: ${JSON.stringify(value)}`);
        context.io.out(`events folded (${result.events.length}; ${result.laterEvents} later):`);
        for (const event of result.events)
          context.io.out(
            `  ${event.occurredAt}  ${event.type.padEnd(18)}  ${event.id}  corr=${event.metadata.correlationId}`,
          );
      }),
    );
};
