import { Router, type RequestHandler } from 'express';
import { z } from 'zod';
import type { SecretMetadata } from '#application/secrets/ports.js';
import { deleteSecret, storeSecret, type SecretsDeps } from '#application/secrets/secrets.js';
import type { Authenticator } from '#application/identity/sessions.js';
import { SECRET_NAME_RULE } from '#domain/secrets/errors.js';
import { SECRET_KINDS, type SecretKind } from '#domain/secrets/events.js';
import { isValidSecretName } from '#domain/secrets/secret.js';
import { commandContext } from '../shared/context.js';
import { parseInput } from '../shared/validate.js';
import { authOf, requireAuth } from '../identity/authenticate.js';
import { rejectOddText } from '../shared/text.js';

// The domain's rule and its wording, checked at the edge so that a bad name is a field error like the body's.
const Name = z.string().refine(isValidSecretName, SECRET_NAME_RULE);
const Kind = z.enum(SECRET_KINDS as [SecretKind, ...SecretKind[]]);
// The value's size is checked by storeSecret (413, in UTF-8 bytes); zod only insists on a string.
export const PutBody = z.object({ value: z.string().min(1), kind: Kind }).strict();

export type SecretsRoutesOptions = {
  auth: Authenticator;
  secrets: SecretsDeps;
  /** read side: the secrets read model (projections/secrets/secrets.ts) */
  listSecrets: () => Promise<SecretMetadata[]>;
};

// Responses about secrets are never worth caching anywhere.
const noStore: RequestHandler = (_req, res, next) => {
  res.set('Cache-Control', 'no-store');
  next();
};

/**
 * /api/secrets, admins only. Values go in (PUT) and never come out: the list has names, kinds, key
 * fingerprints and dates, not values and not ciphertext.
 */
export const secretsRoutes = ({ auth, secrets, listSecrets }: SecretsRoutesOptions): Router => {
  const router = Router();
  router.use('/api/secrets', rejectOddText());
  const admin = requireAuth(auth, 'admin');

  router.get('/api/secrets', noStore, admin, async (_req, res) => {
    res.json({ secrets: await listSecrets(), currentKeyFingerprint: secrets.cipher?.currentKeyFingerprint ?? null });
  });

  router.put('/api/secrets/:name', noStore, admin, async (req, res) => {
    const name = parseInput(Name, req.params.name, 'secret name');
    const body = parseInput(PutBody, req.body);
    await storeSecret(
      secrets,
      { name, kind: body.kind, value: body.value },
      commandContext(req, authOf(req).accountId),
    );
    res.status(204).end();
  });

  router.delete('/api/secrets/:name', noStore, admin, async (req, res) => {
    const name = parseInput(Name, req.params.name, 'secret name');
    await deleteSecret(secrets, name, commandContext(req, authOf(req).accountId));
    res.status(204).end();
  });

  return router;
};
