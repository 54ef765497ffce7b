// What one live metrics connection may cost (docs/websocket.md, "Limits").

export type MetricsSocketLimits = {
  /** ms a new connection has to send its auth message */
  authTimeoutMs: number;
  /** largest frame a client may send, bytes (larger: close 1009) */
  maxPayloadBytes: number;
  /** authenticated connections per account */
  maxConnectionsPerUser: number;
  /** open connections (authenticated or not) per client address */
  maxConnectionsPerIp: number;
  /** open connections in this process */
  maxConnections: number;
  /** ping every this many ms; a client that has not answered the previous ping is cut */
  heartbeatIntervalMs: number;
  /** unsent bytes queued for a client above which its snapshots are skipped */
  dropSnapshotsAboveBytes: number;
  /** unsent bytes queued for a client above which it is disconnected (slow_consumer) */
  maxBufferedBytes: number;
  /** snapshots skipped in a row after which a client is disconnected (slow_consumer) */
  maxDroppedSnapshots: number;
  /** ms a client gets to complete a close the server started before its socket is destroyed */
  closeGraceMs: number;
  /** how often open connections are checked against the session allowlist (ended sessions close) */
  sessionSweepMs: number;
};

export const DEFAULT_METRICS_SOCKET_LIMITS: Readonly<MetricsSocketLimits> = Object.freeze({
  authTimeoutMs: 5_000,
  maxPayloadBytes: 4 * 1024,
  maxConnectionsPerUser: 10,
  maxConnectionsPerIp: 50,
  maxConnections: 10_000,
  heartbeatIntervalMs: 30_000,
  dropSnapshotsAboveBytes: 64 * 1024,
  maxBufferedBytes: 1024 * 1024,
  maxDroppedSnapshots: 30,
  closeGraceMs: 2_000,
  sessionSweepMs: 250,
});
