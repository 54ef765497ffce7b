import type { Migration } from './migration.js';

/** Read model of secrets (projections/secrets/secrets.ts): Fernet ciphertext only, never a value. */
const migration: Migration = {
  name: '202511270004_secrets',
  async up(knex) {
    await knex.schema.createTable('secrets', (table) => {
      table.text('name').primary();
      table.text('kind').notNullable();
      table.text('ciphertext').notNullable();
      table.text('key_fingerprint').notNullable();
      table.timestamp('updated_at', { useTz: true }).notNullable();
      table.integer('version').notNullable();
      // Rotation progress ("how many are still under the old key?") is a count by fingerprint.
      table.index(['key_fingerprint'], 'secrets_key_fingerprint_idx');
    });
  },
  async down(knex) {
    await knex.schema.dropTable('secrets');
  },
};

export default migration;
