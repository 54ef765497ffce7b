import { InvalidRecipient } from './errors.js';

/**
 * Recipients: E.164 (8-15 digits; a leading '+', spaces, dashes and parentheses are accepted and
 * dropped) or a WhatsApp JID (`<digits>@s.whatsapp.net`, `<id>@g.us`, `<id>@lid`). The normalised
 * form is what streams, read models and channels use, so "+34 600 00 00 00" and "34600000000" are the
 * same chat. Meta's business-scoped user ids (users with a username and no shared phone number) are
 * accepted as they are.
 */
const E164 = /^[1-9]\d{7,14}$/;
/** Meta's business-scoped user id, for users known by a username only (e.g. "US.13491208655302741918") */
const BSUID = /^[A-Z]{2}\.\d{6,40}$/;
// eslint-disable-next-line security/detect-unsafe-regex -- anchored, every quantifier bounded, alternatives start with distinct literals: linear
const JID = /^(?:[1-9]\d{7,14}(?::\d{1,3})?@s\.whatsapp\.net|[0-9-]{6,40}@g\.us|\d{6,20}@lid)$/;

export const normaliseRecipient = (raw: unknown): string => {
  if (typeof raw !== 'string' || raw.length > 64) throw new InvalidRecipient();
  const trimmed = raw.trim();
  if (BSUID.test(trimmed)) return trimmed;
  if (trimmed.includes('@')) {
    const jid = trimmed.toLowerCase();
    if (!JID.test(jid)) throw new InvalidRecipient();
    return jid;
  }
  const digits = trimmed.replace(/^\+/, '').replace(/[\s().-]/g, '');
  if (!E164.test(digits)) throw new InvalidRecipient();
  return digits;
};

export const isValidRecipient = (raw: unknown): boolean => {
  try {
    normaliseRecipient(raw);
    return true;
  } catch {
    return false;
  }
};

/** The Cloud API's customer service window: 24 hours from the contact's last message. */
export const CUSTOMER_SERVICE_WINDOW_MS = 24 * 60 * 60 * 1000;

export const windowOpen = (lastInboundAt: string | null, now: Date): boolean =>
  lastInboundAt !== null && now.getTime() - new Date(lastInboundAt).getTime() < CUSTOMER_SERVICE_WINDOW_MS;
