import { Router } from 'express';
import type { Knex } from 'knex';
import { z } from 'zod';
import {
  addNumber,
  disableNumber,
  enableNumber,
  removeNumber,
  type NumbersDeps,
} from '#application/messaging/numbers.js';
import type { Authenticator } from '#application/identity/sessions.js';
import { listNumbers } from '#projections/messaging/numbers.js';
import { commandContext } from '../shared/context.js';
import { parseInput } from '../shared/validate.js';
import { webPairingRoutes } from './webPairingRoutes.js';
import { authOf, requireAuth } from '../identity/authenticate.js';

const NumberId = z.string().regex(/^[a-z0-9][a-z0-9-]{0,31}$/, 'is 1-32 characters of a-z, 0-9 or dash');
export const AddBody = z.discriminatedUnion('kind', [
  z.object({ id: NumberId, name: z.string().min(1).max(100), kind: z.literal('simulator') }).strict(),
  z
    .object({
      id: NumberId,
      name: z.string().min(1).max(100),
      kind: z.literal('cloud'),
      phoneNumberId: z.string().regex(/^\d{5,32}$/, 'is the numeric phone-number id from Meta'),
      accessToken: z.string().min(10).max(4096),
    })
    .strict(),
  z.object({ id: NumberId, name: z.string().min(1).max(100), kind: z.literal('web') }).strict(),
]);

export type NumbersRoutesOptions = {
  auth: Authenticator;
  knex: Knex;
  numbers: NumbersDeps;
  /** WHATSAPP_WEB_QR_MAX: what the pairing view says before a Web number's first QR */
  maxQrAttempts?: number;
};

/** /api/numbers: admins add, disable, enable and remove numbers (audited); credentials become Fernet secrets. */
export const numbersRoutes = ({ auth, knex, numbers, maxQrAttempts }: NumbersRoutesOptions): Router => {
  const router = Router();
  router.use(webPairingRoutes({ auth, knex, numbers, maxQrAttempts: maxQrAttempts ?? 5 }));
  const admin = requireAuth(auth, 'admin');
  const anyRole = requireAuth(auth);

  router.get('/api/numbers', anyRole, async (_req, res) => {
    res.json({ numbers: await listNumbers(knex) });
  });

  router.post('/api/numbers', admin, async (req, res) => {
    const body = parseInput(AddBody, req.body);
    const { number } = await addNumber(
      numbers,
      {
        numberId: body.id,
        name: body.name,
        kind: body.kind,
        phoneNumberId: body.kind === 'cloud' ? body.phoneNumberId : null,
        accessToken: body.kind === 'cloud' ? body.accessToken : null,
      },
      commandContext(req, authOf(req).accountId),
    );
    res.status(201).json({
      numberId: number.numberId,
      name: number.name,
      kind: number.kind,
      status: number.status,
      hasCredentials: number.credentialsSecret !== null,
    });
  });

  const actions = { disable: disableNumber, enable: enableNumber } as const;
  for (const [action, run] of Object.entries(actions))
    router.post(`/api/numbers/:id/${action}`, admin, async (req, res) => {
      const id = parseInput(NumberId, req.params.id, 'number id');
      const changed = await run(numbers, id, commandContext(req, authOf(req).accountId));
      res.json({ id, changed });
    });

  router.delete('/api/numbers/:id', admin, async (req, res) => {
    const id = parseInput(NumberId, req.params.id, 'number id');
    await removeNumber(numbers, id, commandContext(req, authOf(req).accountId));
    res.status(204).end();
  });

  return router;
};
