import type { Migration } from './migration.js';

/**
 * The WhatsApp Web channel. `whatsapp_auth` holds each number's baileys session (the creds and every
 * signal key family), Fernet-encrypted row by row: state, not facts (no events), written one
 * transaction per key update batch, re-encrypted by `chatbot secrets rotate`.
 * `whatsapp_connections` is the read model of the connection events (projections/whatsapp/connections.ts).
 */
const migration: Migration = {
  name: '202511291341_whatsapp_web',
  async up(knex) {
    await knex.schema.createTable('whatsapp_auth', (table) => {
      table.text('number_id').notNullable();
      /** 'creds' or a signal key family ('pre-key', 'session', 'sender-key', 'app-state-sync-key', ...) */
      table.text('category').notNullable();
      /** sha256 of the key's family and id ('' for the creds): some ids are phone numbers */
      table.text('key_id').notNullable();
      table.text('ciphertext').notNullable();
      table.text('key_fingerprint').notNullable();
      table.timestamp('updated_at', { useTz: true }).notNullable();
      table.primary(['number_id', 'category', 'key_id']);
    });
    await knex.schema.createTable('whatsapp_connections', (table) => {
      table.text('number_id').primary();
      table.text('state').notNullable();
      table.text('qr');
      table.integer('qr_attempt').notNullable().defaultTo(0);
      table.integer('max_attempts').notNullable().defaultTo(0);
      table.timestamp('expires_at', { useTz: true });
      table.text('pairing_code');
      table.text('last_reason');
      table.integer('last_status_code');
      table.text('next_action');
      table.text('worker');
      table.timestamp('connected_at', { useTz: true });
      table.timestamp('updated_at', { useTz: true }).notNullable();
      table.bigInteger('position').notNullable();
    });
  },
  async down(knex) {
    await knex.schema.dropTableIfExists('whatsapp_connections');
    await knex.schema.dropTableIfExists('whatsapp_auth');
  },
};

export default migration;
