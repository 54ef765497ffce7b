import type { Migration } from './migration.js';

/**
 * Messaging. Read models (projections/messaging/*: numbers, chats, chat_messages, outbound_queue) and
 * the worker's coordination state, which is state, not facts (claims and leases are not events: the
 * facts are MessageSendAttempted/MessageSent, and who holds a lease says nothing about the business).
 */
const migration: Migration = {
  name: '202511291201_messaging',
  async up(knex) {
    await knex.schema.createTable('numbers', (table) => {
      table.text('number_id').primary();
      table.text('name').notNullable();
      table.text('kind').notNullable();
      table.text('status').notNullable();
      table.text('credentials_secret');
      table.text('phone_number_id');
      table.text('last_error_code');
      table.timestamp('last_error_at', { useTz: true });
      table.timestamp('added_at', { useTz: true }).notNullable();
      table.timestamp('updated_at', { useTz: true }).notNullable();
      table.bigInteger('position').notNullable();
    });
    await knex.schema.createTable('chats', (table) => {
      table.text('chat_id').primary();
      table.text('number_id').notNullable();
      table.text('contact').notNullable();
      table.text('contact_name');
      table.text('last_text');
      table.text('last_direction');
      table.timestamp('last_at', { useTz: true });
      table.timestamp('last_inbound_at', { useTz: true });
      table.integer('unread_count').notNullable().defaultTo(0);
      table.integer('message_count').notNullable().defaultTo(0);
      table.boolean('paused').notNullable().defaultTo(false);
      table.bigInteger('position').notNullable();
      table.index(['number_id', 'position'], 'chats_number_position');
      table.index(['position'], 'chats_position');
    });
    await knex.schema.createTable('chat_messages', (table) => {
      table.text('message_id').primary();
      table.text('chat_id').notNullable();
      table.text('number_id').notNullable();
      table.text('direction').notNullable();
      table.text('kind').notNullable();
      table.text('text');
      table.text('template_name');
      table.text('source');
      table.text('status').notNullable();
      table.text('provider_message_id');
      table.text('error_code');
      table.timestamp('at', { useTz: true }).notNullable();
      table.timestamp('sent_at', { useTz: true });
      table.timestamp('delivered_at', { useTz: true });
      table.timestamp('read_at', { useTz: true });
      table.bigInteger('position').notNullable();
      table.index(['chat_id', 'position'], 'chat_messages_chat_position');
      table.index(['provider_message_id'], 'chat_messages_provider_id');
      table.index(['number_id', 'sent_at'], 'chat_messages_number_sent_at');
    });
    await knex.schema.createTable('outbound_queue', (table) => {
      table.text('message_id').primary();
      table.text('number_id').notNullable();
      table.text('chat_id').notNullable();
      table.text('recipient').notNullable();
      table.text('text');
      table.jsonb('template');
      table.text('status').notNullable();
      table.integer('attempts').notNullable().defaultTo(0);
      table.timestamp('next_attempt_at', { useTz: true }).notNullable();
      table.timestamp('queued_at', { useTz: true }).notNullable();
      table.text('last_error_code');
      table.text('last_error');
      table.text('dead_reason');
      table.text('correlation_id');
      table.text('queued_event_id');
      table.timestamp('dead_at', { useTz: true });
      table.bigInteger('position').notNullable();
      table.index(['status', 'number_id', 'next_attempt_at'], 'outbound_queue_due');
    });
    // --- worker coordination state (not read models) ---
    await knex.schema.createTable('outbound_claims', (table) => {
      table.text('message_id').primary();
      table.text('worker_id').notNullable();
      table.timestamp('lease_until', { useTz: true }).notNullable();
    });
    await knex.schema.createTable('number_leases', (table) => {
      table.text('number_id').primary();
      table.text('worker_id').notNullable();
      table.timestamp('lease_until', { useTz: true }).notNullable();
    });
    await knex.schema.createTable('worker_heartbeats', (table) => {
      table.text('worker_id').primary();
      table.text('role').notNullable();
      table.text('host').notNullable();
      table.integer('pid').notNullable();
      table.timestamp('started_at', { useTz: true }).notNullable();
      table.timestamp('heartbeat_at', { useTz: true }).notNullable();
    });
    await knex.schema.createTable('process_manager_checkpoints', (table) => {
      table.text('name').primary();
      table.bigInteger('position').notNullable();
      table.timestamp('updated_at', { useTz: true }).notNullable();
    });
  },
  async down(knex) {
    for (const table of [
      'process_manager_checkpoints',
      'worker_heartbeats',
      'number_leases',
      'outbound_claims',
      'outbound_queue',
      'chat_messages',
      'chats',
      'numbers',
    ])
      await knex.schema.dropTableIfExists(table);
  },
};

export default migration;
