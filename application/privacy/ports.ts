/**
 * The contacts' data keys (crypto-shredding), kept apart from the events: destroying a key is what makes
 * what it encrypted unreadable in every event, copy and backup of the event store. Adapter:
 * infrastructure/privacy/contactKeys.ts.
 */
export interface ContactKeyStore {
  /** destroys every key of the chat (identity and every day of content); how many there were */
  destroyChat(chatId: string): Promise<number>;
  /** destroys the content keys of every day before `day` (YYYY-MM-DD); identity keys stay */
  destroyContentBefore(day: string): Promise<number>;
  /** re-wraps every key not under the newest FERNET_KEYS key (`chatbot secrets rotate`) */
  rewrap(): Promise<{ checked: number; rewrapped: number; failed: number }>;
}

/** The numbers known to the system (a contact is forgotten on each of them unless one is named). */
export type NumberIds = () => Promise<readonly string[]>;
