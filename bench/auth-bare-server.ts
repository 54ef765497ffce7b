/**
 * The baseline of bench/auth.ts: Express 5 with one GET route and no middleware, answering the
 * JSON shape of /api/auth/me (id, username, role, session_id, expires_at) from constants. The gap
 * between it and the real route is what our stack (correlation ids, helmet, CORS, the Redis rate
 * limiter, JWT verification, revocation check, logging context) costs per request.
 *
 *   argv[2]: the /api/auth/me body to imitate, as JSON (so both servers send the same fields and values)
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { onStop, tellParent } from './auth-children.js';

type Me = { id: string; username: string; role: string; session_id: string; expires_at: string };
const me = JSON.parse(process.argv[2] ?? '{}') as Me;

const app = express();
app.get('/api/auth/me', (_req, res) => {
  res
    .status(200)
    .json({ id: me.id, username: me.username, role: me.role, session_id: me.session_id, expires_at: me.expires_at });
});

const server = http.createServer(app);
server.listen(0, '127.0.0.1', () => {
  onStop(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  );
  tellParent({ type: 'ready', port: (server.address() as AddressInfo).port });
});
