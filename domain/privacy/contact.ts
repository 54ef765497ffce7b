import type { Decider } from '#domain/shared/event.js';
import type { ContactForgotten, LegacyPersonalDataEncrypted, MessageContentExpired } from './events.js';

/**
 * Contact aggregate, stream `contact-<chatId>`: forgetting. Forgetting is always allowed, again too (a
 * contact who wrote again after being forgotten can be forgotten again; a retry after a failure destroys
 * what is left): the keys are destroyed before the event is appended, so the event never claims more
 * than was done.
 */
export type ContactState = Readonly<{ forgottenTimes: number }>;
export type ForgetContact = Readonly<{
  type: 'ForgetContact';
  data: Readonly<{ chatId: string; numberId: string; keysDestroyed: number; by: string }>;
}>;

export const contactDecider: Decider<ContactState, ForgetContact, ContactForgotten> = {
  initialState: () => ({ forgottenTimes: 0 }),
  decide: (command) => [{ type: 'ContactForgotten', data: { ...command.data } }],
  evolve: (state, event) => (event.type === 'ContactForgotten' ? { forgottenTimes: state.forgottenTimes + 1 } : state),
};

/**
 * Retention runs, stream `privacy-retention`: each run that destroyed content keys is recorded (the keys
 * are destroyed first, as for forgetting).
 */
export type RetentionState = Readonly<{ runs: number }>;
export type RecordContentExpiry = Readonly<{
  type: 'RecordContentExpiry';
  data: Readonly<{ before: string; retentionDays: number; keysDestroyed: number; by: string }>;
  /** the cut-off moved: content in clear (from before crypto-shredding) of the days before it is erased too */
  cutoffMoved?: boolean;
}>;

export const retentionDecider: Decider<RetentionState, RecordContentExpiry, MessageContentExpired> = {
  initialState: () => ({ runs: 0 }),
  decide: (command) =>
    command.data.keysDestroyed > 0 || command.cutoffMoved === true
      ? [{ type: 'MessageContentExpired', data: { ...command.data } }]
      : [],
  evolve: (state, event) => (event.type === 'MessageContentExpired' ? { runs: state.runs + 1 } : state),
};

/** Legacy encryption runs, stream `privacy-legacy`: every run is recorded, with its counts (zero too). */
export type LegacyEncryptionState = Readonly<{ runs: number }>;
export type RecordLegacyEncryption = Readonly<{
  type: 'RecordLegacyEncryption';
  data: LegacyPersonalDataEncrypted['data'];
}>;

export const legacyEncryptionDecider: Decider<
  LegacyEncryptionState,
  RecordLegacyEncryption,
  LegacyPersonalDataEncrypted
> = {
  initialState: () => ({ runs: 0 }),
  decide: (command) => [{ type: 'LegacyPersonalDataEncrypted', data: { ...command.data } }],
  evolve: (state, event) => (event.type === 'LegacyPersonalDataEncrypted' ? { runs: state.runs + 1 } : state),
};
