import { Router } from 'express';
import type { Knex } from 'knex';
import { z } from 'zod';
import type { Authenticator } from '#application/identity/sessions.js';
import { activeNumber, loadNumber, type NumbersDeps } from '#application/messaging/numbers.js';
import { requestPairingCode } from '#application/whatsapp/connection.js';
import { NumberNotFound } from '#domain/messaging/errors.js';
import { WebNumberRequired } from '#domain/whatsapp/errors.js';
import { qrSvg } from '#infrastructure/channels/web/qr.js';
import { connectionOf } from '#projections/whatsapp/connections.js';
import { authOf, requireAuth } from '../identity/authenticate.js';
import { commandContext } from '../shared/context.js';
import { parseInput } from '../shared/validate.js';
import { jsonRequestBody } from '../shared/openapiSchema.js';

const NumberId = z.string().regex(/^[a-z0-9][a-z0-9-]{0,31}$/, 'is 1-32 characters of a-z, 0-9 or dash');
/** The phone of the WhatsApp account to link, in E.164 (the code is typed on that phone). */
export const PairingCodeBody = z
  .object({ phone: z.string().regex(/^\+[1-9]\d{7,14}$/, 'is an E.164 phone number: + and 8-15 digits') })
  .strict();

export type PairingState = 'idle' | 'qr' | 'code' | 'connected' | 'expired';

/** The console's live pairing view of a Web number (GET /api/numbers/{id}/pairing). */
export type PairingView = {
  numberId: string;
  state: PairingState;
  qr: string | null;
  /** the QR rendered as an SVG document */
  svg: string | null;
  pairingCode: string | null;
  attempt: number;
  maxAttempts: number;
  expiresAt: string | null;
};

const stateOf = (state: string | undefined): PairingState =>
  state === 'qr' || state === 'code' || state === 'connected' || state === 'expired' ? state : 'idle';

export const pairingView = async (knex: Knex, numberId: string, defaultMaxAttempts: number): Promise<PairingView> => {
  const row = await connectionOf(knex, numberId);
  const state = stateOf(row?.state);
  const qr = state === 'qr' ? (row?.qr ?? null) : null;
  return {
    numberId,
    state,
    qr,
    svg: qr === null ? null : await qrSvg(qr),
    pairingCode: state === 'code' ? (row?.pairingCode ?? null) : null,
    attempt: row?.qrAttempt ?? 0,
    maxAttempts: row?.maxAttempts || defaultMaxAttempts,
    expiresAt: state === 'qr' || state === 'code' ? (row?.expiresAt ?? null) : null,
  };
};

/**
 * Pairing a Web number from the console (admin only): the live QR (as text and as an SVG document),
 * and pairing by phone-number code, which is a request event the worker holding the number obeys.
 */
export const webPairingRoutes = (options: {
  auth: Authenticator;
  knex: Knex;
  numbers: NumbersDeps;
  maxQrAttempts: number;
}): Router => {
  const router = Router();
  const admin = requireAuth(options.auth, 'admin');
  const webNumber = async (raw: unknown) => {
    const id = parseInput(NumberId, raw, 'number id');
    const number = await loadNumber(options.numbers.store, id);
    if (number === null) throw new NumberNotFound(id);
    if (number.kind !== 'web') throw new WebNumberRequired(id, number.kind);
    return number;
  };

  router.get('/api/numbers/:id/pairing', admin, async (req, res) => {
    const number = await webNumber(req.params.id);
    res.set('Cache-Control', 'no-store');
    res.json(await pairingView(options.knex, number.numberId, options.maxQrAttempts));
  });

  router.post('/api/numbers/:id/pairing-code', admin, async (req, res) => {
    const number = await webNumber(req.params.id);
    const body = parseInput(PairingCodeBody, req.body);
    await activeNumber(options.numbers.store, number.numberId);
    const { requestId } = await requestPairingCode(
      options.numbers,
      { numberId: number.numberId, phone: body.phone },
      commandContext(req, authOf(req).accountId),
    );
    res.status(202).json({ numberId: number.numberId, requestId });
  });

  return router;
};

const error = (description: string) => ({
  description,
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
});
const security = [{ bearer: [] }];
const numberIdParameter = {
  name: 'id',
  in: 'path',
  required: true,
  schema: { type: 'string', pattern: '^[a-z0-9][a-z0-9-]{0,31}$' },
};
const adminErrors = { 401: error('No or bad access token'), 403: error('Needs the role admin') };

export const webPairingOpenApiPaths = {
  '/api/numbers/{id}/pairing': {
    get: {
      summary: "A Web number's live pairing: state, QR (text and SVG document), pairing code, attempts (admin)",
      security,
      parameters: [numberIdParameter],
      responses: {
        200: {
          description: 'Pairing state',
          content: {
            'application/json': {
              schema: {
                type: 'object',
                required: ['numberId', 'state', 'qr', 'svg', 'pairingCode', 'attempt', 'maxAttempts', 'expiresAt'],
                properties: {
                  numberId: { type: 'string' },
                  state: { enum: ['idle', 'qr', 'code', 'connected', 'expired'] },
                  qr: { type: ['string', 'null'] },
                  svg: { type: ['string', 'null'], description: 'the QR as an SVG document' },
                  pairingCode: { type: ['string', 'null'] },
                  attempt: { type: 'integer' },
                  maxAttempts: { type: 'integer' },
                  expiresAt: { type: ['string', 'null'], format: 'date-time' },
                },
              },
            },
          },
        },
        400: error('Bad number id'),
        404: error('Unknown number'),
        409: error('Not a number of kind web'),
        ...adminErrors,
      },
    },
  },
  '/api/numbers/{id}/pairing-code': {
    post: {
      summary: 'Pair a Web number by phone-number code instead of a QR (admin, audited); the worker obeys',
      security,
      parameters: [numberIdParameter],
      requestBody: jsonRequestBody(PairingCodeBody),
      responses: {
        202: { description: 'Requested: the code appears in GET /api/numbers/{id}/pairing' },
        400: error('Bad input'),
        404: error('Unknown number'),
        409: error('Not a number of kind web, or disabled'),
        ...adminErrors,
      },
    },
  },
};
