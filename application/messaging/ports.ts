import type { MessageQueued, NumberAdded } from '#domain/messaging/events.js';
import type { ChannelAdapter, ChannelSink } from './channel.js';
import type { ChatTurn } from './autoReply.js';

/** A winston logger fits. Never pass message texts, phone numbers or credentials. */
export type MessagingLog = {
  info(message: string, fields?: Record<string, unknown>): unknown;
  warn(message: string, fields?: Record<string, unknown>): unknown;
  error(message: string, fields?: Record<string, unknown>): unknown;
};

/** A number as the worker needs it: enough to build its channel adapter. */
export type NumberInfo = Omit<NumberAdded['data'], 'by'> & { status: 'active' | 'disabled' };

/** One adapter per number, built from its kind (a new channel is one folder and one factory). */
export type ChannelFactory = (number: NumberInfo, sink: ChannelSink) => Promise<ChannelAdapter | null>;

/** A queued message as the dispatcher sees it (outbound_queue read model). */
export type DueMessage = Pick<
  MessageQueued['data'],
  'messageId' | 'numberId' | 'chatId' | 'to' | 'text' | 'template'
> & {
  /** of the MessageQueued event: every event of the send carries them on */
  correlationId: string | null;
  queuedEventId: string | null;
};

/**
 * The outbound queue: the read model of queued messages plus claims, so that several workers never
 * send the same message. A claim is a lease: a worker that dies loses it when it runs out.
 */
export interface OutboundQueue {
  /** due, unclaimed (or with an expired claim) messages of these numbers, oldest first */
  due(numberIds: readonly string[], now: Date, limit: number): Promise<DueMessage[]>;
  /** the ids this worker now holds (nobody else held a live claim on them), in one round trip */
  claim(messageIds: readonly string[], worker: string, now: Date, until: Date): Promise<string[]>;
  /** keeps the claim until `until` (a retry's next attempt, or a while after the outcome) */
  hold(messageId: string, worker: string, until: Date): Promise<void>;
  release(messageId: string, worker: string): Promise<void>;
}

/** Numbers divided between workers: exactly one live worker per number. */
export interface NumberLeases {
  heartbeat(worker: WorkerInfo, now: Date): Promise<void>;
  /** workers whose heartbeat is younger than `since` */
  liveWorkers(since: Date): Promise<number>;
  /** takes (or renews) the lease when free, expired or already ours */
  acquire(numberId: string, worker: string, now: Date, until: Date): Promise<boolean>;
  release(numberId: string, worker: string): Promise<void>;
  /** number ids whose live lease this worker holds */
  held(worker: string, now: Date): Promise<string[]>;
  /** number -> lease count per holder, for fair shares */
  holders(now: Date): Promise<Map<string, string>>;
  stopWorker(worker: string): Promise<void>;
}

export type WorkerInfo = { workerId: string; role: string; host: string; pid: number; startedAt: Date };

/** Read side the messaging use cases need. */
export interface MessagingQueries {
  /** active and disabled numbers (the read model) */
  numbers(): Promise<NumberInfo[]>;
  /** our message id for a provider's id, when the provider does not echo ours */
  messageIdForProviderId(numberId: string, providerMessageId: string): Promise<string | null>;
  /** the chat's recent turns, oldest first, excluding `exceptMessageId` */
  recentTurns(chatId: string, limit: number, exceptMessageId: string): Promise<ChatTurn[]>;
}
