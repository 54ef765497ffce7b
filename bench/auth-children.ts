/**
 * The auth benchmark's child processes (server under test, bare Express, load generator): forked
 * with the tsx loader and an IPC channel, so each runs on its own event loop, apart from the others.
 */
import { fork, type ChildProcess, type StdioOptions } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** Messages children send up: a server is listening, or a load run is over. */
export type ChildMessage =
  | { type: 'ready'; port: number }
  | { type: 'result'; result: unknown }
  | { type: 'failed'; error: string }
  | { type: 'cpu'; usage: NodeJS.CpuUsage };

export type Child = {
  process: ChildProcess;
  /** the next message of `type`; rejects when the child exits first */
  next<T extends ChildMessage['type']>(type: T, timeoutMs: number): Promise<Extract<ChildMessage, { type: T }>>;
  send(message: unknown): void;
  /** asks the child to close, then kills it (by its own pid) if it has not exited within `graceMs` */
  stop(graceMs?: number): Promise<void>;
};

const tsxLoader = import.meta.resolve('tsx');

export const forkChild = (
  file: string,
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; stdout?: number | 'inherit' | 'ignore'; execArgv?: readonly string[] } = {},
): Child => {
  const stdio: StdioOptions = ['ignore', options.stdout ?? 'inherit', 'inherit', 'ipc'];
  const child = fork(fileURLToPath(new URL(file, import.meta.url)), [...args], {
    execArgv: ['--import', tsxLoader, ...(options.execArgv ?? [])],
    env: options.env ?? process.env,
    stdio,
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  // A child that has just closed its channel makes send() fail with EPIPE; its exit is what counts.
  child.on('error', (error) => {
    if ((error as NodeJS.ErrnoException).code !== 'EPIPE') console.error(`${file}:`, error);
  });

  const next = <T extends ChildMessage['type']>(type: T, timeoutMs: number) =>
    new Promise<Extract<ChildMessage, { type: T }>>((resolve, reject) => {
      const timer = setTimeout(
        () => finish(new Error(`${file}: no '${type}' message within ${timeoutMs} ms`)),
        timeoutMs,
      );
      const onMessage = (message: ChildMessage) => {
        if (message.type === 'failed') finish(new Error(`${file}: ${message.error}`));
        else if (message.type === type) finish(null, message as Extract<ChildMessage, { type: T }>);
      };
      const onExit = (code: number | null) =>
        finish(new Error(`${file} exited (code ${code}) before sending '${type}'`));
      const finish = (error: Error | null, message?: Extract<ChildMessage, { type: T }>) => {
        clearTimeout(timer);
        child.off('message', onMessage);
        child.off('exit', onExit);
        if (error) reject(error);
        else resolve(message!);
      };
      child.on('message', onMessage);
      child.once('exit', onExit);
    });

  const stop = async (graceMs = 10_000) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    if (child.connected) child.send({ type: 'stop' }, () => undefined);
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  };

  return { process: child, next, send: (message) => child.send(message as object), stop };
};

/** In a child: send a message up to the benchmark. */
export const tellParent = (message: ChildMessage): void => {
  if (!process.send) throw new Error('this file runs as a child of bench/auth.ts');
  process.send(message);
};

/** In a child: run `close` when the parent says stop or goes away, then exit. */
export const onStop = (close: () => Promise<void>): void => {
  let closing = false;
  const shutdown = () => {
    if (closing) return;
    closing = true;
    close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  };
  process.on('message', (message: { type?: string }) => {
    if (message.type === 'stop') shutdown();
    // CPU time so far: the benchmark divides a server's CPU by the requests it served.
    if (message.type === 'cpu') tellParent({ type: 'cpu', usage: process.cpuUsage() });
  });
  process.on('disconnect', shutdown);
};
