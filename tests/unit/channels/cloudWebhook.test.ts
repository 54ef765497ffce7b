import { expect } from 'chai';
import {
  checkSignature,
  checkSubscription,
  CloudWebhookShapeError,
  normaliseCloudWebhook,
  signatureHeader,
} from '#infrastructure/channels/cloud/webhook.js';
import {
  CONTACT,
  contactsOf,
  inboundValue,
  MESSAGES,
  metadata,
  PHONE_NUMBER_ID,
  statusValue,
  webhookOf,
} from '../../support/cloudPayloads.js';

const one = (message: Record<string, unknown>) => {
  const batches = normaliseCloudWebhook(webhookOf(inboundValue(message)));
  expect(batches).to.have.length(1);
  expect(batches[0]!.inbound).to.have.length(1);
  return batches[0]!.inbound[0]!;
};

describe('Cloud API webhook normaliser', () => {
  it('turns a text message into an inbound message with the sender, the profile name and the time', () => {
    const batches = normaliseCloudWebhook(webhookOf(inboundValue(MESSAGES.text)));
    expect(batches).to.deep.equal([
      {
        phoneNumberId: PHONE_NUMBER_ID,
        inbound: [
          {
            providerMessageId: MESSAGES.text.id,
            from: CONTACT,
            contactName: 'Sheena Nelson',
            kind: 'text',
            text: 'Does it come in another color?',
            sentAt: '2025-06-08T20:59:43.000Z',
          },
        ],
        statuses: [],
        errors: [],
        ignored: 0,
      },
    ]);
  });

  const cases: [string, Record<string, unknown>, string, string][] = [
    ['an image with a caption', MESSAGES.image, 'image', '[image] This is a caption'],
    ['a voice note', MESSAGES.audio, 'audio', '[voice message]'],
    ['an audio file', { ...MESSAGES.audio, audio: { ...MESSAGES.audio.audio, voice: false } }, 'audio', '[audio]'],
    ['a video without caption', MESSAGES.video, 'video', '[video]'],
    ['a document', MESSAGES.document, 'document', '[document: lucky-shrub-invoice.pdf] Lucky Shrub Invoice'],
    ['a sticker', MESSAGES.sticker, 'sticker', '[sticker]'],
    [
      'a location',
      MESSAGES.location,
      'location',
      '[location: Philz Coffee, 101 Forest Ave, Palo Alto, CA 94301 (37.44216251868683, -122.16153582049394)]',
    ],
    ['a shared contact', MESSAGES.contacts, 'contacts', '[contact: Barbara J. Johnson]'],
    ['a reply button', MESSAGES.buttonReply, 'interactive', 'Cancel'],
    ['a list reply', MESSAGES.listReply, 'interactive', 'Priority Mail Express'],
    ['a template quick-reply button', MESSAGES.button, 'interactive', 'Unsubscribe from Promos'],
    ['a reaction', MESSAGES.reaction, 'reaction', '[reaction: \u{1F44D}]'],
    ['a removed reaction', MESSAGES.reactionRemoved, 'reaction', '[reaction removed]'],
    ['an unsupported message', MESSAGES.unsupported, 'unsupported', '[unsupported message]'],
    [
      'a type Meta adds later',
      { id: 'wamid.NEW1', type: 'hologram', hologram: {} },
      'unsupported',
      '[unsupported message]',
    ],
  ];
  for (const [name, message, kind, text] of cases)
    it(`records ${name} with kind ${kind} and the text "${text}"`, () => {
      const inbound = one(message);
      expect(inbound).to.include({ kind, text, from: CONTACT, providerMessageId: message.id });
    });

  it("keeps a text message's body exactly as sent", () => {
    expect(one({ ...MESSAGES.text, text: { body: '  hola\n  qué tal ' } }).text).to.equal('  hola\n  qué tal ');
  });

  it('takes the contact name from the contact whose wa_id sent the message', () => {
    const value = {
      metadata,
      contacts: [...contactsOf('Someone Else', '34600000000'), ...contactsOf('The Sender', CONTACT)],
      messages: [{ from: CONTACT, timestamp: '1749416383', ...MESSAGES.text }],
    };
    expect(normaliseCloudWebhook(webhookOf(value))[0]!.inbound[0]!.contactName).to.equal('The Sender');
    const nameless = { metadata, messages: [{ from: CONTACT, timestamp: '1749416383', ...MESSAGES.text }] };
    expect(normaliseCloudWebhook(webhookOf(nameless))[0]!.inbound[0]!.contactName).to.equal(null);
  });

  it('names a user who shares no phone number (username) by the business-scoped user id', () => {
    const value = {
      metadata,
      contacts: [{ profile: { name: 'Bob' }, user_id: 'US.13491208655302741918' }],
      messages: [{ from_user_id: 'US.13491208655302741918', timestamp: '1749416383', ...MESSAGES.text }],
    };
    expect(normaliseCloudWebhook(webhookOf(value))[0]!.inbound[0]).to.include({
      from: 'US.13491208655302741918',
      contactName: 'Bob',
    });
    const status = statusValue('read');
    const { recipient_id: _phone, ...withoutPhone } = status.statuses[0]!;
    const bsuidStatus = { ...status, statuses: [{ ...withoutPhone, recipient_user_id: 'US.13491208655302741918' }] };
    expect(normaliseCloudWebhook(webhookOf(bsuidStatus))[0]!.statuses[0]!.recipient).to.equal(
      'US.13491208655302741918',
    );
  });

  for (const status of ['sent', 'delivered', 'read'] as const)
    it(`turns a ${status} status into a status update carrying our message id`, () => {
      const batches = normaliseCloudWebhook(webhookOf(statusValue(status, { bizOpaque: 'our-message-1' })));
      expect(batches[0]!.statuses).to.deep.equal([
        {
          providerMessageId: 'wamid.OURS001',
          messageId: 'our-message-1',
          recipient: CONTACT,
          status,
          at: '2025-06-18T16:22:53.000Z',
          error: null,
        },
      ]);
    });

  it("turns a failed status into a status update with Meta's error code and title", () => {
    const [batch] = normaliseCloudWebhook(webhookOf(statusValue('failed', { errorCode: 131047 })));
    expect(batch!.statuses[0]).to.include({ status: 'failed', messageId: null });
    expect(batch!.statuses[0]!.error).to.deep.equal({ code: '131047', title: 'Message undeliverable' });
  });

  it('skips statuses it does not record (played, deleted) and counts them', () => {
    const value = statusValue('read');
    const played = { ...value, statuses: [{ ...value.statuses[0]!, status: 'played' }, ...value.statuses] };
    const [batch] = normaliseCloudWebhook(webhookOf(played));
    expect(batch!.statuses.map((s) => s.status)).to.deep.equal(['read']);
    expect(batch!.ignored).to.equal(1);
  });

  it('keeps order across entries and changes, one batch per change, and skips other webhook fields', () => {
    const payload = webhookOf(inboundValue(MESSAGES.text), statusValue('delivered'));
    payload.entry[0]!.changes.push({
      field: 'message_template_status_update',
      value: { event: 'APPROVED', message_template_id: 1 } as never,
    });
    payload.entry.push({
      id: 'other',
      changes: [{ field: 'messages', value: inboundValue(MESSAGES.image, '999') as never }],
    });
    const batches = normaliseCloudWebhook(payload);
    expect(batches.map((b) => [b.phoneNumberId, b.inbound.length, b.statuses.length])).to.deep.equal([
      [PHONE_NUMBER_ID, 1, 0],
      [PHONE_NUMBER_ID, 0, 1],
      ['999', 1, 0],
    ]);
  });

  it('is deterministic: the same delivery normalises to the same items', () => {
    const payload = webhookOf(inboundValue(MESSAGES.location), statusValue('failed'));
    expect(normaliseCloudWebhook(structuredClone(payload))).to.deep.equal(normaliseCloudWebhook(payload));
  });

  it("reports Meta's change-level errors", () => {
    const value = { metadata, errors: [{ code: 131000, title: 'Something went wrong', message: 'x' }] };
    expect(normaliseCloudWebhook(webhookOf(value))[0]!.errors).to.deep.equal([
      { code: '131000', title: 'Something went wrong' },
    ]);
  });

  const malformed: [string, unknown][] = [
    ['an array', []],
    ['another object type', { object: 'page', entry: [] }],
    ['entry not an array', { object: 'whatsapp_business_account', entry: {} }],
    ['a value without metadata', webhookOf({ messages: [] })],
    ['a message without id', webhookOf(inboundValue({ id: undefined, type: 'text', text: { body: 'x' } }))],
    ['a message without sender', webhookOf({ metadata, messages: [{ id: 'w1', timestamp: '1', type: 'text' }] })],
    ['a message with a bad timestamp', webhookOf(inboundValue({ ...MESSAGES.text, timestamp: 'yesterday' }))],
    ['a status without recipient', webhookOf({ metadata, statuses: [{ id: 'w', status: 'sent', timestamp: '1' }] })],
  ];
  for (const [name, body] of malformed)
    it(`refuses ${name} as a whole`, () => {
      expect(() => normaliseCloudWebhook(body)).to.throw(CloudWebhookShapeError);
    });
});

describe('Cloud API webhook signature', () => {
  const secret = 'app-secret';
  const body = Buffer.from(JSON.stringify(webhookOf(inboundValue(MESSAGES.text))));

  it('accepts the HMAC-SHA256 of the raw bytes under the App Secret', () => {
    expect(checkSignature(body, signatureHeader(body, secret), secret)).to.equal('valid');
    expect(
      checkSignature(body, signatureHeader(body, secret).toUpperCase().replace('SHA256', 'sha256'), secret),
    ).to.equal('valid');
  });

  it('refuses a missing, malformed or wrong signature, and one over other bytes', () => {
    expect(checkSignature(body, undefined, secret)).to.equal('missing');
    expect(checkSignature(body, '', secret)).to.equal('missing');
    expect(checkSignature(body, 'sha1=abcdef', secret)).to.equal('malformed');
    expect(checkSignature(body, 'sha256=zz', secret)).to.equal('malformed');
    expect(checkSignature(body, signatureHeader(body, 'other-secret'), secret)).to.equal('mismatch');
    const reserialised = Buffer.from(JSON.stringify(JSON.parse(body.toString()), null, 2));
    expect(checkSignature(reserialised, signatureHeader(body, secret), secret)).to.equal('mismatch');
  });
});

describe('Cloud API webhook subscription handshake', () => {
  const query = { 'hub.mode': 'subscribe', 'hub.verify_token': 'verify-me', 'hub.challenge': '1158201444' };

  it('echoes the challenge when the mode is subscribe and the token matches', () => {
    expect(checkSubscription(query, 'verify-me')).to.deep.equal({ ok: true, challenge: '1158201444' });
  });

  it('refuses a wrong token, another mode, no challenge, or no configured token', () => {
    expect(checkSubscription({ ...query, 'hub.verify_token': 'verify-m' }, 'verify-me')).to.deep.equal({
      ok: false,
      reason: 'bad_token',
    });
    expect(checkSubscription({ ...query, 'hub.verify_token': ['verify-me'] }, 'verify-me')).to.include({
      reason: 'bad_token',
    });
    expect(checkSubscription({ ...query, 'hub.mode': 'unsubscribe' }, 'verify-me')).to.include({ reason: 'bad_mode' });
    expect(checkSubscription({ ...query, 'hub.challenge': undefined }, 'verify-me')).to.include({
      reason: 'no_challenge',
    });
    expect(checkSubscription(query, null)).to.include({ reason: 'not_configured' });
    expect(checkSubscription({ ...query, 'hub.verify_token': '' }, '')).to.include({ reason: 'not_configured' });
  });
});
