/**
 * The channel port: what the messaging context needs from a WhatsApp channel, whatever its kind.
 * One adapter folder per kind under infrastructure/channels/<kind>/ (simulator, cloud, web); a new
 * channel is one folder plus one line in the registry that maps a number's kind to its adapter.
 *
 * Inbound traffic (webhooks, sockets) is normalised by the adapter into `InboundMessage` and
 * `StatusUpdate` and handed to `ChannelSink`; the messaging use cases turn those into events,
 * idempotent on the provider's message id. Outbound sends go through `send`, which never throws
 * for a provider's answer: it classifies it as sent, retryable or permanent.
 */
import type { ChannelKind, DeliveryStatus, InboundKind, MessageTemplate } from '#domain/messaging/events.js';

// The vocabulary is the messaging catalogue's (the events record it); the port re-exports it.
export type { ChannelKind, DeliveryStatus, InboundKind };

export type TemplateContent = MessageTemplate;

export type OutboundContent = { kind: 'text'; text: string } | { kind: 'template'; template: TemplateContent };

export type SendRequest = {
  /** our message id (the MessageQueued event's message id): carried to the provider so that
   *  sends in doubt after a crash can be resolved (Cloud API biz_opaque_callback_data, Web message id) */
  messageId: string;
  numberId: string;
  /** E.164 without '+' (Cloud API) or a JID (Web) */
  to: string;
  content: OutboundContent;
  attempt: number;
};

export type SendOutcome =
  | { status: 'sent'; providerMessageId: string }
  | {
      status: 'failed';
      /** rate limits, 5xx, network errors, timeouts: try again later */
      retryable: boolean;
      /** provider error code as text (e.g. Meta's '131026'), or 'network', 'timeout' */
      code: string;
      /** provider's message, already free of secrets */
      message: string;
      /** honour the provider's Retry-After when it sends one */
      retryAfterMs?: number;
    };

export type InboundMessage = {
  numberId: string;
  /** the provider's message id: inbound events are idempotent on it */
  providerMessageId: string;
  /** the contact: E.164 without '+' or a JID */
  from: string;
  contactName: string | null;
  kind: InboundKind;
  /** the text, or a readable placeholder for other kinds (e.g. "[image]") */
  text: string;
  /** ISO-8601, from the provider's timestamp */
  sentAt: string;
};

export type StatusUpdate = {
  numberId: string;
  providerMessageId: string;
  /** our message id when the provider echoes it (Cloud API biz_opaque_callback_data) */
  messageId: string | null;
  recipient: string;
  status: DeliveryStatus;
  /** ISO-8601 */
  at: string;
  error: { code: string; title: string } | null;
};

export type ChannelLimits = {
  /** per number; Cloud API default tier 80 msgs/s */
  messagesPerSecond: number;
  /** per recipient, so a burst to one user does not trip the pair rate limit */
  minGapPerRecipientMs: number;
  /**
   * up to this much more, drawn at random per message, on top of minGapPerRecipientMs (ban care for the
   * Web channel: no machine-regular rhythm); absent or 0 for the API channels
   */
  jitterMs?: number;
  /** longest text one message may carry */
  maxTextLength: number;
};

/** Where an adapter hands what it receives. */
export type ChannelSink = {
  inbound(message: InboundMessage): Promise<void>;
  status(update: StatusUpdate): Promise<void>;
};

export interface ChannelAdapter {
  readonly kind: ChannelKind;
  readonly limits: ChannelLimits;
  send(request: SendRequest): Promise<SendOutcome>;
  /**
   * Connection-holding channels (the Web channel's socket) implement the lifecycle below; stateless
   * ones (simulator, Cloud API) leave it out. The worker that holds the number's lease calls `open`
   * when it takes the number or obeys a runtime start, `close` when it loses the lease, obeys a stop or
   * shuts down (the session is kept: the next `open` resumes it without pairing), and `logout` when an
   * admin ends the session (credentials cleared, the next `open` pairs anew). All three are idempotent.
   */
  open?(): Promise<void>;
  close?(): Promise<void>;
  logout?(): Promise<void>;
}
