import type { Migration } from './migration.js';

/** Scheduled messages: the read model of `schedule-<id>` streams (projections/scheduling/scheduledMessages.ts). */
const migration: Migration = {
  name: '202511291340_scheduled_messages',
  async up(knex) {
    await knex.schema.createTable('scheduled_messages', (table) => {
      table.text('schedule_id').primary();
      table.text('number_id').notNullable();
      table.text('chat_id').notNullable();
      table.text('recipient').notNullable();
      table.text('text');
      table.jsonb('template');
      table.timestamp('at', { useTz: true }).notNullable();
      table.text('state').notNullable();
      table.text('created_by').notNullable();
      table.timestamp('created_at', { useTz: true }).notNullable();
      table.text('correlation_id');
      table.text('scheduled_event_id');
      table.text('cancelled_by');
      table.timestamp('cancelled_at', { useTz: true });
      table.text('message_id');
      table.timestamp('fired_at', { useTz: true });
      table.integer('late_ms');
      table.timestamp('queued_at', { useTz: true });
      table.text('error_code');
      table.text('error');
      table.bigInteger('position').notNullable();
      table.index(['state', 'at'], 'scheduled_messages_state_at');
      table.index(['message_id'], 'scheduled_messages_message_id');
      table.index(['position'], 'scheduled_messages_position');
    });
  },
  async down(knex) {
    await knex.schema.dropTableIfExists('scheduled_messages');
  },
};

export default migration;
