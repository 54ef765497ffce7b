import type { Migration } from './migration.js';

/**
 * Crypto-shredding (docs/architecture.md "Personal data"): the contacts' data keys, apart from the
 * events. A row is one key (wrapped under FERNET_KEYS); deleting the row is what erases what it
 * encrypted. `contact_keys_epoch` moves on every destruction, so each process drops its cache of keys.
 */
const migration: Migration = {
  name: '202511291802_contact_keys',
  async up(knex) {
    await knex.schema.createTable('contact_keys', (table) => {
      table.text('key_id').primary();
      table.text('chat_id').notNullable();
      /** 'identity', or the UTC day (YYYY-MM-DD) of the content it encrypts */
      table.text('period').notNullable();
      table.text('wrapped_key').notNullable();
      /** the FERNET_KEYS key it is wrapped under; null when stored without FERNET_KEYS (development only) */
      table.text('key_fingerprint');
      table.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
      table.unique(['chat_id', 'period'], { indexName: 'contact_keys_chat_period' });
      table.index(['period'], 'contact_keys_period');
    });
    await knex.schema.createTable('contact_keys_epoch', (table) => {
      table.integer('id').primary();
      table.bigInteger('epoch').notNullable();
    });
    await knex('contact_keys_epoch').insert({ id: 1, epoch: 0 });
  },
  async down(knex) {
    await knex.schema.dropTable('contact_keys_epoch');
    await knex.schema.dropTable('contact_keys');
  },
};

export default migration;
