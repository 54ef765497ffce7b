import { checkMigrationList, type Migration } from './migration.js';
import projectionCheckpoints from './202511270001_projection_checkpoints.js';
import accounts from './202511270002_accounts.js';
import secrets from './202511270004_secrets.js';
import auditLog from './202511270005_audit_log.js';
import metricsSnapshot from './202511290701_metrics_snapshot.js';
import sessionsAndLoginLocks from './202511290801_sessions_and_login_locks.js';
import llm from './202511291100_llm.js';
import messaging from './202511291201_messaging.js';
import scheduledMessages from './202511291340_scheduled_messages.js';
import whatsappWeb from './202511291341_whatsapp_web.js';
import runtimeControl from './202511291501_runtime_control.js';
import projectionRebuilds from './202511291801_projection_rebuilds.js';
import contactKeys from './202511291802_contact_keys.js';
import legacyRedaction from './202511301715_legacy_redaction.js';

/**
 * EVERY migration, oldest first: add yours at the END (one file each, named
 * `<yyyymmddNNNN>_<what>.ts`, default-exporting a Migration). Listed statically, not globbed, so the
 * same list runs under tsx and from a compiled dist/.
 */
export const migrations: readonly Migration[] = checkMigrationList([
  projectionCheckpoints,
  accounts,
  secrets,
  auditLog,
  metricsSnapshot,
  sessionsAndLoginLocks,
  llm,
  messaging,
  scheduledMessages,
  whatsappWeb,
  runtimeControl,
  projectionRebuilds,
  contactKeys,
  legacyRedaction,
]);

export type { Migration } from './migration.js';
