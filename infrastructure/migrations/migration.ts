import type { Knex } from 'knex';

/**
 * One schema change. `name` is `<yyyymmddNNNN>_<what>`: the timestamp prefix keeps names from two
 * branches apart and sorts them; never rename or edit a migration once it has been applied anywhere.
 */
export type Migration = {
  readonly name: string;
  up(knex: Knex): Promise<void>;
  down(knex: Knex): Promise<void>;
  /** set `transaction: false` only for statements PostgreSQL refuses in a transaction (create index concurrently) */
  readonly config?: { transaction?: boolean };
};

export class InvalidMigrationListError extends Error {
  readonly code = 'invalid_migration_list';
  constructor(reason: string) {
    super(`infrastructure/migrations/index.ts: ${reason}`);
    this.name = 'InvalidMigrationListError';
  }
}

/** Two branches that both added a migration must not leave an ambiguous order ("multiple heads"). */
export const checkMigrationList = (migrations: readonly Migration[]): readonly Migration[] => {
  migrations.forEach((migration, i) => {
    if (!/^\d{12}_[a-z0-9_]+$/.test(migration.name))
      throw new InvalidMigrationListError(`${migration.name}: name must be <yyyymmddNNNN>_<snake_case>`);
    const previous = migrations[i - 1];
    if (previous && previous.name >= migration.name) {
      throw new InvalidMigrationListError(
        `${migration.name} must come after ${previous.name} (names are unique and in ascending order)`,
      );
    }
  });
  return migrations;
};
