import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor } from '../../support/events.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });

const healthy = async (port: number) => {
  try {
    return (await fetch(`http://127.0.0.1:${port}/healthz`)).status === 200;
  } catch {
    return false;
  }
};

const portOpen = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = createConnection({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Every process below `root` (Linux /proc): npm's shell, node and anything they started. */
const descendants = (root: number): number[] => {
  const parentOf = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // pid (comm) state ppid ...; comm may hold spaces and parentheses, so split after the last ')'.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parentOf.set(Number(entry), ppid);
    } catch {
      // the process ended while we looked
    }
  }
  const found: number[] = [];
  const walk = (pid: number) => {
    for (const [child, parent] of parentOf) {
      if (parent === pid) {
        found.push(child);
        walk(child);
      }
    }
  };
  walk(root);
  return found;
};

describe('npm start (embedded)', function () {
  this.timeout(180_000);
  let dir: string;
  let npm: ChildProcess | null = null;
  let output = '';

  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'chatbot-npm-start-'));
    output = '';
  });
  afterEach(() => {
    // A failed run must not leave a server behind: the whole process group goes.
    if (npm?.pid !== undefined) {
      try {
        process.kill(-npm.pid, 'SIGKILL');
      } catch {
        // the group is gone already
      }
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('stopping it with SIGTERM to the npm pid stops the server: the port closes and no process of its tree is left', async () => {
    const port = await freePort();
    npm = spawn('npm', ['start'], {
      cwd: ROOT,
      detached: true, // its own process group, so afterEach can clean up whatever is left
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        NODE_ENV: 'test',
        PORT: String(port),
        DATA_DIR: path.join(dir, 'data'),
        JWT_SECRET: 'x'.repeat(48),
        ADMIN_PASSWORD: 'correct-horse-battery',
        LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    npm.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    npm.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => npm!.once('exit', (code) => resolve(code)));
    const npmPid = npm.pid!;

    await waitFor(() => healthy(port), 150_000, `/healthz on port ${port}`).catch((error: Error) => {
      throw new Error(`${error.message}\n${output}`);
    });
    const tree = descendants(npmPid);
    expect(tree, 'npm runs the server as a child').to.not.be.empty;

    process.kill(npmPid, 'SIGTERM');
    await exited;
    await waitFor(async () => !(await portOpen(port)), 20_000, `port ${port} to close after SIGTERM to npm`);
    await waitFor(() => tree.every((pid) => !alive(pid)), 20_000, 'every process of the tree to exit').catch(
      (error: Error) => {
        throw new Error(`${error.message}; still running: ${tree.filter(alive).join(', ')}\n${output}`);
      },
    );
    // The server itself got the signal and shut down cleanly (not killed with its parent).
    expect(output).to.match(/"message":"shutting down"[^\n]*"signal":"SIGTERM"/);
  });
});
