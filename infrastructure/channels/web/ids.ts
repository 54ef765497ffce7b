import { createHash } from 'node:crypto';

/**
 * The WhatsApp message id of one of our messages: derived from our message id (the MessageQueued
 * event's), in the shape WhatsApp Web uses itself ('3EB0' and 18 upper-case hex digits), so a resend
 * after a crash is the same WhatsApp message (the recipient's phone drops the duplicate) instead of a
 * second one.
 */
export const webMessageId = (messageId: string): string =>
  `3EB0${createHash('sha256').update(`chatbot-web:${messageId}`).digest('hex').slice(0, 18).toUpperCase()}`;

/** `34600000000` -> `34600000000@s.whatsapp.net`; a JID stays as it is. */
export const toJid = (recipient: string): string =>
  recipient.includes('@') ? recipient : `${recipient.replace(/^\+/, '')}@s.whatsapp.net`;
