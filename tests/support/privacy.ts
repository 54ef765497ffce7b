// Helpers of the crypto-shredding tests (tests/integration/privacy/*): where personal strings are left.
import pg from 'pg';
import { TEST_DATABASE_URL } from './events.js';

/** The needles found in the text. */
export const containsAny = (text: string, needles: readonly string[]) => needles.filter((n) => text.includes(n));

/** Every row of every table of the schema, as text: the events, the keys and every read model. */
export const dumpSchema = async (schema: string): Promise<Record<string, string>> => {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  try {
    const { rows: tables } = await client.query<{ table_name: string }>(
      `select table_name from information_schema.tables where table_schema = $1 and table_type = 'BASE TABLE'`,
      [schema],
    );
    const dump: Record<string, string> = {};
    for (const { table_name } of tables) {
      const { rows } = await client.query<{ row: string }>(
        `select row_to_json(t)::text as row from "${schema}"."${table_name}" t`,
      );
      dump[table_name] = rows.map((r) => r.row).join('\n');
    }
    return dump;
  } finally {
    await client.end();
  }
};
