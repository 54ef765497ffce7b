/**
 * The contacts' data keys (crypto-shredding), kept apart from the events: destroying a key is what makes
 * what it encrypted unreadable in every event, copy and backup of the event store. Adapter:
 * infrastructure/privacy/contactKeys.ts.
 */
export interface ContactKeyStore {
  /** destroys every key of the chat (identity and every day of content); how many there were */
  destroyChat(chatId: string): Promise<number>;
  /**
   * destroys the content keys of every day before `day` (YYYY-MM-DD); identity keys stay. `cutoffMoved`:
   * the recorded cut-off moved forward, so content in clear (events from before crypto-shredding) of the
   * days up to it now reads as "[erased]" too, even when no key was destroyed
   */
  destroyContentBefore(day: string): Promise<{ keysDestroyed: number; cutoffMoved: boolean }>;
  /** re-wraps every key not under the newest FERNET_KEYS key (`chatbot secrets rotate`) */
  rewrap(): Promise<{ checked: number; rewrapped: number; failed: number }>;
}

/** The numbers known to the system (a contact is forgotten on each of them unless one is named). */
export type NumberIds = () => Promise<readonly string[]>;

/** What one run of the legacy encryption did (recorded in LegacyPersonalDataEncrypted). */
export type LegacyEncryptionCounts = {
  /** events of the catalogued personal types read */
  eventsScanned: number;
  /** events whose plaintext personal fields were rewritten in place */
  eventsRewritten: number;
  /** fields encrypted under their contact's live key (they read back unchanged) */
  fieldsEncrypted: number;
  /** fields whose key was already destroyed (chat forgotten, day past retention): now read as "[erased]" */
  fieldsShredded: number;
  /** events that changed between the read and the rewrite, left as they were (run again) */
  eventsChangedMeanwhile: number;
  /** keys destroyed again for chats forgotten, or days expired, while the run re-created keys */
  keysDestroyedAgain: number;
};

/**
 * The personal data of events appended before crypto-shredding existed, in clear in the log: encrypts it
 * in place (the only rewrite of the log). Adapter: infrastructure/privacy/legacyEncryption.ts.
 */
export interface LegacyPersonalData {
  encryptAll(): Promise<LegacyEncryptionCounts>;
}
