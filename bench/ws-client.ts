/**
 * The load generator of bench/ws.ts, forked into a process of its own (own event loop, own core):
 * opens authenticated /ws/metrics connections the way the dashboard does (POST /api/auth/ws-token,
 * then the auth message), and measures how late each message arrives against the time the server
 * stamped into it. Loopback only. Driven over IPC:
 *
 *   { type: 'grow', target }  -> { type: 'grown', connected, failed, seconds }
 *   { type: 'measure' }       -> starts a window;  { type: 'report' } -> { type: 'report', report }
 *   { type: 'stop' }          -> closes every connection and exits
 */
import { WebSocket } from 'ws';
import { percentile } from './bench-support.js';

type Setup = { baseUrl: string; wsUrl: string; access: string };

const [baseUrl, wsUrl] = [process.argv[2], process.argv[3]];
const access = process.env['BENCH_ACCESS_TOKEN'];
if (!baseUrl || !wsUrl || !access) throw new Error('usage: ws-client.ts <base url> <ws url>, with BENCH_ACCESS_TOKEN set');
for (const url of [baseUrl, wsUrl]) {
  const host = new URL(url).hostname;
  if (host !== '127.0.0.1' && host !== 'localhost' && host !== '[::1]') throw new Error(`loopback only, not ${host}`);
}
const setup: Setup = { baseUrl, wsUrl, access };

const sockets: WebSocket[] = [];
let failed = 0;
let closedUnexpectedly = 0;
let stopping = false;
let window = { measuring: false, snapshotLags: [] as number[], eventLags: [] as number[], perClient: new Map<WebSocket, number>(), cpu: process.cpuUsage(), startedAt: 0 };

const tell = (message: unknown) => process.send?.(message);

const wsToken = async (): Promise<string> => {
  const response = await fetch(`${setup.baseUrl}/api/auth/ws-token`, { method: 'POST', headers: { authorization: `Bearer ${setup.access}` } });
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
      // Parsing every message is part of what a real client pays, so it is inside the measured lag.
      const message = JSON.parse(data.toString('utf8')) as { type: string; data?: { at?: string; occurredAt?: string } };
      if (message.type === 'auth_ok') {
        clearTimeout(timer);
        resolve();
        return;
      }
      if (!window.measuring) return;
      if (message.type === 'snapshot' && message.data?.at) {
        window.snapshotLags.push(received - Date.parse(message.data.at));
        window.perClient.set(ws, (window.perClient.get(ws) ?? 0) + 1);
      } else if (message.type === 'event' && message.data?.occurredAt) {
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
  max: values.length ? Math.max(...values) : 0,
});

const report = () => {
  const cpu = process.cpuUsage(window.cpu);
  const seconds = (performance.now() - window.startedAt) / 1000;
  const counts = sockets.map((ws) => window.perClient.get(ws) ?? 0);
  tell({
    type: 'report',
    report: {
      clients: sockets.length,
      snapshots: summary(window.snapshotLags),
      events: summary(window.eventLags),
      snapshotsPerClient: { min: counts.length ? Math.min(...counts) : 0, max: counts.length ? Math.max(...counts) : 0 },
      closedUnexpectedly,
      cpuPercent: Math.round(((cpu.user + cpu.system) / 1e6 / seconds) * 1000) / 10,
      seconds,
    },
  });
  window.measuring = false;
};

process.on('message', (message: { type: string; target?: number }) => {
  switch (message.type) {
    case 'grow':
      void grow(message.target ?? 0);
      break;
    case 'measure':
      window = { measuring: true, snapshotLags: [], eventLags: [], perClient: new Map(), cpu: process.cpuUsage(), startedAt: performance.now() };
      break;
    case 'report':
      report();
      break;
    case 'stop':
      stopping = true;
      for (const ws of sockets) ws.terminate();
      process.exit(0);
  }
});
tell({ type: 'ready' });
