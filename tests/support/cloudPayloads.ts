import { signatureHeader } from '#infrastructure/channels/cloud/webhook.js';

/**
 * WhatsApp Cloud API webhook payloads in the shapes Meta documents and sends (messages webhook
 * reference, v21+): the envelope, one message of every type, and the four statuses. Ids and numbers
 * are made up; the structure is Meta's.
 */
export const PHONE_NUMBER_ID = '106540352242922';
export const DISPLAY_NUMBER = '15550783881';
export const CONTACT = '16505551234';

export const metadata = { display_phone_number: DISPLAY_NUMBER, phone_number_id: PHONE_NUMBER_ID };

/** The envelope: object, entry[].changes[] with field "messages". */
export const webhookOf = (...values: Record<string, unknown>[]) => ({
  object: 'whatsapp_business_account',
  entry: [
    {
      id: '102290129340398',
      changes: values.map((value) => ({ value: { messaging_product: 'whatsapp', ...value }, field: 'messages' })),
    },
  ],
});

export const contactsOf = (name = 'Sheena Nelson', waId = CONTACT) => [{ profile: { name }, wa_id: waId }];

/** One inbound message from CONTACT to PHONE_NUMBER_ID. */
export const inboundValue = (message: Record<string, unknown>, phoneNumberId = PHONE_NUMBER_ID) => ({
  metadata: { ...metadata, phone_number_id: phoneNumberId },
  contacts: contactsOf(),
  messages: [{ from: CONTACT, timestamp: '1749416383', ...message }],
});

export const MESSAGES = {
  text: {
    id: 'wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=',
    type: 'text',
    text: { body: 'Does it come in another color?' },
  },
  image: {
    id: 'wamid.IMAGE001',
    type: 'image',
    image: {
      caption: 'This is a caption',
      mime_type: 'image/jpeg',
      sha256: 'NOvpyvGbbI8pHtOfUTDNgsb7IQ0zS5a1cVE6RQhcgcU=',
      id: '1003383421387256',
    },
  },
  audio: {
    id: 'wamid.AUDIO001',
    type: 'audio',
    audio: { mime_type: 'audio/ogg; codecs=opus', sha256: 'x6Z1Iw==', id: '1003383421387257', voice: true },
  },
  video: {
    id: 'wamid.VIDEO001',
    type: 'video',
    video: { mime_type: 'video/mp4', sha256: 'y7Z1Iw==', id: '1003383421387258' },
  },
  document: {
    id: 'wamid.DOCUMENT001',
    type: 'document',
    document: {
      caption: 'Lucky Shrub Invoice',
      filename: 'lucky-shrub-invoice.pdf',
      mime_type: 'application/pdf',
      sha256: 'z8Z1Iw==',
      id: '1003383421387259',
    },
  },
  sticker: {
    id: 'wamid.STICKER001',
    type: 'sticker',
    sticker: { mime_type: 'image/webp', sha256: 'a1Z1Iw==', id: '1003383421387260', animated: false },
  },
  location: {
    id: 'wamid.LOCATION001',
    type: 'location',
    location: {
      address: '101 Forest Ave, Palo Alto, CA 94301',
      latitude: 37.44216251868683,
      longitude: -122.16153582049394,
      name: 'Philz Coffee',
      url: 'https://www.philzcoffee.com/',
    },
  },
  contacts: {
    id: 'wamid.CONTACTS001',
    type: 'contacts',
    contacts: [
      {
        name: { first_name: 'Barbara', last_name: 'Johnson', formatted_name: 'Barbara J. Johnson' },
        phones: [{ phone: '+1 (650) 555-1234', wa_id: '16505551234', type: 'MOBILE' }],
      },
    ],
  },
  buttonReply: {
    id: 'wamid.INTERACTIVE001',
    type: 'interactive',
    context: { from: DISPLAY_NUMBER, id: 'wamid.PREVIOUS001' },
    interactive: { type: 'button_reply', button_reply: { id: 'cancel-button', title: 'Cancel' } },
  },
  listReply: {
    id: 'wamid.INTERACTIVE002',
    type: 'interactive',
    context: { from: DISPLAY_NUMBER, id: 'wamid.PREVIOUS002' },
    interactive: {
      type: 'list_reply',
      list_reply: { id: 'priority_express', title: 'Priority Mail Express', description: 'Next Day to 2 Days' },
    },
  },
  button: {
    id: 'wamid.BUTTON001',
    type: 'button',
    context: { from: DISPLAY_NUMBER, id: 'wamid.TEMPLATE001' },
    button: { payload: 'Unsubscribe from Promos', text: 'Unsubscribe from Promos' },
  },
  reaction: {
    id: 'wamid.REACTION001',
    type: 'reaction',
    reaction: { message_id: 'wamid.OURS001', emoji: '\u{1F44D}' },
  },
  reactionRemoved: {
    id: 'wamid.REACTION002',
    type: 'reaction',
    reaction: { message_id: 'wamid.OURS001' },
  },
  unsupported: {
    id: 'wamid.UNSUPPORTED001',
    type: 'unsupported',
    errors: [
      {
        code: 131051,
        title: 'Message type unknown',
        message: 'Message type unknown',
        error_data: { details: 'Message type is currently not supported.' },
      },
    ],
    unsupported: { type: 'edit' },
  },
} as const;

export type StatusName = 'sent' | 'delivered' | 'read' | 'failed';

/** A status of one of our messages; `bizOpaque` is what we sent as biz_opaque_callback_data. */
export const statusValue = (
  status: StatusName,
  options: { wamid?: string; bizOpaque?: string; errorCode?: number } = {},
) => ({
  metadata,
  statuses: [
    {
      id: options.wamid ?? 'wamid.OURS001',
      status,
      timestamp: '1750263773',
      recipient_id: CONTACT,
      ...(options.bizOpaque !== undefined ? { biz_opaque_callback_data: options.bizOpaque } : {}),
      ...(status === 'failed'
        ? {
            errors: [
              {
                code: options.errorCode ?? 131026,
                title: 'Message undeliverable',
                message: 'Message undeliverable',
                error_data: { details: 'Message Undeliverable.' },
                href: 'https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/',
              },
            ],
          }
        : {
            conversation: { id: 'CONVERSATION_ID', origin: { type: 'service' } },
            pricing: { billable: true, pricing_model: 'PMP', category: 'service', type: 'regular' },
          }),
    },
  ],
});

// ---- Graph API error bodies and signed deliveries ---------------------------------------------------

/** Meta's own wording for the codes tests use; other codes get "(#code) Error". */
export const META_EXAMPLES: Record<number, { message: string; details: string; httpStatus: number }> = {
  190: {
    message: 'Error validating access token: Session has expired.',
    details: 'Access token has expired',
    httpStatus: 401,
  },
  100: {
    message: '(#100) Invalid parameter',
    details: 'Unexpected key "txt" on param "text".',
    httpStatus: 400,
  },
  130429: {
    message: '(#130429) Rate limit hit',
    details: 'Cloud API message throughput has been reached.',
    httpStatus: 400,
  },
  131000: { message: '(#131000) Something went wrong', details: 'Something went wrong', httpStatus: 500 },
  131026: {
    message: '(#131026) Message undeliverable',
    details: 'Message failed to send because the recipient is not a WhatsApp user or has not accepted the terms.',
    httpStatus: 400,
  },
  131030: {
    message: '(#131030) Recipient phone number not in allowed list',
    details: 'Add recipient phone number to recipient list and try again.',
    httpStatus: 400,
  },
  131047: {
    message: '(#131047) Re-engagement message',
    details: 'Message failed to send because more than 24 hours have passed since the customer last replied.',
    httpStatus: 400,
  },
  131048: {
    message: '(#131048) Spam rate limit hit',
    details: 'Message failed to send because there are restrictions on how many messages can be sent from this number.',
    httpStatus: 400,
  },
  131056: {
    message: '(#131056) (Business Account, Consumer Account) pair rate limit hit',
    details:
      'Message failed to send because there were too many messages sent from this phone number to the same phone number in a short period of time.',
    httpStatus: 400,
  },
  132001: {
    message: '(#132001) Template name does not exist in the translation',
    details: 'template name (hello_world) does not exist in es_MX',
    httpStatus: 404,
  },
};

export type MetaErrorSpec = { code: number; message?: string; details?: string; subcode?: number };

export const metaErrorBody = (behaviour: MetaErrorSpec) => {
  const example = META_EXAMPLES[behaviour.code];
  return {
    error: {
      message: behaviour.message ?? example?.message ?? `(#${behaviour.code}) Error`,
      type: 'OAuthException',
      code: behaviour.code,
      error_data: {
        messaging_product: 'whatsapp',
        details: behaviour.details ?? example?.details ?? 'Error details',
      },
      ...(behaviour.subcode !== undefined ? { error_subcode: behaviour.subcode } : {}),
      fbtrace_id: 'AbCdEfGhIjKlMnOpQrStUvW',
    },
  };
};

/** A status webhook for one message, in Meta's shape. */
export const statusWebhookPayload = (options: {
  phoneNumberId: string;
  wamid: string;
  recipient: string;
  status: string;
  messageId: string | null;
  timestamp: number;
}) => ({
  object: 'whatsapp_business_account',
  entry: [
    {
      id: '102290129340398',
      changes: [
        {
          field: 'messages',
          value: {
            messaging_product: 'whatsapp',
            metadata: { display_phone_number: '15550783881', phone_number_id: options.phoneNumberId },
            statuses: [
              {
                id: options.wamid,
                status: options.status,
                timestamp: String(options.timestamp),
                recipient_id: options.recipient,
                ...(options.messageId !== null ? { biz_opaque_callback_data: options.messageId } : {}),
              },
            ],
          },
        },
      ],
    },
  ],
});

/** A webhook delivery signed as Meta signs it: X-Hub-Signature-256 over the exact bytes sent. */
export const signedWebhook = (payload: unknown, appSecret: string) => {
  const body = typeof payload === 'string' ? payload : JSON.stringify(payload);
  return {
    body,
    headers: {
      'content-type': 'application/json',
      'x-hub-signature-256': signatureHeader(Buffer.from(body, 'utf8'), appSecret),
      'user-agent': 'facebookexternalua',
    },
  };
};
