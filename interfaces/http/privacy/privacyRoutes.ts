import { Router } from 'express';
import { z } from 'zod';
import type { Authenticator } from '#application/identity/sessions.js';
import { forgetContact, type PrivacyDeps } from '#application/privacy/privacy.js';
import type { NumberIds } from '#application/privacy/ports.js';
import { commandContext } from '../shared/context.js';
import { parseInput } from '../shared/validate.js';
import { authOf, requireAuth } from '../identity/authenticate.js';

const NumberId = z.string().regex(/^[a-z0-9][a-z0-9-]{0,31}$/, 'is 1-32 characters of a-z, 0-9 or dash');
/** The body of POST /api/contacts/{number}/forget (and its OpenAPI schema). */
export const ForgetBody = z
  .object({ numberId: NumberId.optional().describe('forget on this number only (default: on every number)') })
  .strict();

export type PrivacyRoutesOptions = { auth: Authenticator; privacy: PrivacyDeps & { numberIds: NumberIds } };

/**
 * /api/contacts/{number}/forget: an admin forgets a contact (GDPR erasure, audited). The phone number is
 * in the path as the runbook's curl has it; the request log writes the route pattern for these paths.
 */
export const privacyRoutes = ({ auth, privacy }: PrivacyRoutesOptions): Router => {
  const router = Router();
  router.post('/api/contacts/:number/forget', requireAuth(auth, 'admin'), async (req, res) => {
    const body = parseInput(ForgetBody, req.body ?? {});
    const result = await forgetContact(
      privacy,
      { contact: String(req.params.number), numberId: body.numberId },
      commandContext(req, authOf(req).accountId),
    );
    res.json({
      forgotten: result.chats.map((c) => ({ chatId: c.chatId, numberId: c.numberId, keysDestroyed: c.keysDestroyed })),
    });
  });
  return router;
};
