import { expect } from 'chai';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ADMIN_PASSWORD, loginAs, request } from '../../support/app.js';
import { waitFor } from '../../support/events.js';
import { spawnAppProcess } from '../../support/processes.js';

/** The embedded product (startApp on PGlite under DATA_DIR) in a child process, as `npm start` runs it. */
const startEmbedded = async (dataDir: string): Promise<{ child: ChildProcess; baseUrl: string }> =>
  spawnAppProcess({ DATA_DIR: dataDir, DATABASE_URL: '', LOG_LEVEL: 'warn' }, { what: 'the embedded app to listen' });

describe('a crash of the embedded product (kill -9)', function () {
  this.timeout(240_000);

  it('loses nothing it accepted: users created before the SIGKILL are there after a restart, in the events and in the read model', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'chatbot-crash-'));
    let running: ChildProcess | null = null;
    try {
      const first = await startEmbedded(dataDir);
      running = first.child;
      const admin = await loginAs(first.baseUrl, 'admin', ADMIN_PASSWORD);
      const accepted: string[] = [];
      for (let i = 0; i < 10; i++) {
        const response = await request(first.baseUrl, 'POST', '/api/users', {
          token: admin.access,
          body: { username: `crash-${i}`, password: `password-${i}-ok`, role: 'viewer' },
        });
        if (response.status === 201) accepted.push(`crash-${i}`);
      }
      expect(accepted).to.have.length(10);
      first.child.kill('SIGKILL'); // no shutdown hook runs: whatever was answered 201 must already be durable
      await new Promise((resolve) => first.child.once('exit', resolve));

      const second = await startEmbedded(dataDir);
      running = second.child;
      for (const username of accepted) await loginAs(second.baseUrl, username, `password-${username.slice(6)}-ok`);
      const again = await loginAs(second.baseUrl, 'admin', ADMIN_PASSWORD);
      await waitFor(
        async () => {
          const list = await request(second.baseUrl, 'GET', '/api/users', { token: again.access });
          const names = (list.body.users as Array<{ username: string }>).map((u) => u.username);
          return accepted.every((name) => names.includes(name));
        },
        20_000,
        'the accounts read model to list every accepted user',
      );
    } finally {
      if (running && running.exitCode === null) {
        const exited = new Promise((resolve) => running!.once('exit', resolve));
        running.kill('SIGTERM');
        await exited;
      }
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
