import type { Migration } from './migration.js';

/**
 * Runtime control and process liveness. `runtime_numbers` and `runtime_requests` are read models of the
 * runtime-<numberId> streams (projections/runtime/numberRuntime.ts); `process_heartbeats` is state, not
 * facts (one row per process instance, its heartbeat time moved in place: see docs/architecture.md).
 */
const migration: Migration = {
  name: '202511291501_runtime_control',
  async up(knex) {
    await knex.schema.createTable('runtime_numbers', (table) => {
      table.text('number_id').primary();
      table.text('desired_state').notNullable();
      table.text('applied_state').notNullable();
      table.text('last_request_id');
      table.timestamp('updated_at', { useTz: true }).notNullable();
      table.bigInteger('position').notNullable();
    });
    await knex.schema.createTable('runtime_requests', (table) => {
      table.text('request_id').notNullable();
      table.text('number_id').notNullable();
      table.text('action').notNullable();
      table.text('scope').notNullable();
      table.text('status').notNullable();
      table.text('requested_by');
      table.timestamp('requested_at', { useTz: true }).notNullable();
      table.timestamp('resolved_at', { useTz: true });
      table.text('worker_id');
      table.text('outcome');
      table.text('error');
      table.bigInteger('position').notNullable();
      table.primary(['request_id', 'number_id']);
      table.index(['status', 'requested_at'], 'runtime_requests_pending');
    });
    await knex.schema.createTable('process_heartbeats', (table) => {
      table.text('name').notNullable();
      table.text('instance').notNullable();
      table.text('role').notNullable();
      table.text('host').notNullable();
      table.integer('pid').notNullable();
      table.timestamp('started_at', { useTz: true }).notNullable();
      table.timestamp('heartbeat_at', { useTz: true }).notNullable();
      table.text('state').notNullable();
      table.timestamp('stopped_at', { useTz: true });
      table.primary(['name', 'instance']);
    });
  },
  async down(knex) {
    for (const table of ['process_heartbeats', 'runtime_requests', 'runtime_numbers'])
      await knex.schema.dropTableIfExists(table);
  },
};

export default migration;
