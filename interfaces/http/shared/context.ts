import type { Request } from 'express';
import type { CommandContext } from '#application/shared/commandHandler.js';
import { currentContext, newCorrelationId } from '#infrastructure/logging/context.js';

/** Who and where a request came from, for event metadata: the correlation id rides along. */
export const commandContext = (
  req: Request,
  actor?: string,
): CommandContext & { ip: string | null; userAgent: string | null } => {
  const context = currentContext();
  return {
    correlationId: context?.correlationId ?? newCorrelationId(),
    causationId: null,
    actor: actor ?? context?.actor ?? 'anonymous',
    ip: req.ip ?? null,
    userAgent: req.get('user-agent')?.slice(0, 512) ?? null,
  };
};
