import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

/**
 * A PostgreSQL cluster of the test's own, in a temporary directory, on a free loopback port: the test
 * can stop and start it (the shared server on 5432 is never touched). initdb refuses to run as root,
 * so as root the cluster belongs to the `postgres` user.
 */
export class PgCluster {
  private constructor(
    readonly dir: string,
    readonly port: number,
    private readonly bin: string,
    private readonly asUser: string | null,
  ) {}

  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  static async create(): Promise<PgCluster> {
    const versions = readdirSync('/usr/lib/postgresql').sort();
    const bin = path.join('/usr/lib/postgresql', versions[versions.length - 1]!, 'bin');
    if (!existsSync(path.join(bin, 'pg_ctl'))) throw new Error(`no pg_ctl in ${bin}`);
    const root = mkdtempSync(path.join(tmpdir(), 'pg-cluster-'));
    chmodSync(root, 0o755);
    const asUser = process.getuid?.() === 0 ? 'postgres' : null;
    const dir = path.join(root, 'data');
    if (asUser) {
      const { uid, gid } = userIds(asUser);
      chownSync(root, uid, gid);
    }
    const port = await freePort();
    const cluster = new PgCluster(dir, port, bin, asUser);
    cluster.run('initdb', ['-D', dir, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
    cluster.start();
    return cluster;
  }

  private run(tool: string, args: string[]): string {
    const command = path.join(this.bin, tool);
    const [file, argv] = this.asUser ? ['runuser', ['-u', this.asUser, '--', command, ...args]] : [command, args];
    const result = spawnSync(file, argv, { encoding: 'utf8', timeout: 120_000 });
    if (result.status !== 0) throw new Error(`${tool} failed: ${result.stderr || result.stdout}`);
    return result.stdout;
  }

  /** Starts and waits until it accepts connections. */
  start(): void {
    const options = `-p ${this.port} -c listen_addresses=127.0.0.1 -k ${path.dirname(this.dir)} -c fsync=off`;
    this.run('pg_ctl', ['-D', this.dir, '-o', options, '-l', path.join(path.dirname(this.dir), 'log'), '-w', 'start']);
  }

  /** Fast shutdown: open sessions are terminated, as when the database service stops. */
  stop(): void {
    this.run('pg_ctl', ['-D', this.dir, '-m', 'fast', '-w', 'stop']);
  }

  destroy(): void {
    try {
      this.run('pg_ctl', ['-D', this.dir, '-m', 'immediate', '-w', 'stop']);
    } catch {
      // already stopped
    }
    rmSync(path.dirname(this.dir), { recursive: true, force: true });
  }
}

const userIds = (user: string): { uid: number; gid: number } => ({
  uid: Number(execFileSync('id', ['-u', user], { encoding: 'utf8' }).trim()),
  gid: Number(execFileSync('id', ['-g', user], { encoding: 'utf8' }).trim()),
});

const freePort = () =>
  new Promise<number>((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
