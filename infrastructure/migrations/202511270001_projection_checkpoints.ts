import type { Migration } from './migration.js';

/** One row per projection: where it is in the event stream and how it is doing. */
const migration: Migration = {
  name: '202511270001_projection_checkpoints',
  async up(knex) {
    await knex.schema.createTable('projection_checkpoints', (table) => {
      table.text('name').primary();
      table.bigInteger('position').notNullable().defaultTo(0);
      table.integer('version').notNullable();
      table.bigInteger('events_applied').notNullable().defaultTo(0);
      table.timestamp('last_event_at', { useTz: true });
      table.text('last_error');
      table.timestamp('last_error_at', { useTz: true });
      table.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    });
  },
  async down(knex) {
    await knex.schema.dropTable('projection_checkpoints');
  },
};

export default migration;
