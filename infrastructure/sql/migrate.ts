import type { Knex } from 'knex';
import { migrations as registered, type Migration } from '#infrastructure/migrations/index.js';
import { withExclusiveLock } from './advisoryLock.js';
import type { Database } from './database.js';

/** knex's bookkeeping table (plus `<table>_lock`), in the database's current schema. */
export const MIGRATIONS_TABLE = 'knex_migrations';

export type MigrationOptions = {
  /** default: every registered migration (infrastructure/migrations/index.ts) */
  migrations?: readonly Migration[];
  /** another process is migrating: this call waits for it */
  onWait?: () => void;
};

export type MigrationRecord = { name: string; batch: number; migratedAt: string };

export type MigrationStatus = {
  /** newest applied migration (null: none) */
  current: string | null;
  /** newest migration in this code (null: none) */
  head: string | null;
  /** in the code, not applied yet, in the order they will run */
  pending: string[];
  /** applied migrations, oldest first */
  history: MigrationRecord[];
  /** applied but missing from this code: the database was migrated by a newer (or another) version */
  unknown: string[];
};

const sourceOf = (list: readonly Migration[]): Knex.MigrationSource<Migration> => ({
  getMigrations: () => Promise.resolve([...list]),
  getMigrationName: (migration) => migration.name,
  getMigration: (migration) => Promise.resolve(migration),
});

const configOf = (options: MigrationOptions): Knex.MigratorConfig => ({
  migrationSource: sourceOf(options.migrations ?? registered),
  tableName: MIGRATIONS_TABLE,
});

/**
 * Serialises migration runs across processes. knex's own lock row only makes a second runner fail
 * ("Migration table is already locked"), and two first runs can race creating knex's tables; under
 * our lock nobody else is migrating, so a lock row left set by a crashed run can be freed safely.
 */
const exclusively = <T>(
  db: Database,
  options: MigrationOptions,
  fn: (config: Knex.MigratorConfig) => Promise<T>,
): Promise<T> =>
  withExclusiveLock(
    db,
    'migrations',
    async () => {
      const config = configOf(options);
      await db.knex.migrate.forceFreeMigrationsLock(config);
      return fn(config);
    },
    options.onWait,
  );

/** Applies every pending migration as one batch (in one transaction); returns the batch number and names. */
export const migrateLatest = (
  db: Database,
  options: MigrationOptions = {},
): Promise<{ batch: number; applied: string[] }> =>
  exclusively(db, options, async (config) => {
    const [batch, applied] = (await db.knex.migrate.latest(config)) as [number, string[]];
    return { batch, applied };
  });

/** Undoes the last batch (or every batch with `all`); returns the batch number and the names undone. */
export const migrateRollback = (
  db: Database,
  options: MigrationOptions & { all?: boolean } = {},
): Promise<{ batch: number; rolledBack: string[] }> =>
  exclusively(db, options, async (config) => {
    const [batch, rolledBack] = (await db.knex.migrate.rollback(config, options.all ?? false)) as [number, string[]];
    return { batch, rolledBack };
  });

/** Read-only: creates nothing, so it is safe against a production database at any time. */
export const migrationStatus = async (
  db: Database,
  options: Pick<MigrationOptions, 'migrations'> = {},
): Promise<MigrationStatus> => {
  const known = (options.migrations ?? registered).map((migration) => migration.name);
  type Row = { name: string; batch: number; migration_time: Date | string | null };
  const rows = (await db.knex.schema.hasTable(MIGRATIONS_TABLE))
    ? await db.knex<Row>(MIGRATIONS_TABLE).select('name', 'batch', 'migration_time').orderBy('id')
    : [];
  const applied = new Set(rows.map((row) => row.name));
  return {
    current: rows[rows.length - 1]?.name ?? null,
    head: known[known.length - 1] ?? null,
    pending: known.filter((name) => !applied.has(name)),
    history: rows.map((row) => ({
      name: row.name,
      batch: Number(row.batch),
      migratedAt: row.migration_time === null ? '' : new Date(row.migration_time).toISOString(),
    })),
    unknown: rows.map((row) => row.name).filter((name) => !known.includes(name)),
  };
};
