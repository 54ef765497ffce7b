import { expect } from 'chai';
import type { Knex } from 'knex';
import projectionCheckpoints from '#infrastructure/migrations/202511270001_projection_checkpoints.js';
import { migrations as registered } from '#infrastructure/migrations/index.js';
import { checkMigrationList, InvalidMigrationListError, type Migration } from '#infrastructure/migrations/migration.js';
import { openPgliteDatabase, openPostgresDatabase, type Database } from '#infrastructure/sql/database.js';
import { migrateLatest, migrateRollback, migrationStatus } from '#infrastructure/sql/migrate.js';
import { TEST_DATABASE_URL, uniqueName } from '../../support/events.js';
import { adminQuery, dropSchema } from '../../support/projections.js';

const tableMigration = (name: string, table: string): Migration => ({
  name,
  up: (knex) => knex.schema.createTable(table, (t) => t.increments('id')).then(() => undefined),
  down: (knex) => knex.schema.dropTable(table).then(() => undefined),
});
const widgets = tableMigration('209901010001_widgets', 'widgets');
const gadgets = tableMigration('209901010002_gadgets', 'gadgets');
const LIST = [projectionCheckpoints, widgets];

const tablesOf = async (knex: Knex): Promise<string[]> =>
  (
    await knex.raw<{ rows: Array<{ table_name: string }> }>(
      `select table_name from information_schema.tables where table_schema = current_schema() order by 1`,
    )
  ).rows.map((r) => r.table_name);

describe('migrations (knex, static list) on PostgreSQL', function () {
  this.timeout(60_000);
  let schema: string;
  const dbs: Database[] = [];
  const open = () => {
    const db = openPostgresDatabase(TEST_DATABASE_URL, { searchPath: schema, poolSize: 3 });
    dbs.push(db);
    return db;
  };
  beforeEach(async () => {
    schema = uniqueName('migr');
    await adminQuery(`create schema "${schema}"`);
  });
  afterEach(async () => {
    for (const db of dbs.splice(0)) await db.close();
    await dropSchema(schema);
  });

  it('status before anything ran lists every migration as pending and creates nothing', async () => {
    const db = open();
    expect(await migrationStatus(db, { migrations: LIST })).to.deep.equal({
      current: null,
      head: '209901010001_widgets',
      pending: ['202511270001_projection_checkpoints', '209901010001_widgets'],
      history: [],
      unknown: [],
    });
    expect(await tablesOf(db.knex)).to.deep.equal([]);
  });

  it('latest applies the pending migrations as one batch; status then shows current = head and the history', async () => {
    const db = open();
    expect(await migrateLatest(db, { migrations: LIST })).to.deep.equal({
      batch: 1,
      applied: ['202511270001_projection_checkpoints', '209901010001_widgets'],
    });
    expect(await migrateLatest(db, { migrations: LIST })).to.deep.equal({ batch: 1, applied: [] });

    const status = await migrationStatus(db, { migrations: LIST });
    expect(status).to.include({ current: '209901010001_widgets', head: '209901010001_widgets' });
    expect(status.pending).to.deep.equal([]);
    expect(status.history.map((h) => [h.name, h.batch])).to.deep.equal([
      ['202511270001_projection_checkpoints', 1],
      ['209901010001_widgets', 1],
    ]);
    expect(Date.parse(status.history[0]!.migratedAt)).to.be.closeTo(Date.now(), 60_000);
    expect(await tablesOf(db.knex)).to.include.members(['projection_checkpoints', 'widgets', 'knex_migrations']);
  });

  it('the hazard is real: bare knex migrate.latest from two processes at once fails', async () => {
    const failures: string[] = [];
    for (let attempt = 0; attempt < 5 && failures.length === 0; attempt++) {
      await dropSchema(schema);
      await adminQuery(`create schema "${schema}"`);
      const config = {
        migrationSource: {
          getMigrations: () => Promise.resolve(LIST),
          getMigrationName: (m: Migration) => m.name,
          getMigration: (m: Migration) => Promise.resolve(m),
        },
      };
      const results = await Promise.allSettled([
        open().knex.migrate.latest(config),
        open().knex.migrate.latest(config),
      ]);
      for (const result of results)
        if (result.status === 'rejected') failures.push(String((result.reason as Error).message));
    }
    expect(failures.join('\n')).to.match(/knex_migrations|already locked|duplicate key/);
  });

  it('two processes running latest at once: both succeed and every migration runs once', async () => {
    const [a, b] = [open(), open()];
    const [ra, rb] = await Promise.all([
      migrateLatest(a, { migrations: LIST }),
      migrateLatest(b, { migrations: LIST }),
    ]);
    expect([...ra.applied, ...rb.applied]).to.deep.equal([
      '202511270001_projection_checkpoints',
      '209901010001_widgets',
    ]);
    const history = (await migrationStatus(a, { migrations: LIST })).history;
    expect(history.map((h) => h.name)).to.deep.equal(['202511270001_projection_checkpoints', '209901010001_widgets']);
  });

  it('rollback undoes the last batch only, and `all` undoes everything', async () => {
    const db = open();
    await migrateLatest(db, { migrations: LIST });
    await migrateLatest(db, { migrations: [...LIST, gadgets] });
    expect(await tablesOf(db.knex)).to.include('gadgets');

    expect(await migrateRollback(db, { migrations: [...LIST, gadgets] })).to.deep.equal({
      batch: 2,
      rolledBack: ['209901010002_gadgets'],
    });
    const status = await migrationStatus(db, { migrations: [...LIST, gadgets] });
    expect(status).to.include({ current: '209901010001_widgets', head: '209901010002_gadgets' });
    expect(status.pending).to.deep.equal(['209901010002_gadgets']);
    expect(await tablesOf(db.knex)).to.not.include('gadgets');

    await migrateRollback(db, { migrations: LIST, all: true });
    expect(await tablesOf(db.knex)).to.not.include.members(['projection_checkpoints', 'widgets']);
    expect((await migrationStatus(db, { migrations: LIST })).current).to.equal(null);
  });

  it('a lock left behind by a crashed run does not block the next one', async () => {
    const db = open();
    await migrateLatest(db, { migrations: [projectionCheckpoints] });
    await db.knex('knex_migrations_lock').update({ is_locked: 1 });
    expect((await migrateLatest(db, { migrations: LIST })).applied).to.deep.equal(['209901010001_widgets']);
  });

  it('status names migrations applied by another version of the code that this one does not know', async () => {
    const db = open();
    await migrateLatest(db, { migrations: LIST });
    const status = await migrationStatus(db, { migrations: [projectionCheckpoints] });
    expect(status.unknown).to.deep.equal(['209901010001_widgets']);
    expect(status.current).to.equal('209901010001_widgets');
  });

  it('every registered migration applies, rolls back and applies again', async () => {
    const db = open();
    const names = registered.map((m) => m.name);
    expect((await migrateLatest(db)).applied).to.deep.equal(names);
    expect((await migrateRollback(db, { all: true })).rolledBack).to.have.members(names);
    expect((await tablesOf(db.knex)).filter((t) => !t.startsWith('knex_migrations'))).to.deep.equal([]);
    expect((await migrateLatest(db)).applied).to.deep.equal(names);
  });
});

describe('migrations on embedded PGlite', function () {
  this.timeout(60_000);
  it('latest, status and rollback work the same', async () => {
    const db = openPgliteDatabase(null);
    try {
      expect((await migrateLatest(db, { migrations: LIST })).applied).to.have.length(2);
      expect(await migrationStatus(db, { migrations: LIST })).to.include({
        current: '209901010001_widgets',
        head: '209901010001_widgets',
      });
      const [first, second] = await Promise.all([
        migrateRollback(db, { migrations: LIST }),
        migrateLatest(db, { migrations: LIST }),
      ]);
      expect(first.rolledBack).to.have.length(2);
      expect(second.applied).to.have.length(2, 'queued behind the rollback, in order');
    } finally {
      await db.close();
    }
  });
});

describe('the migration list', () => {
  it('refuses names out of order, duplicated or not <yyyymmddNNNN>_<what>', () => {
    expect(() => checkMigrationList([widgets, projectionCheckpoints])).to.throw(
      InvalidMigrationListError,
      /must come after/,
    );
    expect(() => checkMigrationList([widgets, widgets])).to.throw(InvalidMigrationListError, /must come after/);
    expect(() => checkMigrationList([tableMigration('widgets', 'w')])).to.throw(
      InvalidMigrationListError,
      /name must be/,
    );
    expect(checkMigrationList(LIST)).to.equal(LIST);
  });
});
