import type { Migration } from './migration.js';

/**
 * The metrics projection's stored state (projections/metrics/metrics.ts): one row, written in the
 * same transaction as its checkpoint, so a start folds only the events after it instead of all history.
 */
const migration: Migration = {
  name: '202511290701_metrics_snapshot',
  async up(knex) {
    await knex.schema.createTable('metrics_snapshot', (table) => {
      table.smallint('id').primary();
      table.bigInteger('position').notNullable();
      table.jsonb('state').notNullable();
      table.check('id = 1', [], 'metrics_snapshot_single_row');
    });
  },
  async down(knex) {
    await knex.schema.dropTable('metrics_snapshot');
  },
};

export default migration;
