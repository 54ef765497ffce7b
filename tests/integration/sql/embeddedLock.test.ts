import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { EmbeddedDatabaseInUseError, openPgliteDatabase } from '#infrastructure/sql/database.js';
import { waitFor } from '../../support/events.js';

describe('embedded database: one process at a time', function () {
  this.timeout(120_000);

  it('a second process is refused with a clear error while the first holds ./data, and takes over once it is gone (even after kill -9)', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'chatbot-pglite-'));
    const holderCode = `import { openPgliteDatabase } from '#infrastructure/sql/database.js';
      const db = openPgliteDatabase(${JSON.stringify(dataDir)}); await db.knex.raw('select 1'); console.log('ready'); setInterval(() => {}, 1000);`;
    const holder = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', holderCode], {
      cwd: process.cwd(),
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let output = '';
    holder.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    try {
      await waitFor(() => output.includes('ready'), 60_000, 'holder ready');
      expect(() => openPgliteDatabase(dataDir)).to.throw(EmbeddedDatabaseInUseError, String(holder.pid));
      holder.kill('SIGKILL');
      await new Promise((resolve) => holder.once('exit', resolve));
      const db = openPgliteDatabase(dataDir);
      const result = await db.knex.raw<{ rows: Array<{ one: number }> }>('select 1 as one');
      expect(result.rows[0]!.one).to.equal(1);
      await db.close();
    } finally {
      holder.kill('SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
