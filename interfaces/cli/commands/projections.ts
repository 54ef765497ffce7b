import cliProgress from 'cli-progress';
import type { EventStore } from '#application/shared/eventStore.js';
import type { Database } from '#infrastructure/sql/database.js';
import {
  findProjection,
  projectionStatus,
  rebuildProjection,
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
      "empty a projection's tables and replay its events (safe while the app runs: the running process replays)",
    )
    .argument('[name]', 'projection to rebuild (see `chatbot projections status`)')
    .option('--all', 'rebuild every projection, one after the other')
    .action((name: string | undefined, options: { all?: boolean }) => {
      const all = registered();
      if ((name === undefined) === (options.all !== true))
        throw new CliError('name one projection or pass --all (not both)');
      const targets = options.all ? all : [findProjection(all, name!)];
      if (targets.length === 0) {
        context.io.out('no projections registered: nothing to rebuild');
        return Promise.resolve();
      }
      return context.withInfrastructure(async ({ db, store }) => {
        for (const projection of targets) await rebuildOne(db, store, projection, context.io);
      });
    });
};

const printStatus = (statuses: readonly ProjectionStatus[], io: CliIo) => {
  if (statuses.length === 0) {
    io.out('no projections registered');
    return;
  }
  const rows = statuses.map((s) => [
    s.name,
    s.storedVersion === null || s.storedVersion === s.version ? String(s.version) : `${s.storedVersion}->${s.version}`,
    String(s.position),
    String(s.headPosition),
    `${s.lagEvents}${s.lagEventsCapped ? '+' : ''}`,
    s.lagMs === 0 ? '0' : duration(s.lagMs),
    String(s.eventsApplied),
    s.running ? `yes (pid ${s.holderPid ?? '?'})` : 'no',
    s.lastError === null ? '-' : `${s.lastErrorAt ?? ''} ${s.lastError.split('\n')[0]!.slice(0, 120)}`,
  ]);
  io.out(table(['NAME', 'VERSION', 'POSITION', 'HEAD', 'LAG EVENTS', 'LAG', 'APPLIED', 'RUNNING', 'LAST ERROR'], rows));
};

const rebuildOne = async (db: Database, store: EventStore, projection: Projection, io: CliIo): Promise<void> => {
  const progress = progressReporter(projection.name, io);
  try {
    const result = await rebuildProjection({
      db,
      store,
      projection,
      onProgress: progress.update,
      onHandOff: (pid) =>
        progress.notice(
          `${projection.name}: a running process${pid === null ? '' : ` (backend pid ${pid})`} owns it and replays it; following its progress`,
        ),
    });
    progress.stop();
    const by = result.replayedBy === 'this_process' ? 'by this process' : 'by the running process';
    io.out(
      `rebuilt ${result.name}: ${result.eventsApplied} events replayed ${by} in ${duration(result.durationMs)} (checkpoint ${result.position})`,
    );
  } catch (error) {
    progress.stop();
    throw error;
  }
};

/** A progress bar on a terminal; otherwise a line at most once a second (and at the end). */
const progressReporter = (name: string, io: CliIo) => {
  if (io.interactive) {
    const bar = new cliProgress.SingleBar(
      {
        format: `${name} [{bar}] {percentage}% | {value}/{total} events | eta {eta_formatted}`,
        stream: io.errStream,
        hideCursor: true,
        clearOnComplete: false,
      },
      cliProgress.Presets.shades_classic,
    );
    let started = false;
    return {
      update: (done: number, total: number) => {
        if (!started) {
          started = true;
          bar.start(total, done);
        } else {
          bar.setTotal(total);
          bar.update(done);
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
  return {
    update: (done: number, total: number) => {
      const now = Date.now();
      if (done === lastDone || (now - last < 1_000 && done !== total && done !== 0)) return;
      last = now;
      lastDone = done;
      io.err(`${name}: ${done}/${total} events (${total === 0 ? 100 : Math.floor((done / total) * 100)}%)`);
    },
    notice: (line: string) => io.err(line),
    stop: () => undefined,
  };
};
