import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import { rotateAllSecrets, type SecretsLog } from '#application/secrets/secrets.js';
import { newCorrelationId } from '#infrastructure/logging/context.js';
import { rotateWebAuthState, type AuthRotation } from '#infrastructure/channels/web/authState.js';
import { optionalSecretCipher } from '#infrastructure/secrets/secretCipher.js';
import { systemRuntime } from '#infrastructure/shared/runtime.js';
import { listSecretMetadata, secretsProjection } from '#projections/secrets/secrets.js';
import { CliError, type CliCommand, type CliIo } from '../context.js';
import { table } from '../table.js';

// The CLI reports outcomes itself (summary line, failures on stderr); the events are the audit trail.
const quietLog: SecretsLog = { info: () => undefined, warn: () => undefined };

/** A bar on a terminal; on a pipe or in CI, a line at every tenth so logs stay short. */
const progressReporter = (io: CliIo, label: string) => {
  let bar: cliProgress.SingleBar | null = null;
  let lastTenth = -1;
  return {
    update(done: number, total: number) {
      if (io.interactive) {
        if (bar === null) {
          bar = new cliProgress.SingleBar(
            { format: `${label} [{bar}] {value}/{total}`, stream: io.errStream, hideCursor: true },
            cliProgress.Presets.shades_classic,
          );
          bar.start(total, done);
        } else {
          bar.setTotal(total);
          bar.update(done);
        }
        return;
      }
      const tenth = total === 0 ? 10 : Math.floor((done / total) * 10);
      if (tenth !== lastTenth) {
        lastTenth = tenth;
        io.err(`${label}: ${done}/${total}`);
      }
    },
    stop() {
      bar?.stop();
    },
  };
};

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** `chatbot secrets rotate` and `chatbot secrets list`. Neither ever prints a value or a ciphertext. */
export const secretsCommand: CliCommand = (program: Command, context) => {
  const secrets = program.command('secrets').description('secrets at rest (Fernet ciphertext, keys in FERNET_KEYS)');

  secrets
    .command('rotate')
    .description(
      're-encrypt every stored secret under the newest FERNET_KEYS key (safe to run again, or twice at once)',
    )
    .action(async () => {
      const { io } = context;
      const config = context.config();
      const cipher = optionalSecretCipher(config.fernetKeys);
      if (cipher === null)
        throw new CliError(
          'FERNET_KEYS is not set: put the new key first, then the old ones, comma-separated (e.g. FERNET_KEYS=new,old).',
        );
      let web: AuthRotation = { checked: 0, rotated: 0, current: 0, failed: 0 };
      let dataKeys = { checked: 0, rewrapped: 0, failed: 0 };
      const result = await context.withInfrastructure(async (infra) => {
        const progress = progressReporter(io, 'secrets');
        try {
          const rotated = await rotateAllSecrets(
            { store: infra.store, cipher, log: quietLog, runtime: systemRuntime },
            { correlationId: newCorrelationId(), actor: 'system', userAgent: 'chatbot-cli' },
            { onProgress: (done, total) => progress.update(done, total) },
          );
          // WhatsApp Web sessions (creds and signal keys): state, not secrets events, same keys
          web = await rotateWebAuthState(infra.db.knex, cipher);
          // the contacts' data keys (crypto-shredding) are wrapped under FERNET_KEYS too
          dataKeys = await infra.contactKeys.rewrap();
          return rotated;
        } finally {
          progress.stop();
        }
      });
      io.out(`re-encrypted ${plural(result.rotated, 'secret')} under key ${result.keyFingerprint}`);
      io.err(
        `${result.checked} checked: ${result.rotated} re-encrypted, ${result.current} already under ${result.keyFingerprint}, ${result.absent} deleted, ${result.failed.length} failed`,
      );
      for (const failure of result.failed)
        io.err(`  ${failure.name}: encrypted under key ${failure.keyFingerprint}, which is not in FERNET_KEYS`);
      if (web.checked > 0)
        io.err(
          `WhatsApp Web session keys: ${web.checked} checked: ${web.rotated} re-encrypted, ${web.current} already under ${result.keyFingerprint}, ${web.failed} failed`,
        );
      if (dataKeys.checked > 0)
        io.err(
          `contact data keys: ${dataKeys.checked} checked: ${dataKeys.rewrapped} re-wrapped, ${dataKeys.failed} failed`,
        );
      if (dataKeys.failed > 0)
        throw new CliError(
          `${plural(dataKeys.failed, 'contact data key')} could not be unwrapped with any key of FERNET_KEYS: add the missing key back (after the newest) and run again.`,
        );
      if (web.failed > 0)
        throw new CliError(
          `${plural(web.failed, 'WhatsApp Web session key')} could not be decrypted with any key of FERNET_KEYS: add the missing key back (after the newest) and run again.`,
        );
      if (result.failed.length > 0) {
        throw new CliError(
          `${plural(result.failed.length, 'secret')} could not be decrypted with any key of FERNET_KEYS: add the missing key back (after the newest) and run again.`,
        );
      }
      const older = cipher.keyFingerprints.slice(1);
      if (older.length > 0) {
        io.err(
          `Older keys (${older.join(', ')}) can leave FERNET_KEYS once every process runs with the new key first; run this again after restarting them, to catch values they stored meanwhile.`,
        );
      }
    });

  secrets
    .command('list')
    .description(
      'names, kinds, key fingerprints and dates of stored secrets (never values), from the read model (brought up to date first)',
    )
    .option('--json', 'one JSON document instead of a table')
    .action(async (options: { json?: boolean }) => {
      const { io } = context;
      const current = optionalSecretCipher(context.config().fernetKeys)?.currentKeyFingerprint ?? null;
      const rows = await context.withReadModels([secretsProjection.name], ({ db }) => listSecretMetadata(db.knex));
      if (options.json) {
        io.out(JSON.stringify({ secrets: rows, currentKeyFingerprint: current }, null, 2));
        return;
      }
      if (rows.length === 0) {
        io.out('no secrets stored');
        return;
      }
      const keyOf = (fingerprint: string) =>
        current === null || fingerprint === current ? fingerprint : `${fingerprint} (old)`;
      io.out(
        table(
          ['NAME', 'KIND', 'KEY', 'UPDATED'],
          rows.map((r) => [r.name, r.kind, keyOf(r.keyFingerprint), r.updatedAt]),
        ),
      );
      const stale = current === null ? 0 : rows.filter((r) => r.keyFingerprint !== current).length;
      if (stale > 0)
        io.err(`${plural(stale, 'secret')} not under the newest key ${current}: run \`chatbot secrets rotate\``);
    });
};
