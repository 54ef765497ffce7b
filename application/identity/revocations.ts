import type { EventStore, Subscription } from '#application/shared/eventStore.js';

/**
 * Which sessions are revoked and which accounts are disabled: an in-process projection of the
 * identity events, so checking an access token costs no I/O. Every app process subscribes to the
 * event store, so a logout handled by one process reaches the others within the subscription's
 * latency (LISTEN/NOTIFY on PostgreSQL); the process that handled it applies it at once.
 */
export class RevocationRegistry {
  private readonly revokedSessions = new Set<string>();
  private readonly disabledAccounts = new Set<string>();
  private subscription: Subscription | null = null;
  private caughtUp = false;

  start(store: EventStore): Promise<void> {
    return new Promise((resolve) => {
      this.subscription = store.subscribeToAll({
        filter: { eventTypes: ['SessionRevoked', 'AccountDisabled', 'AccountEnabled'] },
        onEvent: (event) => {
          const data = event.data as { sessionId?: string; accountId?: string };
          if (event.type === 'SessionRevoked' && data.sessionId) this.revokeSession(data.sessionId);
          if (event.type === 'AccountDisabled' && data.accountId) this.disabledAccounts.add(data.accountId);
          if (event.type === 'AccountEnabled' && data.accountId) this.disabledAccounts.delete(data.accountId);
        },
        onCaughtUp: () => {
          this.caughtUp = true;
          resolve();
        },
      });
    });
  }

  get ready(): boolean {
    return this.caughtUp;
  }

  revokeSession(sessionId: string): void {
    this.revokedSessions.add(sessionId);
  }

  accountDisabled(accountId: string): void {
    this.disabledAccounts.add(accountId);
  }

  accountEnabled(accountId: string): void {
    this.disabledAccounts.delete(accountId);
  }

  isRevoked(claims: { sessionId: string; accountId: string }): boolean {
    return this.revokedSessions.has(claims.sessionId) || this.disabledAccounts.has(claims.accountId);
  }

  async stop(): Promise<void> {
    await this.subscription?.stop();
  }
}
