import { handleCommand, type CommandContext } from '#application/shared/commandHandler.js';
import type { EventStore } from '#application/shared/eventStore.js';
import type { Runtime } from '#application/shared/runtime.js';
import { chatIdFor } from '#application/messaging/ids.js';
import { normaliseRecipient } from '#domain/messaging/recipient.js';
import { contactDecider, legacyEncryptionDecider, retentionDecider } from '#domain/privacy/contact.js';
import { contactStreamId, LEGACY_STREAM, RETENTION_STREAM } from '#domain/privacy/events.js';
import { retentionCutoff } from '#domain/privacy/personalData.js';
import { DomainError } from '#domain/shared/event.js';
import type { ContactKeyStore, LegacyEncryptionCounts, LegacyPersonalData, NumberIds } from './ports.js';

export type PrivacyDeps = { store: EventStore; keys: ContactKeyStore; runtime: Runtime };

export class UnknownNumberError extends DomainError {
  readonly kind = 'not_found' as const;
  constructor(numberId: string) {
    super('number_not_found', `number ${numberId} does not exist`, { numberId });
  }
}

/** Every number ever added (removed ones too: their chats hold data), from the event store itself. */
export const numberIdsFromStore = async (store: EventStore): Promise<string[]> => {
  const ids = new Set<string>();
  let after = 0;
  for (;;) {
    const page = await store.readAll({ after, maxCount: 1000, filter: { eventTypes: ['NumberAdded'] } });
    for (const event of page) if (typeof event.data.numberId === 'string') ids.add(event.data.numberId);
    if (page.length < 1000) break;
    after = page[page.length - 1]!.position;
  }
  return [...ids].sort();
};

export type ForgetResult = {
  /** one per number the contact was forgotten on */
  chats: { chatId: string; numberId: string; keysDestroyed: number; eventId: string }[];
};

/**
 * Forgets a contact (GDPR erasure) on one number, or on every number: destroys the contact's keys, then
 * records ContactForgotten (audited; it names the chat, never the phone number). The read models drop the
 * contact's rows when they apply it. The phone number is used here only to derive the chat id.
 */
export const forgetContact = async (
  deps: PrivacyDeps & { numberIds: NumberIds },
  request: { contact: string; numberId?: string },
  context: CommandContext,
): Promise<ForgetResult> => {
  const contact = normaliseRecipient(request.contact);
  const known = await deps.numberIds();
  if (request.numberId !== undefined && !known.includes(request.numberId))
    throw new UnknownNumberError(request.numberId);
  const numberIds = request.numberId === undefined ? known : [request.numberId];
  const chats: ForgetResult['chats'] = [];
  for (const numberId of numberIds) {
    const chatId = chatIdFor(numberId, contact);
    const keysDestroyed = await deps.keys.destroyChat(chatId);
    const result = await handleCommand(
      deps.store,
      contactStreamId(chatId),
      contactDecider,
      () => ({ type: 'ForgetContact' as const, data: { chatId, numberId, keysDestroyed, by: context.actor } }),
      context,
      { runtime: deps.runtime },
    );
    chats.push({ chatId, numberId, keysDestroyed, eventId: result.eventIds[0]! });
  }
  return { chats };
};

/**
 * Retention: destroys the content keys of the days older than `retentionDays` (message texts of those
 * days then read as "[erased]"); an audited MessageContentExpired when anything was destroyed, or when the
 * cut-off moved (legacy content in clear of those days reads as "[erased]" from then on, and the read
 * models erase their copies when they apply the event).
 */
export const expireMessageContent = async (
  deps: PrivacyDeps,
  retentionDays: number,
  context: CommandContext,
): Promise<{ before: string; keysDestroyed: number }> => {
  const before = retentionCutoff(deps.runtime.clock(), retentionDays);
  const { keysDestroyed, cutoffMoved } = await deps.keys.destroyContentBefore(before);
  await handleCommand(
    deps.store,
    RETENTION_STREAM,
    retentionDecider,
    () => ({
      type: 'RecordContentExpiry' as const,
      data: { before, retentionDays, keysDestroyed, by: context.actor },
      cutoffMoved,
    }),
    context,
    { runtime: deps.runtime },
  );
  return { before, keysDestroyed };
};

/**
 * Encrypts in place the personal data of the events appended before crypto-shredding existed (once, after
 * upgrading; again is harmless), then records the run with its counts, audited (LegacyPersonalDataEncrypted).
 * Until it has run, forgetting a contact leaves its legacy events readable.
 */
export const encryptLegacyPersonalData = async (
  deps: Omit<PrivacyDeps, 'keys'> & { legacy: LegacyPersonalData },
  context: CommandContext,
): Promise<LegacyEncryptionCounts & { eventId: string }> => {
  const counts = await deps.legacy.encryptAll();
  const result = await handleCommand(
    deps.store,
    LEGACY_STREAM,
    legacyEncryptionDecider,
    () => ({ type: 'RecordLegacyEncryption' as const, data: { ...counts, by: context.actor } }),
    context,
    { runtime: deps.runtime },
  );
  return { ...counts, eventId: result.eventIds[0]! };
};
