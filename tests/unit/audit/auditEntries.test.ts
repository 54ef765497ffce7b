import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import type { EventMetadata, RecordedEvent } from '#application/shared/eventStore.js';
import { AUDIT_EVENT_TYPES, auditFactsOf, type AuditFacts } from '#projections/audit/auditEntries.js';
import { canonicalJson } from '#projections/audit/hashChain.js';

const ACCOUNT = '7d7a4a0e-4b5e-4a43-9f8e-1f1b8a0c0001';
const ADMIN = '7d7a4a0e-4b5e-4a43-9f8e-1f1b8a0c0002';
const SESSION = '9a1c2b3d-0000-4000-8000-000000000003';

let position = 0;
const recorded = (
  type: string,
  data: Record<string, unknown>,
  metadata: Partial<EventMetadata> = {},
  streamId = `account-${ACCOUNT}`,
): RecordedEvent => ({
  id: randomUUID(),
  type,
  data,
  metadata: {
    correlationId: 'corr-1',
    causationId: null,
    actor: ADMIN,
    ip: '203.0.113.7',
    userAgent: 'mocha',
    occurredAt: '2026-03-01T10:00:00.123Z',
    schemaVersion: 1,
    ...metadata,
  },
  streamId,
  revision: 0,
  position: ++position,
  recordedAt: '2026-03-01T10:00:00.456Z',
});

const facts = (event: RecordedEvent): AuditFacts => {
  const found = auditFactsOf(event);
  expect(found, `${event.type} is audited`).to.not.equal(null);
  return found!;
};

/** The whole entry as text: whatever leaks into any column shows up here. */
const everything = (event: RecordedEvent) => canonicalJson(facts(event));

const HASH = '$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA';
const FERNET = 'gAAAAABnZ2Rvb2RfY2lwaGVydGV4dF9mb3JfdGVzdHNfb25seV9wbGVhc2U=';
const JWT = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl';

describe('audit entries derived from events', () => {
  it('a failed login reads as login.failed by the attempting user, with the reason and the count, from the request address', () => {
    const event = recorded(
      'LoginFailed',
      {
        accountId: ACCOUNT,
        username: 'alice',
        reason: 'wrong_password',
        ip: '198.51.100.1',
        userAgent: 'x',
        failureCount: 3,
        lockedUntil: null,
        at: '2026-03-01T10:00:00.000Z',
      },
      { actor: ACCOUNT },
    );
    expect(facts(event)).to.deep.equal({
      event_id: event.id,
      position: event.position,
      occurred_at: '2026-03-01T10:00:00.123Z',
      actor: ACCOUNT,
      action: 'login.failed',
      target: ACCOUNT,
      ip: '203.0.113.7',
      outcome: 'failure',
      correlation_id: 'corr-1',
      details: { username: 'alice', reason: 'wrong_password', failureCount: 3, lockedUntil: null },
    });
  });

  it('a login refused because the account is locked is "denied", not a wrong password', () => {
    const event = recorded('LoginFailed', {
      accountId: ACCOUNT,
      username: 'alice',
      reason: 'account_locked',
      failureCount: 5,
      lockedUntil: '2026-03-01T10:15:00.000Z',
    });
    expect(facts(event)).to.include({ outcome: 'denied' });
    expect(facts(event).details).to.include({ reason: 'account_locked', lockedUntil: '2026-03-01T10:15:00.000Z' });
  });

  it('falls back to the address in the event data when the envelope has none', () => {
    expect(
      facts(
        recorded(
          'LoginSucceeded',
          { accountId: ACCOUNT, username: 'alice', ip: '198.51.100.9', sessionId: SESSION },
          { ip: null },
        ),
      ),
    ).to.include({ ip: '198.51.100.9', action: 'login.succeeded' });
  });

  it('a lockout is denied and keeps its end and counts', () => {
    const entry = facts(
      recorded(
        'AccountLocked',
        { accountId: ACCOUNT, until: '2026-03-01T10:15:00.000Z', lockoutCount: 2, failures: 5 },
        { actor: 'system' },
      ),
    );
    expect(entry).to.include({ action: 'account.locked', outcome: 'denied', actor: 'system', target: ACCOUNT });
    expect(entry.details).to.deep.equal({ lockedUntil: '2026-03-01T10:15:00.000Z', lockoutCount: 2, failureCount: 5 });
  });

  it('a password change records who changed it and never the hash', () => {
    const event = recorded('PasswordChanged', { accountId: ACCOUNT, passwordHash: HASH, changedBy: ADMIN });
    expect(facts(event)).to.include({ action: 'user.password_changed', target: ACCOUNT });
    expect(facts(event).details).to.deep.equal({ changedBy: ADMIN });
    expect(everything(event)).to.not.include('argon2').and.not.include('c2FsdHNhbHQ');
  });

  it('a created account keeps username and role but not the password hash', () => {
    const event = recorded('AccountCreated', {
      accountId: ACCOUNT,
      username: 'bob',
      role: 'operator',
      passwordHash: HASH,
      createdBy: ADMIN,
    });
    expect(facts(event).details).to.deep.equal({ username: 'bob', role: 'operator', createdBy: ADMIN });
    expect(everything(event)).to.not.include('argon2');
  });

  it('a stored secret names the secret and its key, never the ciphertext', () => {
    const event = recorded(
      'SecretStored',
      { name: 'openai', ciphertext: FERNET, keyFingerprint: '0a1b2c3d', kind: 'llm_api_key' },
      {},
      'secret-openai',
    );
    expect(facts(event)).to.include({ action: 'secret.stored', target: 'openai' });
    expect(facts(event).details).to.deep.equal({ kind: 'llm_api_key', keyFingerprint: '0a1b2c3d' });
    expect(everything(event)).to.not.include('gAAAAA');
    expect(
      everything(
        recorded(
          'SecretRotated',
          { name: 'openai', ciphertext: FERNET, keyFingerprint: '99aa88bb' },
          {},
          'secret-openai',
        ),
      ),
    ).to.not.include('gAAAAA');
  });

  it('token events never carry token ids, refresh token ids or tokens', () => {
    const events = [
      recorded(
        'SessionStarted',
        {
          sessionId: SESSION,
          accountId: ACCOUNT,
          refreshTokenId: 'rt-secret-id',
          expiresAt: '2026-03-02T10:00:00.000Z',
        },
        {},
        `session-${SESSION}`,
      ),
      recorded(
        'RefreshTokenRotated',
        {
          sessionId: SESSION,
          previousTokenId: 'rt-secret-id',
          refreshTokenId: 'rt-next-id',
          expiresAt: '2026-03-02T10:00:00.000Z',
        },
        {},
        `session-${SESSION}`,
      ),
      recorded(
        'AccessTokenIssued',
        {
          accountId: ACCOUNT,
          sessionId: SESSION,
          jti: 'jti-secret',
          expiresAt: '2026-03-01T10:15:00.000Z',
          token: JWT,
        },
        {},
        `session-${SESSION}`,
      ),
      recorded(
        'WsTokenIssued',
        { jti: 'jti-ws', accountId: ACCOUNT, scope: 'metrics:read', expiresAt: '2026-03-01T10:00:30.000Z' },
        {},
        'wstoken-jti-ws',
      ),
      recorded(
        'WsTokenConsumed',
        { jti: 'jti-ws', consumedAt: '2026-03-01T10:00:05.000Z' },
        { actor: ACCOUNT },
        'wstoken-jti-ws',
      ),
    ];
    for (const event of events) {
      const text = everything(event);
      for (const secret of ['rt-secret-id', 'rt-next-id', 'jti-secret', 'jti-ws', 'eyJ'])
        expect(text, event.type).to.not.include(secret);
    }
    expect(events.map((event) => facts(event).action)).to.deep.equal([
      'session.started',
      'token.refreshed',
      'token.issued',
      'ws_token.issued',
      'ws_token.consumed',
    ]);
    expect(facts(events[4]!).target).to.equal(ACCOUNT);
  });

  it('a revoked session names the session, the reason and who revoked it', () => {
    const entry = facts(
      recorded(
        'SessionRevoked',
        { sessionId: SESSION, reason: 'refresh_token_reuse', by: 'system' },
        {},
        `session-${SESSION}`,
      ),
    );
    expect(entry).to.include({ action: 'session.revoked', target: SESSION });
    expect(entry.details).to.deep.equal({ reason: 'refresh_token_reuse', by: 'system' });
  });

  it('process events name the process, from the data or from the stream', () => {
    expect(
      facts(
        recorded(
          'ProcessStarted',
          { name: 'worker-web', instance: 'host-1:42', role: 'worker-web' },
          { actor: 'system' },
          'process-worker-web',
        ),
      ),
    ).to.deep.include({
      action: 'process.started',
      target: 'worker-web',
      details: { instance: 'host-1:42', role: 'worker-web' },
    });
    const crashed = facts(
      recorded(
        'ProcessCrashed',
        { instance: 'host-1:42', reason: 'connect failed: postgres://chatbot:hunter2@db:5432/chatbot' },
        { actor: 'system' },
        'process-worker-web',
      ),
    );
    expect(crashed).to.include({ action: 'process.crashed', target: 'worker-web', outcome: 'failure' });
    expect(crashed.details.reason).to.equal('connect failed: postgres://chatbot:[REDACTED]@db:5432/chatbot');
  });

  it('scrubs credential shapes from free text', () => {
    const event = recorded(
      'ProcessCrashed',
      { name: 'app', instance: 'h:1', reason: `outage; used Bearer ${JWT} and sk-abcdefghijklmnopqrstuvwxyz` },
      {},
      'process-app',
    );
    expect(everything(event)).to.not.include('sk-abc').and.not.include('eyJ');
  });

  it('a sampled rate-limit refusal is denied and names the username tried, or else the route', () => {
    const login = facts(
      recorded(
        'RateLimited',
        { ip: '203.0.113.7', route: 'POST /api/auth/login', limit: 5, windowSeconds: 60, username: 'alice' },
        { actor: 'anonymous' },
        'ratelimit-203-0-113-7',
      ),
    );
    expect(login).to.deep.include({
      action: 'rate.limited',
      outcome: 'denied',
      target: 'alice',
      details: { route: 'POST /api/auth/login', username: 'alice', limit: 5, windowSeconds: 60 },
    });
    expect(
      facts(
        recorded(
          'RateLimited',
          { ip: '203.0.113.7', route: 'GET /api/users', limit: 100, windowSeconds: 60 },
          {},
          'ratelimit-203-0-113-7',
        ),
      ).target,
    ).to.equal('GET /api/users');
  });

  it('tolerates missing and unexpected fields and odd metadata', () => {
    const event = recorded(
      'RateLimited',
      { somethingNew: { nested: true }, limit: 'not a number' },
      { ip: null, correlationId: '', occurredAt: 'yesterday' },
    );
    expect(facts(event)).to.deep.include({
      action: 'rate.limited',
      outcome: 'denied',
      target: null,
      ip: null,
      correlation_id: null,
      occurred_at: '2026-03-01T10:00:00.456Z',
      details: {},
    });
    const broken = { ...recorded('AccountDisabled', {}), data: null as unknown as Record<string, unknown> };
    expect(facts(broken)).to.include({ action: 'user.disabled', target: null });
  });

  it('normalises what PostgreSQL would change, so a stored row reads back exactly as it was hashed', () => {
    const entry = facts(
      recorded(
        'AccountDisabled',
        { accountId: `a\u0000b`, by: `x\uD800y` },
        { occurredAt: '2026-03-01T12:00:00+02:00' },
      ),
    );
    expect(entry.target).to.equal('ab');
    expect(entry.details.by).to.equal('x\uFFFDy');
    expect(entry.occurred_at).to.equal('2026-03-01T10:00:00.000Z');
  });

  it('ignores event types outside the catalogue, and audits every type of the catalogue', () => {
    expect(auditFactsOf(recorded('MessageReceived', { text: 'hello' }))).to.equal(null);
    expect(auditFactsOf(recorded('toString', {}))).to.equal(null);
    for (const type of [
      'AccountCreated',
      'PasswordChanged',
      'RoleChanged',
      'AccountDisabled',
      'AccountEnabled',
      'LoginSucceeded',
      'LoginFailed',
      'AccountLocked',
      'AccountUnlocked',
      'SessionStarted',
      'RefreshTokenRotated',
      'SessionRevoked',
      'AccessTokenIssued',
      'LoggedOut',
      'WsTokenIssued',
      'WsTokenConsumed',
      'RateLimited',
      'SecretStored',
      'SecretRotated',
      'SecretDeleted',
      'ProcessStarted',
      'ProcessStopped',
      'ProcessCrashed',
    ]) {
      expect(AUDIT_EVENT_TYPES).to.include(type);
    }
  });
});
