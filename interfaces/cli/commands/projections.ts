import cliProgress from 'cli-progress';
import type { EventStore } from '#application/shared/eventStore.js';
import type { Database } from '#infrastructure/sql/database.js';
import {
  findProjection,
  projectionStatus,
  rebuildProjections,
  RebuildInProgressError,
  type Projection,
  type ProjectionStatus,
} from '#projections/runner.js';
import { CliError, type CliCommand, type CliIo } from '../context.js';
import { duration, table } from '../table.js';

/** `chatbot projections status|rebuild`: the read models' checkpoints, lag and rebuilds. */
export const projectionsCommand: CliCommand = (program, context) => {
  const projections = program.command('projections').description('read models folded from the events');
  const registered = () => context.projections();

  projections
    .command('status')
    .description('checkpoint, lag, errors and owner of every projection')
    .option('--json', 'machine-readable')
    .action((options: { json?: boolean }) =>
      context.withInfrastructure(async ({ db, store }) => {
        const statuses = await projectionStatus(db, store, registered());
        if (options.json) context.io.out(JSON.stringify(statuses, null, 2));
        else printStatus(statuses, context.io);
      }),
    );

  projections
    .command('rebuild')
    .description(
      'rebuild read models blue/green: replay into shadow tables while the live ones keep serving, then swap them in (a killed rebuild resumes where it was)',
    )
    .argument('[name]', 'projection to rebuild (see `chatbot projections status`)')
    .option('--all', 'rebuild every projection, all in one pass over the events')
    .option('--batch-size <n>', 'events per transaction (default 5000)')
    .action((name: string | undefined, options: { all?: boolean; batchSize?: string }) => {
      const all = registered();
      if ((name === undefined) === (options.all !== true))
        throw new CliError('name one projection or pass --all (not both)');
      const targets = options.all ? all : [findProjection(all, name!)];
      if (targets.length === 0) {
        context.io.out('no projections registered: nothing to rebuild');
        return Promise.resolve();
      }
      const batchSize = options.batchSize === undefined ? undefined : Number(options.batchSize);
      if (batchSize !== undefined && (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 100_000))
        throw new CliError('--batch-size must be a whole number from 1 to 100000');
      return context.withInfrastructure(({ db, store }) => rebuild(db, store, targets, context.io, batchSize));
    });
};

const printStatus = (statuses: readonly ProjectionStatus[], io: CliIo) => {
  if (statuses.length === 0) {
    io.out('no projections registered');
    return;
  }
  const rows = statuses.map((s) => [
    s.name,
    s.rebuild === null
      ? s.state
      : `${s.state === 'failed' ? 'failed' : s.rebuild.active ? 'rebuilding' : 'rebuild interrupted'} ${s.rebuild.done}/${s.rebuild.total}`,
    s.storedVersion === null || s.storedVersion === s.version ? String(s.version) : `${s.storedVersion}->${s.version}`,
    String(s.position),
    String(s.headPosition),
    String(s.lagEvents),
    s.lagMs === 0 ? '0' : duration(s.lagMs),
    String(s.eventsApplied),
    s.running ? `yes (pid ${s.holderPid ?? '?'})` : 'no',
    s.error !== null
      ? s.error.split('\n')[0]!.slice(0, 120)
      : s.lastError === null
        ? '-'
        : `${s.lastErrorAt ?? ''} ${s.lastError.split('\n')[0]!.slice(0, 120)}`,
  ]);
  io.out(
    table(
      ['NAME', 'STATE', 'VERSION', 'POSITION', 'HEAD', 'LAG EVENTS', 'LAG', 'APPLIED', 'RUNNING', 'LAST ERROR'],
      rows,
    ),
  );
};

const rebuild = async (
  db: Database,
  store: EventStore,
  targets: readonly Projection[],
  io: CliIo,
  batchSize: number | undefined,
): Promise<void> => {
  const label = targets.length === 1 ? targets[0]!.name : `${targets.length} projections`;
  const progress = progressReporter(label, io);
  try {
    const results = await rebuildProjections({
      db,
      store,
      projections: targets,
      batchSize,
      requestedBy: 'cli',
      onResume: (name, position, applied) =>
        progress.notice(
          `${name}: resuming the interrupted rebuild at position ${position} (${applied} events already in its shadow tables)`,
        ),
      onProgress: progress.update,
    });
    progress.stop();
    for (const result of results)
      io.out(
        `rebuilt ${result.name}: ${result.eventsApplied} events${result.resumedFrom === null ? '' : ` (resumed from position ${result.resumedFrom})`} in ${duration(result.durationMs)}, swapped in at checkpoint ${result.position}`,
      );
  } catch (error) {
    progress.stop();
    if (error instanceof RebuildInProgressError) throw new CliError(error.message);
    throw error;
  }
};

/** A progress bar on a terminal; otherwise a line at most once a second (and at the end). */
const progressReporter = (name: string, io: CliIo) => {
  if (io.interactive) {
    const bar = new cliProgress.SingleBar(
      {
        format: `${name} [{bar}] {percentage}% | {value}/{total} events | {rate} events/s | eta {eta_formatted}`,
        stream: io.errStream,
        hideCursor: true,
        clearOnComplete: false,
      },
      cliProgress.Presets.shades_classic,
    );
    let started = false;
    const rate = rateMeter();
    return {
      update: (done: number, total: number) => {
        const payload = { rate: rate(done) };
        if (!started) {
          started = true;
          bar.start(total, done, payload);
        } else {
          bar.setTotal(total);
          bar.update(done, payload);
        }
      },
      notice: (line: string) => io.err(line),
      stop: () => {
        if (started) bar.stop();
      },
    };
  }
  let last = 0;
  let lastDone = -1;
  const rate = rateMeter();
  return {
    update: (done: number, total: number) => {
      const now = Date.now();
      const perSecond = rate(done);
      if (done === lastDone || (now - last < 1_000 && done !== total && lastDone !== -1)) return;
      last = now;
      lastDone = done;
      const eta = perSecond > 0 && done < total ? `, eta ${duration(((total - done) / perSecond) * 1000)}` : '';
      io.err(
        `${name}: ${done}/${total} events (${total === 0 ? 100 : Math.floor((done / total) * 100)}%), ${perSecond} events/s${eta}`,
      );
    },
    notice: (line: string) => io.err(line),
    stop: () => undefined,
  };
};

/** Events per second since the first figure this meter saw (a resumed rebuild's head start not counted). */
const rateMeter = () => {
  let first: { at: number; done: number } | null = null;
  return (done: number): number => {
    const now = Date.now();
    first ??= { at: now, done };
    const seconds = (now - first.at) / 1000;
    return seconds <= 0 ? 0 : Math.round((done - first.done) / seconds);
  };
};
