import type { Migration } from './migration.js';

/**
 * The tamper-evident audit trail (projections/audit/auditLog.ts). Column types are chosen so every
 * value reads back exactly as it was hashed: text, not uuid or inet (which would normalise case and
 * notation), and timestamptz(3) because occurred_at is hashed as an ISO string with milliseconds.
 */
const migration: Migration = {
  name: '202511270005_audit_log',
  async up(knex) {
    await knex.schema.createTable('audit_log', (table) => {
      // gap-free 1..n, assigned by the projection (not a sequence: a rolled-back batch must not leave holes)
      table.bigInteger('seq').primary();
      table.text('event_id').notNullable().unique();
      table.bigInteger('position').notNullable();
      table.timestamp('occurred_at', { useTz: true, precision: 3 }).notNullable();
      table.text('actor').notNullable();
      table.text('action').notNullable();
      table.text('target');
      table.text('ip');
      table.text('outcome').notNullable();
      table.text('correlation_id');
      table.jsonb('details').notNullable().defaultTo('{}');
      table.specificType('prev_hash', 'char(64)').notNullable();
      table.specificType('hash', 'char(64)').notNullable();
      table.check("outcome in ('success', 'failure', 'denied')", [], 'audit_log_outcome_check');
      // Filters are equality on one column plus keyset pagination on seq.
      table.index(['actor', 'seq'], 'audit_log_actor_seq');
      table.index(['action', 'seq'], 'audit_log_action_seq');
      table.index(['target', 'seq'], 'audit_log_target_seq');
      table.index(['correlation_id', 'seq'], 'audit_log_correlation_seq');
      table.index(['occurred_at'], 'audit_log_occurred_at');
    });
  },
  async down(knex) {
    await knex.schema.dropTable('audit_log');
  },
};

export default migration;
