import type { Migration } from './migration.js';

/**
 * Read models of the llm context (projections/llm/): one row per provider call (ids, sizes, tokens,
 * latency; never text), each provider's circuit state, and the control values (force, settings).
 */
const migration: Migration = {
  name: '202511291100_llm',
  async up(knex) {
    await knex.schema.createTable('llm_calls', (table) => {
      table.uuid('event_id').primary();
      table.text('turn_id').notNullable();
      table.text('provider').notNullable();
      table.text('model').notNullable();
      table.timestamp('at', { useTz: true }).notNullable();
      table.boolean('ok').notNullable();
      table.text('error_kind');
      table.integer('latency_ms');
      table.integer('tokens_in').notNullable().defaultTo(0);
      table.integer('tokens_out').notNullable().defaultTo(0);
      table.double('cost_usd').notNullable().defaultTo(0);
      // the console's two questions: this provider lately, and everything since midnight
      table.index(['provider', 'at'], 'llm_calls_provider_at_idx');
      table.index(['at'], 'llm_calls_at_idx');
    });
    await knex.schema.createTable('llm_circuits', (table) => {
      table.text('provider').primary();
      table.text('state').notNullable();
      table.timestamp('changed_at', { useTz: true }).notNullable();
      table.bigInteger('position').notNullable();
    });
    await knex.schema.createTable('llm_control', (table) => {
      table.text('key').primary();
      table.jsonb('value').notNullable();
      table.timestamp('updated_at', { useTz: true }).notNullable();
      table.text('updated_by').notNullable();
      table.bigInteger('position').notNullable();
    });
  },
  async down(knex) {
    await knex.schema.dropTable('llm_control');
    await knex.schema.dropTable('llm_circuits');
    await knex.schema.dropTable('llm_calls');
  },
};

export default migration;
