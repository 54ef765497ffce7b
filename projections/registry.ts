import { auditLogProjection } from './audit/auditLog.js';
import { accountsProjection } from './identity/accounts.js';
import { loginLocksProjection } from './identity/loginLocks.js';
import { sessionsProjection } from './identity/sessions.js';
import { metricsProjection } from './metrics/metrics.js';
import { secretsProjection } from './secrets/secrets.js';
import { chatMessagesProjection } from './messaging/chatMessages.js';
import { chatsProjection } from './messaging/chats.js';
import { numbersProjection } from './messaging/numbers.js';
import { outboundQueueProjection } from './messaging/outboundQueue.js';
import { llmControlProjection } from './llm/llmControl.js';
import { llmProvidersProjection } from './llm/llmProviders.js';
import { scheduledMessagesProjection } from './scheduling/scheduledMessages.js';
import { whatsappConnectionsProjection } from './whatsapp/connections.js';
import { numberRuntimeProjection } from './runtime/numberRuntime.js';
import type { Projection } from './shared/projection.js';

/**
 * Every projection the runner runs and the CLI can rebuild. Add yours here: one import, one entry
 * (one file per projection, e.g. projections/identity/accounts.ts).
 */
export const allProjections = (): Projection[] => [
  accountsProjection,
  sessionsProjection,
  loginLocksProjection,
  auditLogProjection,
  metricsProjection,
  secretsProjection,
  numbersProjection,
  chatsProjection,
  chatMessagesProjection,
  outboundQueueProjection,
  llmProvidersProjection,
  llmControlProjection,
  scheduledMessagesProjection,
  whatsappConnectionsProjection,
  numberRuntimeProjection,
];
