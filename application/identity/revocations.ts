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
  /** epoch seconds of an account's last password or role change: tokens issued before it are void */
  private readonly credentialsChangedAt = new Map<string, number>();
  private subscription: Subscription | null = null;
  private caughtUp = false;

  start(store: EventStore): Promise<void> {
    return new Promise((resolve) => {
      this.subscription = store.subscribeToAll({
        filter: {
          eventTypes: ['SessionRevoked', 'AccountDisabled', 'AccountEnabled', 'PasswordChanged', 'RoleChanged'],
        },
        onEvent: (event) => {
          const data = event.data as { sessionId?: string; accountId?: string };
          if (event.type === 'SessionRevoked' && data.sessionId) this.revokeSession(data.sessionId);
          if (event.type === 'AccountDisabled' && data.accountId) this.disabledAccounts.add(data.accountId);
          if (event.type === 'AccountEnabled' && data.accountId) this.disabledAccounts.delete(data.accountId);
          if ((event.type === 'PasswordChanged' || event.type === 'RoleChanged') && data.accountId)
            this.credentialsChanged(data.accountId, new Date(event.metadata.occurredAt));
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

  /** A new password or role voids every token issued before it (a stolen token, a demoted admin). */
  credentialsChanged(accountId: string, at: Date): void {
    const seconds = Math.floor(at.getTime() / 1000);
    this.credentialsChangedAt.set(accountId, Math.max(seconds, this.credentialsChangedAt.get(accountId) ?? 0));
  }

  isRevoked(claims: { sessionId: string; accountId: string; issuedAt?: number }): boolean {
    if (this.revokedSessions.has(claims.sessionId) || this.disabledAccounts.has(claims.accountId)) return true;
    const changedAt = this.credentialsChangedAt.get(claims.accountId);
    // JWT times are whole seconds: a token from the very second of the change still passes.
    return changedAt !== undefined && claims.issuedAt !== undefined && claims.issuedAt < changedAt;
  }

  async stop(): Promise<void> {
    await this.subscription?.stop();
  }
}
