import type { Migration } from './migration.js';

/** Read model of accounts for the console and `chatbot users list` (projections/identity/accounts.ts). */
const migration: Migration = {
  name: '202511270002_accounts',
  async up(knex) {
    await knex.schema.createTable('accounts', (table) => {
      table.uuid('id').primary();
      table.text('username').notNullable().unique();
      table.text('role').notNullable();
      table.text('status').notNullable();
      table.timestamp('locked_until', { useTz: true });
      table.integer('lockout_count').notNullable().defaultTo(0);
      table.integer('failed_logins').notNullable().defaultTo(0);
      table.timestamp('last_login_at', { useTz: true });
      table.text('last_login_ip');
      table.timestamp('created_at', { useTz: true }).notNullable();
      table.text('created_by').notNullable();
      table.timestamp('updated_at', { useTz: true }).notNullable();
      table.bigInteger('position').notNullable();
    });
  },
  async down(knex) {
    await knex.schema.dropTable('accounts');
  },
};

export default migration;
