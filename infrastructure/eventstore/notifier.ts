import pg from 'pg';
import { Signal } from '#infrastructure/shared/signal.js';

/**
 * Wakes subscriptions when new events may have been committed (a Signal: read `generation` before
 * reading, wait on it after, and no wake-up is lost in between). Local appends signal directly;
 * on PostgreSQL a LISTEN connection relays other processes' NOTIFYs. Subscriptions also poll,
 * so a lost notification (or a restarting server) only adds latency, never loses an event.
 */
export class Wakeup extends Signal {
  private listener: pg.Client | null = null;
  private closed = false;
  private reconnectTimer: NodeJS.Timeout | null = null;

  signal(): void {
    this.fire();
  }

  /** Relays NOTIFY on `channel` (PostgreSQL only); reconnects with backoff when the server goes away. */
  async listen(connectionString: string, channel: string, attempt = 0): Promise<void> {
    if (this.closed) return;
    const client = new pg.Client({ connectionString, application_name: 'chatbot-listen' });
    const retry = () => {
      if (this.closed || this.reconnectTimer) return;
      this.listener = null;
      client.removeAllListeners();
      client.on('error', () => undefined);
      client.end().catch(() => undefined);
      const delay = Math.min(10_000, 250 * 2 ** Math.min(attempt, 6));
      this.reconnectTimer = setTimeout(() => {
        this.reconnectTimer = null;
        this.signal(); // catch up whatever committed while we were deaf
        void this.listen(connectionString, channel, attempt + 1);
      }, delay);
    };
    client.on('error', retry);
    client.on('end', retry);
    client.on('notification', () => this.signal());
    try {
      await client.connect();
      await client.query(`LISTEN "${channel}"`);
      if (this.closed) {
        await client.end();
        return;
      }
      this.listener = client;
      attempt = 0;
    } catch {
      retry();
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.signal();
    const listener = this.listener;
    this.listener = null;
    if (listener) {
      listener.removeAllListeners();
      listener.on('error', () => undefined);
      await listener.end().catch(() => undefined);
    }
  }
}
