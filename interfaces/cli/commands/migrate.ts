import { migrateLatest, migrateRollback, migrationStatus, type MigrationStatus } from '#infrastructure/sql/migrate.js';
import type { CliCommand, CliIo } from '../context.js';
import { table } from '../table.js';

/**
 * `chatbot migrate latest|rollback|status` (+ `current`, `heads`, `history`: the runbook's
 * `alembic current / heads / history` in our terms).
 */
export const migrateCommand: CliCommand = (program, context) => {
  const migrate = program.command('migrate').description('read-model database schema (knex migrations)');
  const { io } = context;

  migrate
    .command('latest')
    .alias('upgrade')
    .description('apply every pending migration (waits if another process is migrating)')
    .action(() =>
      context.withDatabase(async (db) => {
        const result = await migrateLatest(db, {
          onWait: () => io.err('another process is migrating; waiting for it to finish...'),
        });
        if (result.applied.length === 0) io.out('already up to date: nothing to apply');
        else io.out(`applied batch ${result.batch}:\n${result.applied.map((name) => `  ${name}`).join('\n')}`);
      }),
    );

  migrate
    .command('rollback')
    .alias('downgrade')
    .description('undo the last batch of migrations (back up first: down migrations drop tables)')
    .option('--all', 'undo every batch')
    .action((options: { all?: boolean }) =>
      context.withDatabase(async (db) => {
        const result = await migrateRollback(db, {
          all: options.all === true,
          onWait: () => io.err('another process is migrating; waiting for it to finish...'),
        });
        if (result.rolledBack.length === 0) io.out('nothing to roll back');
        else
          io.out(
            `rolled back ${options.all ? 'every batch' : `batch ${result.batch}`}:\n${result.rolledBack.map((name) => `  ${name}`).join('\n')}`,
          );
      }),
    );

  const withStatus = (print: (status: MigrationStatus, io: CliIo) => void) => (options: { json?: boolean }) =>
    context.withDatabase(async (db) => {
      const status = await migrationStatus(db);
      if (options.json) io.out(JSON.stringify(status, null, 2));
      else print(status, io);
    });

  migrate
    .command('status')
    .description('current, head, pending and history')
    .option('--json', 'machine-readable')
    .action(withStatus(printStatus));
  migrate
    .command('current')
    .description('the newest applied migration')
    .option('--json', 'machine-readable')
    .action(withStatus(printCurrent));
  migrate
    .command('heads')
    .description('the newest migration in this code')
    .option('--json', 'machine-readable')
    .action(withStatus((s) => io.out(s.head ?? '(no migrations)')));
  migrate
    .command('history')
    .description('applied migrations, oldest first')
    .option('--json', 'machine-readable')
    .action(withStatus(printHistory));
};

const printCurrent = (status: MigrationStatus, io: CliIo) => {
  const record = status.history[status.history.length - 1];
  const state = status.pending.length === 0 && status.unknown.length === 0 ? ' (head)' : '';
  io.out(record ? `${record.name}${state}  batch ${record.batch}, applied ${record.migratedAt}` : '(none applied)');
};

const printHistory = (status: MigrationStatus, io: CliIo) => {
  if (status.history.length === 0) {
    io.out('(none applied)');
    return;
  }
  io.out(
    table(
      ['BATCH', 'APPLIED AT', 'MIGRATION'],
      status.history.map((h) => [String(h.batch), h.migratedAt, h.name]),
    ),
  );
};

const printStatus = (status: MigrationStatus, io: CliIo) => {
  io.out(`current: ${status.current ?? '(none applied)'}`);
  io.out(`head:    ${status.head ?? '(no migrations)'}`);
  io.out(`pending: ${status.pending.length === 0 ? 'none' : `${status.pending.length}`}`);
  for (const name of status.pending) io.out(`  ${name}`);
  if (status.unknown.length > 0) {
    io.out(
      `unknown: ${status.unknown.length} applied migration(s) this code does not have (the database was migrated by another version):`,
    );
    for (const name of status.unknown) io.out(`  ${name}`);
  }
  io.out('history:');
  printHistory(status, { ...io, out: (text) => io.out(text.replace(/^/gm, '  ')) });
  if (status.pending.length > 0) io.out('\nrun `chatbot migrate latest` to apply the pending migrations');
};
