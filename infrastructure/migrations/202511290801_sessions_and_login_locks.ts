import type { Migration } from './migration.js';

/**
 * The session allowlist (projections/identity/sessions.ts) and the lockout read model
 * (projections/identity/loginLocks.ts).
 */
const migration: Migration = {
  name: '202511290801_sessions_and_login_locks',
  async up(knex) {
    await knex.schema.createTable('sessions', (table) => {
      table.text('id').primary();
      table.uuid('account_id').notNullable().index();
      table.text('status').notNullable();
      table.timestamp('expires_at', { useTz: true });
      table.timestamp('started_at', { useTz: true });
      table.timestamp('ended_at', { useTz: true });
      table.text('end_reason');
      table.bigInteger('position').notNullable();
    });
    await knex.schema.createTable('login_locks', (table) => {
      table.text('account_id').notNullable();
      /** '' for the account-wide lock, else the source address */
      table.text('source').notNullable();
      table.text('username').notNullable();
      /** false: the name has no account (attempts recorded on login-unknown-<id>) */
      table.boolean('known').notNullable();
      table.timestamp('locked_until', { useTz: true }).notNullable();
      table.integer('lockout_count').notNullable();
      table.integer('failures').notNullable();
      table.timestamp('locked_at', { useTz: true }).notNullable();
      table.bigInteger('position').notNullable();
      table.primary(['account_id', 'source']);
    });
  },
  async down(knex) {
    await knex.schema.dropTable('login_locks');
    await knex.schema.dropTable('sessions');
  },
};

export default migration;
