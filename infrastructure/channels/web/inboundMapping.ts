import type { proto, WAMessage } from 'baileys';
import type { DeliveryStatus, InboundKind, InboundMessage } from '#application/messaging/channel.js';

/**
 * baileys' WAMessage (messages.upsert) -> the channel port's InboundMessage; null for what the bot does
 * not answer: our own messages, status broadcasts, newsletters, protocol messages (key distribution,
 * history sync notices, revokes) and messages without content.
 */
export const inboundOf = (numberId: string, message: WAMessage): InboundMessage | null => {
  const key = message.key;
  if (!key?.id || key.fromMe) return null;
  const jid = key.remoteJidAlt?.endsWith('@s.whatsapp.net') ? key.remoteJidAlt : key.remoteJid;
  if (!jid || jid === 'status@broadcast' || jid.endsWith('@broadcast') || jid.endsWith('@newsletter')) return null;
  // Groups: the bot answers people, not groups (a later issue may add them).
  if (jid.endsWith('@g.us')) return null;
  const content = unwrap(message.message);
  if (!content) return null;
  const read = readContent(content);
  if (read === null) return null;
  const seconds = Number(message.messageTimestamp ?? 0);
  const from = jid.endsWith('@s.whatsapp.net') ? jid.split('@')[0]!.split(':')[0]! : jid;
  return {
    numberId,
    providerMessageId: key.id,
    from,
    contactName: message.pushName ?? null,
    kind: read.kind,
    text: read.text,
    sentAt: new Date(seconds > 0 ? seconds * 1000 : 0).toISOString(),
  };
};

const unwrap = (content: proto.IMessage | null | undefined): proto.IMessage | null | undefined =>
  content?.ephemeralMessage?.message ??
  content?.viewOnceMessage?.message ??
  content?.viewOnceMessageV2?.message ??
  content?.documentWithCaptionMessage?.message ??
  content;

const readContent = (m: proto.IMessage): { kind: InboundKind; text: string } | null => {
  if (typeof m.conversation === 'string' && m.conversation !== '') return { kind: 'text', text: m.conversation };
  if (m.extendedTextMessage?.text) return { kind: 'text', text: m.extendedTextMessage.text };
  const captioned = (kind: InboundKind, caption: string | null | undefined) => ({
    kind,
    text: caption ? `[${kind}] ${caption}` : `[${kind}]`,
  });
  if (m.imageMessage) return captioned('image', m.imageMessage.caption);
  if (m.videoMessage) return captioned('video', m.videoMessage.caption);
  if (m.audioMessage) return captioned('audio', null);
  if (m.documentMessage) return captioned('document', m.documentMessage.caption ?? m.documentMessage.fileName);
  if (m.stickerMessage) return captioned('sticker', null);
  if (m.locationMessage || m.liveLocationMessage) return captioned('location', null);
  if (m.contactMessage || m.contactsArrayMessage) return captioned('contacts', null);
  if (m.reactionMessage) return { kind: 'reaction', text: `[reaction] ${m.reactionMessage.text ?? ''}`.trim() };
  if (m.buttonsResponseMessage?.selectedDisplayText)
    return { kind: 'interactive', text: m.buttonsResponseMessage.selectedDisplayText };
  if (m.listResponseMessage?.title) return { kind: 'interactive', text: m.listResponseMessage.title };
  if (m.protocolMessage || m.senderKeyDistributionMessage) return null;
  return { kind: 'unsupported', text: '[unsupported]' };
};

/** proto.WebMessageInfo.Status -> our delivery status (PENDING is not news). */
export const deliveryStatusOf = (status: number | null | undefined): DeliveryStatus | null => {
  switch (status) {
    case 0:
      return 'failed';
    case 2:
      return 'sent';
    case 3:
      return 'delivered';
    case 4:
    case 5:
      return 'read';
    default:
      return null;
  }
};
