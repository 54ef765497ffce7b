/**
 * The load generator of bench/ws.ts, forked into a process of its own (own event loop, own core):
 * opens authenticated /ws/metrics connections the way the dashboard does (POST /api/auth/ws-token,
 * then the auth message), and measures how late each message arrives against the time the server
 * stamped into it. Loopback only. Driven over IPC:
 *
 *   { type: 'grow', target }  -> { type: 'grown', connected, failed, seconds }
 *   { type: 'measure' }       -> starts a window;  { type: 'report', from, to } -> { type: 'report', report }
 *   { type: 'stop' }          -> closes every connection and exits
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { WebSocket } from 'ws';
import { percentile } from './bench-support.js';

type Setup = { baseUrl: string; wsUrl: string; access: string };

const [baseUrl, wsUrl] = [process.argv[2], process.argv[3]];
const access = process.env['BENCH_ACCESS_TOKEN'];
if (!baseUrl || !wsUrl || !access)
  throw new Error('usage: ws-client.ts <base url> <ws url>, with BENCH_ACCESS_TOKEN set');
for (const url of [baseUrl, wsUrl]) {
  const host = new URL(url).hostname;
  if (host !== '127.0.0.1' && host !== 'localhost' && host !== '[::1]') throw new Error(`loopback only, not ${host}`);
}
const setup: Setup = { baseUrl, wsUrl, access };

const sockets: WebSocket[] = [];
let failed = 0;
let closedUnexpectedly = 0;
let stopping = false;
const freshWindow = (measuring: boolean) => ({
  measuring,
  /** [snapshot position, lag ms]: the parent names which positions belong to the window */
  snapshots: [] as Array<[number, number]>,
  eventLags: [] as number[],
  cpu: process.cpuUsage(),
  loop: monitorEventLoopDelay({ resolution: 10 }),
  startedAt: performance.now(),
});
let window = freshWindow(false);

const tell = (message: unknown) => process.send?.(message);

const wsToken = async (): Promise<string> => {
  const response = await fetch(`${setup.baseUrl}/api/auth/ws-token`, {
    method: 'POST',
    headers: { authorization: `Bearer ${setup.access}` },
  });
  if (response.status !== 200) throw new Error(`ws-token ${response.status}`);
  return ((await response.json()) as { ws_token: string }).ws_token;
};

/** One dashboard: token, connect, auth; resolves once auth_ok arrived. */
const open = async (): Promise<void> => {
  const token = await wsToken();
  const ws = new WebSocket(setup.wsUrl, { perMessageDeflate: false });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no auth_ok within 30 s')), 30_000);
    ws.once('open', () => ws.send(JSON.stringify({ type: 'auth', token })));
    ws.once('close', (code, reason) => {
      clearTimeout(timer);
      reject(new Error(`closed ${code} ${reason.toString()}`));
    });
    ws.once('error', reject);
    ws.on('message', (data: Buffer) => {
      const received = Date.now();
      // One process plays a thousand browsers, each of which parses only its own message: a full JSON.parse
      // of every copy here would measure this process's queue, not the server's delivery. The auth answer
      // and every event are parsed; of a snapshot only its number and its time are read.
      const text = data.toString('utf8');
      if (text.startsWith('{"type":"snapshot"')) {
        if (!window.measuring) return;
        const at = /"at":"([^"]+)","position":(\d+)/.exec(text);
        if (at) window.snapshots.push([Number(at[2]), received - Date.parse(at[1]!)]);
        return;
      }
      const message = JSON.parse(text) as { type: string; data?: { occurredAt?: string } };
      if (message.type === 'auth_ok') {
        clearTimeout(timer);
        resolve();
      } else if (window.measuring && message.type === 'event' && message.data?.occurredAt) {
        window.eventLags.push(received - Date.parse(message.data.occurredAt));
      }
    });
  });
  ws.removeAllListeners('close');
  ws.on('close', () => {
    if (!stopping) closedUnexpectedly += 1;
  });
  ws.on('error', () => undefined);
  sockets.push(ws);
};

const grow = async (target: number) => {
  const started = performance.now();
  const missing = Math.max(0, target - sockets.length);
  const concurrency = 50;
  let next = 0;
  const worker = async () => {
    while (next < missing) {
      next += 1;
      await open().catch(() => (failed += 1));
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, missing) }, worker));
  tell({ type: 'grown', connected: sockets.length, failed, seconds: (performance.now() - started) / 1000 });
};

const summary = (values: number[]) => ({
  samples: values.length,
  p50: percentile(values, 50),
  p95: percentile(values, 95),
  p99: percentile(values, 99),
  max: values.reduce((max, value) => (value > max ? value : max), 0),
});

/** Lags of the snapshots numbered from..to (inclusive): the ones the server emitted inside the window. */
const report = (from: number, to: number) => {
  const cpu = process.cpuUsage(window.cpu);
  window.loop.disable();
  const seconds = (performance.now() - window.startedAt) / 1000;
  const lags = window.snapshots.filter(([position]) => position >= from && position <= to).map(([, lag]) => lag);
  tell({
    type: 'report',
    report: {
      clients: sockets.length,
      snapshots: summary(lags),
      events: summary(window.eventLags),
      closedUnexpectedly,
      cpuPercent: Math.round(((cpu.user + cpu.system) / 1e6 / seconds) * 1000) / 10,
      loopDelayP99Ms: Math.round(window.loop.percentile(99) / 1e4) / 100,
      seconds,
    },
  });
  window.measuring = false;
};

process.on('message', (message: { type: string; target?: number; from?: number; to?: number }) => {
  switch (message.type) {
    case 'grow':
      void grow(message.target ?? 0);
      break;
    case 'measure':
      window = freshWindow(true);
      window.loop.enable();
      break;
    case 'report':
      report(message.from ?? 0, message.to ?? Number.MAX_SAFE_INTEGER);
      break;
    case 'stop':
      stopping = true;
      for (const ws of sockets) ws.terminate();
      process.exit(0);
  }
});
tell({ type: 'ready' });
