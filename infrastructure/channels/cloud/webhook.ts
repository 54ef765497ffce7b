/**
 * The WhatsApp Cloud API channel, inbound: the webhook's subscription handshake, the
 * `X-Hub-Signature-256` check over the raw body, and the normalisation of Meta's `messages` webhook
 * (`entry[].changes[].value`) into `InboundMessage` and `StatusUpdate`.
 *
 * The normaliser is a pure function of the payload: the same delivery (Meta retries) always yields
 * the same items in the same order, so the sink can be idempotent on the WhatsApp message id.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import type { DeliveryStatus, InboundKind, InboundMessage, StatusUpdate } from '#application/messaging/channel.js';

// ---- subscription handshake (GET) ------------------------------------------------------------------

/** Same-length digests, so neither the comparison time nor an early exit reveals the token's length. */
const sameSecret = (given: string, expected: string): boolean =>
  timingSafeEqual(createHash('sha256').update(given).digest(), createHash('sha256').update(expected).digest());

export type SubscriptionCheck = { ok: true; challenge: string } | { ok: false; reason: SubscriptionRefusal };
export type SubscriptionRefusal = 'not_configured' | 'bad_mode' | 'bad_token' | 'no_challenge';

const MAX_CHALLENGE = 256;

/** Meta's `GET ?hub.mode=subscribe&hub.verify_token=...&hub.challenge=...`: echo the challenge when the token matches. */
export const checkSubscription = (
  query: Readonly<Record<string, unknown>>,
  verifyToken: string | null,
): SubscriptionCheck => {
  const mode = query['hub.mode'];
  const token = query['hub.verify_token'];
  const challenge = query['hub.challenge'];
  if (verifyToken === null || verifyToken === '') return { ok: false, reason: 'not_configured' };
  if (mode !== 'subscribe') return { ok: false, reason: 'bad_mode' };
  if (typeof token !== 'string' || !sameSecret(token, verifyToken)) return { ok: false, reason: 'bad_token' };
  if (typeof challenge !== 'string' || challenge === '' || challenge.length > MAX_CHALLENGE)
    return { ok: false, reason: 'no_challenge' };
  return { ok: true, challenge };
};

// ---- signature (POST) --------------------------------------------------------------------------------

export type SignatureCheck = 'valid' | 'missing' | 'malformed' | 'mismatch';

const SIGNATURE = /^sha256=([0-9a-fA-F]{64})$/;

/** `X-Hub-Signature-256: sha256=<hex>` must be the HMAC-SHA256 of the raw body bytes under the App Secret. */
export const checkSignature = (rawBody: Buffer, header: string | undefined, appSecret: string): SignatureCheck => {
  if (header === undefined || header.trim() === '') return 'missing';
  const match = SIGNATURE.exec(header.trim());
  if (match === null) return 'malformed';
  const given = Buffer.from(match[1]!, 'hex');
  const expected = createHmac('sha256', appSecret).update(rawBody).digest();
  return timingSafeEqual(given, expected) ? 'valid' : 'mismatch';
};

/** The header Meta would send for these bytes (tests and the local tools sign with it). */
export const signatureHeader = (rawBody: Buffer | string, appSecret: string): string =>
  `sha256=${createHmac('sha256', appSecret).update(rawBody).digest('hex')}`;

// ---- normalisation -------------------------------------------------------------------------------------

export type CloudInbound = Omit<InboundMessage, 'numberId'>;
export type CloudStatus = Omit<StatusUpdate, 'numberId'>;

/** What one `changes[]` item of field `messages` carried, for one business phone number. */
export type CloudWebhookBatch = {
  phoneNumberId: string;
  inbound: CloudInbound[];
  statuses: CloudStatus[];
  /** `value.errors`: problems Meta reports outside any message (logged by the route, not events) */
  errors: { code: string; title: string }[];
  /** statuses we do not record (e.g. `played`, `deleted`) */
  ignored: number;
};

/** The body is JSON but not a WhatsApp Business Account webhook we can read. */
export class CloudWebhookShapeError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`Not a WhatsApp webhook payload: ${problems.join('; ')}`);
    this.name = 'CloudWebhookShapeError';
  }
}

const id = z.string().min(1).max(1024);
// Meta sends Unix seconds as a string; a number is accepted too.
const unixSeconds = z.union([z.string().regex(/^\d{1,12}$/), z.number().int().nonnegative()]);
const metaError = z.looseObject({
  code: z.union([z.number().int(), z.string()]),
  title: z.string().optional(),
  message: z.string().optional(),
});

// Since 2026 a user with a username may come without a phone number: `from`/`recipient_id`/`wa_id`
// are then absent and only the business-scoped user id (`from_user_id`, `recipient_user_id`,
// `user_id`, e.g. "US.13491208655302741918") names them. One of the two must be there.
const Message = z
  .looseObject({
    id,
    from: id.optional(),
    from_user_id: id.optional(),
    timestamp: unixSeconds,
    type: z.string().min(1),
  })
  .refine((message) => message.from !== undefined || message.from_user_id !== undefined, {
    message: 'neither from nor from_user_id',
    path: ['from'],
  });
const Status = z
  .looseObject({
    id,
    status: z.string().min(1),
    timestamp: unixSeconds,
    recipient_id: id.optional(),
    recipient_user_id: id.optional(),
    biz_opaque_callback_data: z.string().optional(),
    errors: z.array(metaError).optional(),
  })
  .refine((status) => status.recipient_id !== undefined || status.recipient_user_id !== undefined, {
    message: 'neither recipient_id nor recipient_user_id',
    path: ['recipient_id'],
  });
const Value = z.looseObject({
  metadata: z.looseObject({ phone_number_id: id }),
  contacts: z
    .array(
      z.looseObject({
        wa_id: z.string().optional(),
        user_id: z.string().optional(),
        profile: z.looseObject({ name: z.string().optional() }).optional(),
      }),
    )
    .optional(),
  messages: z.array(Message).optional(),
  statuses: z.array(Status).optional(),
  errors: z.array(metaError).optional(),
});
const Payload = z.looseObject({
  object: z.literal('whatsapp_business_account'),
  entry: z.array(z.looseObject({ changes: z.array(z.looseObject({ field: z.string(), value: z.unknown() })) })),
});

type MessageIn = z.infer<typeof Message>;

const problemsOf = (error: z.ZodError, prefix: string) =>
  error.issues.slice(0, 5).map((issue) => `${[prefix, ...issue.path.map(String)].join('.')}: ${issue.message}`);

const isoOf = (timestamp: string | number): string => new Date(Number(timestamp) * 1000).toISOString();

const errorOf = (error: z.infer<typeof metaError>) => ({
  code: String(error.code),
  title: error.title ?? error.message ?? '',
});

/**
 * Normalises a parsed webhook body. Changes of other fields (template status, account updates) are
 * skipped; a body that is not a WhatsApp Business Account webhook, or a message or status missing its
 * id, sender, recipient or timestamp, throws `CloudWebhookShapeError` and yields nothing at all.
 */
export const normaliseCloudWebhook = (body: unknown): CloudWebhookBatch[] => {
  const payload = Payload.safeParse(body);
  if (!payload.success) throw new CloudWebhookShapeError(problemsOf(payload.error, '(body)'));
  const batches: CloudWebhookBatch[] = [];
  payload.data.entry.forEach((entry, e) =>
    entry.changes.forEach((change, c) => {
      if (change.field !== 'messages') return;
      const value = Value.safeParse(change.value);
      if (!value.success) throw new CloudWebhookShapeError(problemsOf(value.error, `entry.${e}.changes.${c}.value`));
      batches.push(batchOf(value.data));
    }),
  );
  return batches;
};

const batchOf = (value: z.infer<typeof Value>): CloudWebhookBatch => {
  const contacts = value.contacts ?? [];
  const nameOf = (from: string): string | null => {
    const contact =
      contacts.find((candidate) => candidate.wa_id === from || candidate.user_id === from) ??
      (contacts.length === 1 ? contacts[0] : undefined);
    const name = contact?.profile?.name?.trim();
    return name === undefined || name === '' ? null : name;
  };
  const statuses: CloudStatus[] = [];
  let ignored = 0;
  for (const status of value.statuses ?? []) {
    const delivery = deliveryStatus(status.status);
    if (delivery === null) {
      ignored += 1;
      continue;
    }
    const firstError = status.errors?.[0];
    statuses.push({
      providerMessageId: status.id,
      messageId: status.biz_opaque_callback_data ?? null,
      recipient: (status.recipient_id ?? status.recipient_user_id)!,
      status: delivery,
      at: isoOf(status.timestamp),
      error: firstError === undefined ? null : errorOf(firstError),
    });
  }
  return {
    phoneNumberId: value.metadata.phone_number_id,
    inbound: (value.messages ?? []).map((message) => {
      const { kind, text } = contentOf(message);
      // The phone number when Meta shares it (what we can reply to), else the business-scoped user id.
      const from = (message.from ?? message.from_user_id)!;
      return {
        providerMessageId: message.id,
        from,
        contactName: nameOf(from),
        kind,
        text,
        sentAt: isoOf(message.timestamp),
      };
    }),
    statuses,
    errors: (value.errors ?? []).map(errorOf),
    ignored,
  };
};

const deliveryStatus = (status: string): DeliveryStatus | null => {
  switch (status) {
    case 'sent':
    case 'delivered':
    case 'read':
    case 'failed':
      return status;
    default:
      return null;
  }
};

// Loose readers for the type-specific objects: a missing caption is not a reason to refuse a message.
type Loose = Record<string, unknown>;
const obj = (value: unknown): Loose =>
  typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Loose) : {};
const str = (value: unknown): string | null => (typeof value === 'string' && value.trim() !== '' ? value.trim() : null);
const num = (value: unknown): string | null =>
  typeof value === 'number' && Number.isFinite(value) ? String(value) : str(value);
const withCaption = (placeholder: string, caption: string | null) =>
  caption === null ? placeholder : `${placeholder} ${caption}`;

type Content = { kind: InboundKind; text: string };

/** The kind and a readable text: the text itself, the picked option, or a placeholder such as "[image]". */
const contentOf = (message: MessageIn): Content => {
  const part = obj(message[message.type]);
  switch (message.type) {
    case 'text':
      // The user's words exactly, spaces and all.
      return { kind: 'text', text: typeof part.body === 'string' ? part.body : '' };
    case 'image':
    case 'video':
      return { kind: message.type, text: withCaption(`[${message.type}]`, str(part.caption)) };
    case 'audio':
      return { kind: 'audio', text: part.voice === true ? '[voice message]' : '[audio]' };
    case 'document': {
      const filename = str(part.filename);
      return {
        kind: 'document',
        text: withCaption(filename === null ? '[document]' : `[document: ${filename}]`, str(part.caption)),
      };
    }
    case 'sticker':
      return { kind: 'sticker', text: '[sticker]' };
    case 'location':
      return { kind: 'location', text: locationText(part) };
    case 'contacts':
      return { kind: 'contacts', text: contactsText(message.contacts) };
    case 'interactive':
      return { kind: 'interactive', text: interactiveText(part) };
    case 'button':
      // A quick-reply button of a template: the user "says" the button's label.
      return { kind: 'interactive', text: str(part.text) ?? str(part.payload) ?? '[button]' };
    case 'reaction': {
      const emoji = str(part.emoji);
      return { kind: 'reaction', text: emoji === null ? '[reaction removed]' : `[reaction: ${emoji}]` };
    }
    case 'order':
      return { kind: 'unsupported', text: '[order]' };
    case 'system':
      return { kind: 'unsupported', text: '[system notice]' };
    case 'request_welcome':
      return { kind: 'unsupported', text: '[welcome request]' };
    default:
      // 'unsupported', 'unknown' and whatever type Meta adds next
      return { kind: 'unsupported', text: '[unsupported message]' };
  }
};

const locationText = (location: Loose): string => {
  const place = [str(location.name), str(location.address)].filter((part) => part !== null).join(', ');
  const latitude = num(location.latitude);
  const longitude = num(location.longitude);
  const point = latitude !== null && longitude !== null ? `${latitude}, ${longitude}` : null;
  if (place !== '' && point !== null) return `[location: ${place} (${point})]`;
  if (place !== '' || point !== null) return `[location: ${place !== '' ? place : point}]`;
  return '[location]';
};

const contactsText = (contacts: unknown): string => {
  const names = (Array.isArray(contacts) ? contacts : [])
    .map((contact) => str(obj(obj(contact).name).formatted_name))
    .filter((name): name is string => name !== null);
  return names.length === 0 ? '[contact]' : `[contact: ${names.join(', ')}]`;
};

const interactiveText = (interactive: Loose): string => {
  switch (interactive.type) {
    case 'button_reply':
    case 'list_reply':
      // The option the user picked is what they said; its title is what the bot should read.
      return str(obj(interactive[interactive.type]).title) ?? `[${interactive.type}]`;
    case 'nfm_reply':
      return '[form reply]';
    default:
      return '[interactive]';
  }
};
