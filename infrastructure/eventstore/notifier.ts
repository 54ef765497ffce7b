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
  /**
   * What each recent wake-up was about: the event types of a local append, or null (a NOTIFY from
   * another process, a reconnect, a close: anything may have been committed). Lets a subscription that
   * filters by type sleep on through local appends of other types instead of reading for nothing.
   */
  private recent: Array<{ generation: number; types: ReadonlySet<string> | null }> = [];
  /** last positions of our own recent commits: their NOTIFY echo wakes nobody a second time */
  private ownPositions = new Set<string>();

  signal(types: ReadonlySet<string> | null = null): void {
    this.fire();
    this.recent.push({ generation: this.generation, types });
    if (this.recent.length > 1_000) this.recent.splice(0, this.recent.length - 500);
  }

  /** a local commit that ended at `lastPosition` with events of these types */
  signalAppended(lastPosition: number, types: ReadonlySet<string>): void {
    this.ownPositions.add(String(lastPosition));
    if (this.ownPositions.size > 1_000) this.ownPositions.delete(this.ownPositions.values().next().value!);
    this.signal(types);
  }

  /**
   * May a wake-up after `since` concern a reader of these types (undefined: every type)? True when
   * unsure (the record of what happened does not reach back to `since`).
   */
  mayConcern(since: number, eventTypes: readonly string[] | undefined): boolean {
    if (eventTypes === undefined) return true;
    const first = this.recent[0];
    if (first === undefined || first.generation > since + 1) return this.generation > since;
    for (let i = this.recent.length - 1; i >= 0; i--) {
      const entry = this.recent[i]!;
      if (entry.generation <= since) break;
      if (entry.types === null || eventTypes.some((type) => entry.types!.has(type))) return true;
    }
    return false;
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
    client.on('notification', (message) => {
      // Our own commit's echo: the local wake-up already went out, with its types.
      if (message.payload !== undefined && this.ownPositions.delete(message.payload)) return;
      this.signal();
    });
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
