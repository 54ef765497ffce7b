import { auditLogProjection } from './audit/auditLog.js';
import { accountsProjection } from './identity/accounts.js';
import { metricsProjection } from './metrics/metrics.js';
import { secretsProjection } from './secrets/secrets.js';
import type { Projection } from './shared/projection.js';

/**
 * Every projection the runner runs and the CLI can rebuild. Add yours here: one import, one entry
 * (one file per projection, e.g. projections/identity/accounts.ts).
 */
export const allProjections = (): Projection[] => [
  accountsProjection,
  auditLogProjection,
  metricsProjection,
  secretsProjection,
];
