import type { Migration } from './migration.js';

/**
 * Blue/green rebuilds in progress (projections/shared/rebuild.ts): one row per projection being rebuilt
 * into its shadow schema, with the shadow's own checkpoint, so a rebuild that was killed resumes there.
 */
const migration: Migration = {
  name: '202511291801_projection_rebuilds',
  async up(knex) {
    await knex.schema.createTable('projection_rebuilds', (table) => {
      table.text('name').primary();
      table.integer('version').notNullable();
      table.text('shadow_schema').notNullable();
      /** the shadow's checkpoint: every matching event at or below it is in the shadow tables */
      table.bigInteger('position').notNullable().defaultTo(0);
      table.bigInteger('events_applied').notNullable().defaultTo(0);
      /** matching events in the store when the rebuild (or its last resumption) began */
      table.bigInteger('events_total').notNullable().defaultTo(0);
      table.timestamp('last_event_at', { useTz: true });
      table.text('requested_by');
      table.timestamp('started_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
      table.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
      table.text('last_error');
      table.timestamp('last_error_at', { useTz: true });
    });
  },
  async down(knex) {
    await knex.schema.dropTable('projection_rebuilds');
  },
};

export default migration;
