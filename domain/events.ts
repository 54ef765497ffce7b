import type { Event } from '#domain/shared/event.js';
import type { IdentityEvent } from '#domain/identity/events.js';
import type { MessagingEvent } from '#domain/messaging/events.js';
import type { LlmEvent } from '#domain/llm/events.js';
import type { RuntimeEvent } from '#domain/runtime/events.js';
import type { SecretEvent } from '#domain/secrets/events.js';
import type { SchedulingEvent } from '#domain/scheduling/events.js';
import type { OperationsEvent } from '#domain/operations/events.js';
import type { WhatsAppEvent } from '#domain/whatsapp/events.js';
import type { PrivacyContextEvent } from '#domain/privacy/events.js';

/**
 * RateLimited (sampled: one per client and window, never one per refused request), stream
 * `ratelimit-<ip>`. Declared here until the identity context's catalogue takes it over.
 */
export type RateLimited = Event<
  'RateLimited',
  { ip: string; route: string; limit: number; windowSeconds: number; username?: string }
>;

/**
 * Every event the application appends: the union of the contexts' catalogues (each declared once,
 * in domain/<context>/events.ts). Readers that handle events of several contexts (the audit trail,
 * the live metrics) read `RecordedEvent<AppEvent>`, so narrowing on `type` types `data`, and every
 * type list they filter on is checked against `AppEventType`.
 */
export type AppEvent =
  | IdentityEvent
  | RateLimited
  | SecretEvent
  | RuntimeEvent
  | MessagingEvent
  | LlmEvent
  | SchedulingEvent
  | OperationsEvent
  | WhatsAppEvent
  | PrivacyContextEvent;
export type AppEventType = AppEvent['type'];

/** The event of one type: `EventOfType<'ProcessStarted'>['data']['instance']`. */
export type EventOfType<T extends AppEventType> = Extract<AppEvent, { type: T }>;
