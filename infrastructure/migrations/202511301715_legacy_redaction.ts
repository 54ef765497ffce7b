import type { Migration } from './migration.js';

/**
 * Personal data in clear in events from before crypto-shredding (docs/architecture.md "Personal data"):
 * what has been destroyed, so the decorator can read such legacy plaintext as "[erased]" in every store
 * (EventStoreDB included, whose events cannot be rewritten). `forgotten_chats`: one row per chat whose
 * contact was forgotten; `contact_keys_epoch.content_expired_before`: the latest retention cut-off.
 */
const migration: Migration = {
  name: '202511301715_legacy_redaction',
  async up(knex) {
    await knex.schema.createTable('forgotten_chats', (table) => {
      table.text('chat_id').primary();
      table.timestamp('forgotten_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    });
    await knex.schema.alterTable('contact_keys_epoch', (table) => {
      /** YYYY-MM-DD: content of every day before it has expired (retention); null when none has */
      table.text('content_expired_before');
    });
  },
  async down(knex) {
    await knex.schema.alterTable('contact_keys_epoch', (table) => table.dropColumn('content_expired_before'));
    await knex.schema.dropTable('forgotten_chats');
  },
};

export default migration;
