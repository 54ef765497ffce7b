import type { Command } from 'commander';
import { encryptLegacyPersonalData, forgetContact, numberIdsFromStore } from '#application/privacy/privacy.js';
import { newCorrelationId } from '#infrastructure/logging/context.js';
import { systemRuntime } from '#infrastructure/shared/runtime.js';
import type { CliCommand } from '../context.js';
import { table } from '../table.js';

/**
 * `chatbot contacts forget <number> [--number <numberId>]`: GDPR erasure of a contact (actor 'system',
 * audited as ContactForgotten). Prints the chats forgotten, never the phone number back.
 */
export const contactsCommand: CliCommand = (program: Command, context) => {
  const contacts = program.command('contacts').description("a contact's personal data (crypto-shredding)");

  contacts
    .command('forget')
    .description(
      "destroy a contact's data keys: its phone number, name and messages then read as [erased] in every event, export and rebuilt read model",
    )
    .argument('<number>', 'the contact: E.164 digits (+ and spaces accepted) or a WhatsApp JID')
    .option('--number <numberId>', 'forget on this number only (default: every number)')
    .option('--json', 'one JSON document instead of a table')
    .action(async (contact: string, options: { number?: string; json?: boolean }) => {
      const { io } = context;
      const result = await context.withInfrastructure((infra) =>
        forgetContact(
          {
            store: infra.store,
            keys: infra.contactKeys,
            runtime: systemRuntime,
            numberIds: () => numberIdsFromStore(infra.store),
          },
          { contact, numberId: options.number },
          { correlationId: newCorrelationId(), actor: 'system', userAgent: 'chatbot-cli', ip: null },
        ),
      );
      if (options.json) {
        io.out(JSON.stringify({ forgotten: result.chats }, null, 2));
        return;
      }
      if (result.chats.length === 0) {
        io.out('no numbers: nothing to forget');
        return;
      }
      io.out(
        table(
          ['NUMBER', 'CHAT', 'KEYS DESTROYED'],
          result.chats.map((c) => [c.numberId, c.chatId, String(c.keysDestroyed)]),
        ),
      );
      io.err('the read models drop the contact when they apply ContactForgotten (the app does it within seconds)');
    });

  contacts
    .command('encrypt-legacy')
    .description(
      'once after upgrading: encrypt in place the phone numbers, names and texts of events appended before crypto-shredding existed (the only rewrite of the log, audited); fields of contacts already forgotten read as [erased]',
    )
    .option('--json', 'one JSON document instead of lines')
    .action(async (options: { json?: boolean }) => {
      const { io } = context;
      const result = await context.withInfrastructure((infra) =>
        encryptLegacyPersonalData(
          { store: infra.store, legacy: infra.legacyPersonalData, runtime: systemRuntime },
          { correlationId: newCorrelationId(), actor: 'system', userAgent: 'chatbot-cli', ip: null },
        ),
      );
      if (options.json) {
        io.out(JSON.stringify(result, null, 2));
        return;
      }
      io.out(
        table(
          ['SCANNED', 'REWRITTEN', 'FIELDS ENCRYPTED', 'FIELDS SHREDDED', 'CHANGED MEANWHILE', 'KEYS DESTROYED AGAIN'],
          [
            [
              result.eventsScanned,
              result.eventsRewritten,
              result.fieldsEncrypted,
              result.fieldsShredded,
              result.eventsChangedMeanwhile,
              result.keysDestroyedAgain,
            ].map(String),
          ],
        ),
      );
      if (result.eventsChangedMeanwhile > 0) io.err('some events changed during the run: run it again');
      io.err(`recorded as LegacyPersonalDataEncrypted ${result.eventId} (audit action events.legacy_encrypted)`);
    });
};
