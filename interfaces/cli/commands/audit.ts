import { AUDIT_OUTCOMES } from '#projections/audit/auditEntries.js';
import { auditLogProjection, queryAuditLog, streamAuditLog, type AuditFilters } from '#projections/audit/auditLog.js';
import { verifyAuditTrail, type AuditDivergence, type AuditVerification } from '#projections/audit/verify.js';
import { CliError, type CliCommand } from '../context.js';
import { table } from '../table.js';

const show = (value: unknown): string => (value === undefined ? '(none)' : JSON.stringify(value));
const actionOf = (row: Record<string, unknown> | null): string =>
  typeof row?.action === 'string' ? row.action : 'audit';

/** One line an operator can act on: where, which event, what differs. */
export const describeDivergence = (divergence: AuditDivergence, verifiedBefore: number): string => {
  const where = `audit trail DIVERGES at seq ${divergence.seq}${divergence.eventId ? ` (event ${divergence.eventId})` : ''}`;
  const before = ` [${verifiedBefore} entr${verifiedBefore === 1 ? 'y' : 'ies'} verified before it]`;
  const { expected, actual } = divergence;
  switch (divergence.kind) {
    case 'content': {
      const diffs = divergence.columns.map(
        (column) =>
          `${column} is ${show(actual?.[column])} in the table, the event store says ${show(expected?.[column])}`,
      );
      return `${where}: ${diffs.join('; ')}${before}`;
    }
    case 'missing':
      return `${where}: the ${actionOf(expected)} entry is missing from the table${before}`;
    case 'unexpected_row':
      return `${where}: a ${actionOf(actual)} row that no event in the store accounts for${before}`;
    case 'broken_link':
      return `${where}: prev_hash is not the hash of the entry before it (rows removed or reordered)${before}`;
    case 'hash_mismatch':
      return `${where}: the stored hash ${String(actual?.hash).slice(0, 16)}... is not the recomputed ${String(expected?.hash).slice(0, 16)}...${before}`;
    default: {
      const _exhaustive: never = divergence.kind;
      return `${where}: ${String(_exhaustive)}${before}`;
    }
  }
};

const time = (value: string | undefined, option: string): Date | undefined => {
  if (value === undefined) return undefined;
  // a zone is required: the same command must mean the same instant on every machine
  // eslint-disable-next-line security/detect-unsafe-regex -- anchored, optional groups start with distinct literals: linear
  const parsed = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2}))?$/i.test(value)
    ? new Date(value)
    : new Date(Number.NaN);
  if (Number.isNaN(parsed.getTime()))
    throw new CliError(
      `${option} must be an ISO-8601 date or time with a zone, e.g. 2026-03-01 or 2026-03-01T10:00:00Z (got ${value})`,
    );
  return parsed;
};

type ListOptions = {
  actor?: string;
  action?: string;
  target?: string;
  correlationId?: string;
  outcome?: string;
  since?: string;
  until?: string;
  limit: string;
  ndjson?: boolean;
};

const filtersOf = (options: ListOptions): AuditFilters => {
  if (options.outcome !== undefined && !(AUDIT_OUTCOMES as readonly string[]).includes(options.outcome)) {
    throw new CliError(`--outcome must be one of ${AUDIT_OUTCOMES.join(', ')}`);
  }
  return {
    actor: options.actor,
    action: options.action,
    target: options.target,
    correlationId: options.correlationId,
    outcome: options.outcome as AuditFilters['outcome'],
    from: time(options.since, '--since'),
    to: time(options.until, '--until'),
  };
};

/** `chatbot audit verify` and `chatbot audit list`: the tamper-evident trail of security and admin events. */
export const auditCommand: CliCommand = (program, context) => {
  const audit = program.command('audit').description('the tamper-evident audit trail of security and admin events');

  audit
    .command('verify')
    .description(
      'recompute the audit trail and its hash chain from the event store and report the first divergence (exit 1)',
    )
    .option('--json', 'machine-readable result on stdout')
    .action((options: { json?: boolean }) =>
      context.withInfrastructure(async ({ db, store }) => {
        let lastReport = Date.now();
        const result: AuditVerification = await verifyAuditTrail({
          db,
          store,
          onProgress: (verified) => {
            if (Date.now() - lastReport < 1_000) return;
            lastReport = Date.now();
            context.io.err(`audit: ${verified} entries verified`);
          },
        });
        if (options.json) context.io.out(JSON.stringify(result, null, 2));
        if (!result.ok) throw new CliError(describeDivergence(result.divergence, result.entries));
        if (!options.json) {
          const head = await store.headPosition();
          const lag =
            head > result.position
              ? `; events after position ${result.position} are not projected yet (store head ${head})`
              : '';
          context.io.out(
            `audit trail OK: ${result.entries} entries match the event store and the hash chain is intact (up to position ${result.position}${lag})`,
          );
        }
      }),
    );

  audit
    .command('list')
    .description('show audit entries, newest first (or all matching ones as NDJSON, oldest first)')
    .option('--actor <id>', 'who acted (account id, or system/anonymous)')
    .option('--action <action>', 'e.g. login.failed, or a prefix like login.*')
    .option('--target <target>', 'account id, session id, secret name, process name...')
    .option('--correlation-id <id>', 'one request, chat turn or login, across processes')
    .option('--outcome <outcome>', AUDIT_OUTCOMES.join('|'))
    .option('--since <time>', 'from this instant (inclusive), ISO-8601 with a zone')
    .option('--until <time>', 'up to this instant (exclusive), ISO-8601 with a zone')
    .option('--limit <n>', 'most entries shown in the table (1-500)', '50')
    .option('--ndjson', 'every matching entry, one JSON object per line (no limit)')
    .action((options: ListOptions) => {
      const filters = filtersOf(options);
      const limit = /^\d{1,3}$/.test(options.limit) ? Number(options.limit) : Number.NaN;
      if (!(limit >= 1 && limit <= 500))
        throw new CliError(`--limit must be a whole number from 1 to 500 (got ${options.limit})`);
      return context.withReadModels([auditLogProjection.name], async ({ db }) => {
        if (options.ndjson) {
          for await (const entry of streamAuditLog(db.knex, filters)) context.io.out(JSON.stringify(entry));
          return;
        }
        const { entries, nextSeq } = await queryAuditLog(db.knex, { ...filters, limit });
        if (entries.length === 0) {
          context.io.out('no matching audit entries');
          return;
        }
        const rows = entries.map((e) => [
          String(e.seq),
          e.occurred_at,
          e.actor,
          e.action,
          e.target ?? '-',
          e.ip ?? '-',
          e.outcome,
          e.correlation_id ?? '-',
        ]);
        context.io.out(table(['SEQ', 'TIME', 'ACTOR', 'ACTION', 'TARGET', 'IP', 'OUTCOME', 'CORRELATION'], rows));
        if (nextSeq !== null) context.io.err(`(more entries: raise --limit, narrow the filters, or use --ndjson)`);
      });
    });
};
