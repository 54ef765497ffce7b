/**
 * Live metrics fan-out across app processes (docs/websocket.md, "Fan-out").
 *
 * Every app process could compute snapshots and live events from its own event-store subscription,
 * but then N processes would do the same work N times and their clients would see N slightly
 * different snapshots. Instead ONE process is elected and computes; Redis pub/sub carries its output
 * to every process; every process (the leader included) relays what arrives on the channel to its
 * own WebSocket clients. So all clients see the same stream, computed once: a follower never
 * subscribes its local feed (whatever else, e.g. the Prometheus exporter, still reads it locally).
 *
 * Election: a Redis lease, `SET <channel>:leader "<instance> <epoch>" PX leaseMs` when absent,
 * renewed every leaseMs/3 by a script that only extends our own value. The epoch (Redis server time
 * in µs at acquisition) fences a deposed leader: receivers drop messages whose epoch is older than the
 * newest they have seen, so a leader that stalled past its lease cannot interleave stale snapshots.
 * Events are additionally deduplicated by global position, which hides the overlap when the lead
 * changes hands (events that happen during a handover may be missed: this is a live view; the
 * event store and the projections are the record).
 *
 * Without Redis the local feed is returned as is. If the channel subscription is down for longer
 * than a lease (Redis unreachable), the process relays its own local feed directly, so its clients
 * keep a live view, and goes back to the channel when the subscription returns.
 */
import type { Redis } from 'ioredis';
import { Subject, type Subscription } from 'rxjs';
import type { LiveEvent, LiveFeed, MetricsSnapshot } from '#application/metrics/live.js';
import type { Runtime } from '#application/shared/runtime.js';
import type { Logger } from '#infrastructure/logging/logger.js';

export type FanoutOptions = {
  /** the process's Redis connection (publishes, holds the lease); a dedicated subscriber is duplicated from it */
  redis: Redis | null;
  /** this process's own feed, computed from its event-store subscription */
  local: LiveFeed;
  /** pub/sub channel; also the prefix of the lease key. Processes that share it share one leader */
  channel: string;
  /** whether this process may be elected to compute and publish (false: it only relays) */
  publish: boolean;
  logger?: Logger;
  /** lease time-to-live, ms; renewed every third of it. Default 5000 */
  leaseMs?: number;
  /** time (lease expiry, degraded mode) and the default instance id */
  runtime: Runtime;
  /** names this process in the lease and on the wire; the entry point passes host:pid:random. Default runtime.newId() */
  instanceId?: string;
};

/** local: no Redis; connecting: waiting for the channel subscription; redis: relaying the channel; degraded: relaying the local feed */
export type FanoutMode = 'local' | 'connecting' | 'redis' | 'degraded';

export type Fanout = LiveFeed & {
  close(): Promise<void>;
  /** this process currently holds the lease and publishes */
  isLeader(): boolean;
  mode(): FanoutMode;
  readonly instanceId: string;
};

type WireMessage =
  | { v: 1; epoch: number; from: string; kind: 'snapshot'; data: MetricsSnapshot }
  | { v: 1; epoch: number; from: string; kind: 'event'; data: LiveEvent };

// Returns the epoch (as text) while the caller holds the lease, nil when someone else does.
const CLAIM = `
local current = redis.call('get', KEYS[1])
if current then
  local sep = string.find(current, ' ', 1, true)
  if sep and string.sub(current, 1, sep - 1) == ARGV[1] then
    redis.call('pexpire', KEYS[1], ARGV[2])
    return string.sub(current, sep + 1)
  end
  return false
end
local now = redis.call('time')
local epoch = now[1] .. string.format('%06d', tonumber(now[2]))
redis.call('set', KEYS[1], ARGV[1] .. ' ' .. epoch, 'PX', ARGV[2])
return epoch`;

const RELEASE = `
local current = redis.call('get', KEYS[1])
if current and string.sub(current, 1, string.len(ARGV[1]) + 1) == ARGV[1] .. ' ' then
  return redis.call('del', KEYS[1])
end
return 0`;

const parseWire = (raw: string): WireMessage | null => {
  try {
    const message = JSON.parse(raw) as Partial<WireMessage> | null;
    if (
      message?.v !== 1 ||
      typeof message.epoch !== 'number' ||
      typeof message.data !== 'object' ||
      message.data === null
    )
      return null;
    if (message.kind === 'event' && typeof message.data.position !== 'number') return null;
    return message.kind === 'snapshot' || message.kind === 'event' ? (message as WireMessage) : null;
  } catch (_error) {
    return null;
  }
};

export const createFanout = (options: FanoutOptions): Fanout => {
  const { redis, local, channel, logger, runtime } = options;
  const instanceId = (options.instanceId ?? runtime.newId()).replace(/\s+/g, '_');
  const now = () => runtime.clock().getTime();
  if (redis === null) {
    return {
      snapshots$: local.snapshots$,
      events$: local.events$,
      close: () => Promise.resolve(),
      isLeader: () => options.publish,
      mode: () => 'local',
      instanceId,
    };
  }
  const leaseMs = options.leaseMs ?? 5_000;
  const leaseKey = `${channel}:leader`;
  const snapshots = new Subject<MetricsSnapshot>();
  const events = new Subject<LiveEvent>();
  let epoch = 0; // ours while we lead, 0 otherwise
  let leaseValidUntil = 0;
  let newestEpoch = 0;
  let lastEventPosition = -1;
  let subscribed = false;
  let unsubscribedSince = now();
  let localSubscription: Subscription | null = null;
  let timer: NodeJS.Timeout | null = null;
  let ticking: Promise<void> = Promise.resolve();
  let closed = false;
  let lastWarning = 0;

  const warn = (message: string, error: unknown) => {
    if (now() - lastWarning < 10_000) return;
    lastWarning = now();
    logger?.warn(message, { error: error instanceof Error ? error.message : String(error), channel });
  };
  const degraded = () => !subscribed && now() - unsubscribedSince >= leaseMs;

  const deliver = (message: Pick<WireMessage, 'kind' | 'data'>) => {
    if (message.kind === 'snapshot') return snapshots.next(message.data as MetricsSnapshot);
    const event = message.data as LiveEvent;
    if (event.position <= lastEventPosition) return;
    lastEventPosition = event.position;
    events.next(event);
  };

  const fromLocal = (message: Pick<WireMessage, 'kind' | 'data'>) => {
    if (epoch > 0) {
      const payload = JSON.stringify({ v: 1, epoch, from: instanceId, ...message });
      redis.publish(channel, payload).catch((error: unknown) => warn('live metrics: publish to Redis failed', error));
    }
    if (degraded()) deliver(message);
  };

  /** The local feed is subscribed only while this process leads or has to stand alone. */
  const reconcile = () => {
    const wanted = !closed && (epoch > 0 || degraded());
    if (wanted && localSubscription === null) {
      const onError = (error: unknown) => logger?.error('live metrics: the local feed failed', { error });
      localSubscription = local.snapshots$.subscribe({
        next: (data) => fromLocal({ kind: 'snapshot', data }),
        error: onError,
      });
      localSubscription.add(
        local.events$.subscribe({ next: (data) => fromLocal({ kind: 'event', data }), error: onError }),
      );
    } else if (!wanted && localSubscription !== null) {
      localSubscription.unsubscribe();
      localSubscription = null;
    }
  };

  const subscriber = redis.duplicate({
    autoResubscribe: false,
    lazyConnect: false,
    connectionName: `${instanceId}-live-metrics`.slice(0, 60),
  });
  subscriber.on('error', (error: unknown) => warn('live metrics: Redis subscriber unavailable', error));
  subscriber.on('ready', () => {
    subscriber
      .subscribe(channel)
      .then(() => {
        subscribed = true;
        reconcile();
      })
      .catch((error: unknown) => warn('live metrics: subscribe failed', error));
  });
  subscriber.on('close', () => {
    if (subscribed) unsubscribedSince = now();
    subscribed = false;
  });
  subscriber.on('message', (from: string, raw: string) => {
    if (from !== channel || closed) return;
    const message = parseWire(raw);
    if (message === null || message.epoch < newestEpoch) return; // garbage, or a deposed leader still talking
    newestEpoch = message.epoch;
    deliver(message);
  });

  const claim = async () => {
    const sentAt = now();
    try {
      const result = await redis.eval(CLAIM, 1, leaseKey, instanceId, leaseMs);
      const claimed = typeof result === 'string' ? Number(result) : 0;
      if (claimed > 0 && epoch === 0)
        logger?.info('live metrics: this process now computes and publishes', { instanceId, channel });
      if (claimed === 0 && epoch > 0)
        logger?.info('live metrics: another process took over publishing', { instanceId, channel });
      epoch = claimed;
      if (claimed > 0) leaseValidUntil = sentAt + leaseMs;
    } catch (error) {
      // Whether the lease is still ours is unknown: keep publishing until it would have expired anyway.
      if (epoch > 0 && now() >= leaseValidUntil) epoch = 0;
      warn('live metrics: lease renewal failed', error);
    }
  };

  const tick = async () => {
    if (options.publish) await claim();
    reconcile();
    if (!closed) {
      timer = setTimeout(() => (ticking = tick()), Math.max(50, Math.floor(leaseMs / 3)));
      timer.unref();
    }
  };
  ticking = tick();

  return {
    snapshots$: snapshots.asObservable(),
    events$: events.asObservable(),
    isLeader: () => epoch > 0,
    mode: () => (subscribed ? 'redis' : degraded() ? 'degraded' : 'connecting'),
    instanceId,
    close: async () => {
      if (closed) return;
      closed = true;
      if (timer) clearTimeout(timer);
      await ticking;
      reconcile();
      // Hand the lead over now instead of making the others wait for the lease to expire.
      if (epoch > 0) await redis.eval(RELEASE, 1, leaseKey, instanceId).catch(() => undefined);
      epoch = 0;
      subscriber.disconnect();
      snapshots.complete();
      events.complete();
    },
  };
};
