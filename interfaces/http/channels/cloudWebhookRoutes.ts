import express, { Router, type ErrorRequestHandler, type Request } from 'express';
import type { Logger } from 'winston';
import type { ChannelSink } from '#application/messaging/channel.js';
import {
  checkSignature,
  checkSubscription,
  CloudWebhookShapeError,
  normaliseCloudWebhook,
  type CloudWebhookBatch,
} from '#infrastructure/channels/cloud/webhook.js';
import { errorBody } from '../shared/errors.js';
import { errorResponse } from '../shared/openapiParts.js';

export type CloudWebhookRoutesOptions = {
  /** WHATSAPP_VERIFY_TOKEN; null refuses every verification handshake */
  verifyToken: string | null;
  /** WHATSAPP_APP_SECRET: the key of X-Hub-Signature-256 */
  appSecret: string;
  sink: ChannelSink;
  /** our number id for Meta's phone_number_id, or null when no cloud number has it */
  resolveNumber: (phoneNumberId: string) => string | null | Promise<string | null>;
  log: Pick<Logger, 'info' | 'warn' | 'error'>;
  /** largest body accepted; Meta batches up to about 1000 updates, well under the default 1mb */
  bodyLimit?: string;
  path?: string;
};

const who = (req: Request) => ({ ip: req.ip ?? null, userAgent: req.get('user-agent') ?? null });

/**
 * The Cloud API webhook, `GET` (subscription handshake) and `POST` (signed deliveries) on
 * /webhooks/whatsapp. The body is read raw and parsed only after its signature checked out, so this
 * router must be mounted *before* any JSON body parser (createHttpApp's `rawBodyRouters`).
 * Meta retries any non-2xx delivery, and the sink is idempotent on the WhatsApp message id, so a
 * delivery is acknowledged only after everything in it was handed on.
 */
export const cloudWebhookRoutes = (options: CloudWebhookRoutesOptions): Router => {
  const { sink, log } = options;
  const path = options.path ?? '/webhooks/whatsapp';
  const router = Router();

  router.get(path, (req, res) => {
    const check = checkSubscription(req.query, options.verifyToken);
    if (check.ok) {
      log.info('cloud webhook subscription verified', who(req));
      // Echoed text: plain and never sniffed as HTML, whatever middleware the app has.
      res.status(200).type('text/plain').set('X-Content-Type-Options', 'nosniff').send(check.challenge);
      return;
    }
    log.warn('SECURITY_WEBHOOK_VERIFY_REFUSED', { reason: check.reason, ...who(req) });
    res.status(403).json(errorBody('webhook_verification_failed', 'The webhook verification request was refused.'));
  });

  // Every content type is read raw: the signature, not the header, decides whether the bytes are Meta's.
  router.post(path, express.raw({ type: () => true, limit: options.bodyLimit ?? '1mb' }), async (req, res) => {
    const body: unknown = req.body;
    if (body !== undefined && !Buffer.isBuffer(body)) {
      // A JSON parser ran first: the raw bytes are gone and no signature can be checked. A wiring bug.
      log.error('cloud webhook mounted after a body parser; the raw body is unavailable');
      res.status(500).json(errorBody('internal_error', 'Internal server error.'));
      return;
    }
    const raw = body ?? Buffer.alloc(0);
    const signature = checkSignature(raw, req.get('x-hub-signature-256'), options.appSecret);
    if (signature !== 'valid') {
      log.warn('SECURITY_WEBHOOK_SIGNATURE_INVALID', { reason: signature, bytes: raw.length, ...who(req) });
      res
        .status(401)
        .json(errorBody('invalid_signature', 'The X-Hub-Signature-256 header is missing or does not match the body.'));
      return;
    }
    let batches: CloudWebhookBatch[];
    try {
      batches = normaliseCloudWebhook(JSON.parse(raw.toString('utf8')));
    } catch (error) {
      if (error instanceof SyntaxError) {
        log.warn('cloud webhook body is not JSON', { bytes: raw.length, ...who(req) });
        res.status(400).json(errorBody('malformed_json', 'The request body is not valid JSON.'));
        return;
      }
      if (error instanceof CloudWebhookShapeError) {
        log.warn('cloud webhook body is not a WhatsApp payload', { problems: error.problems, ...who(req) });
        res.status(400).json(
          errorBody('invalid_webhook', 'The request body is not a WhatsApp webhook payload.', {
            problems: error.problems,
          }),
        );
        return;
      }
      throw error;
    }
    try {
      const handed = await handOn(batches);
      res.status(200).json({ received: handed });
    } catch (error) {
      // Meta retries a non-2xx delivery; what was handed on already is deduplicated by the sink.
      log.error('cloud webhook could not be handed on', { error });
      res
        .status(503)
        .json(errorBody('webhook_unavailable', 'The webhook could not be recorded now; it will be retried.'));
    }
  });

  const handOn = async (batches: readonly CloudWebhookBatch[]): Promise<number> => {
    let handed = 0;
    for (const batch of batches) {
      const counts = { inbound: batch.inbound.length, statuses: batch.statuses.length };
      if (batch.errors.length > 0)
        log.warn('cloud webhook reports errors', { phoneNumberId: batch.phoneNumberId, codes: batch.errors });
      const numberId = await options.resolveNumber(batch.phoneNumberId);
      if (numberId === null) {
        log.warn('cloud webhook for an unknown phone number id, ignored', {
          phoneNumberId: batch.phoneNumberId,
          ...counts,
        });
        continue;
      }
      for (const message of batch.inbound) await sink.inbound({ ...message, numberId });
      for (const status of batch.statuses) await sink.status({ ...status, numberId });
      handed += counts.inbound + counts.statuses;
    }
    return handed;
  };

  // Body-reader errors (too large, aborted) on this route answer in the API's error shape, whatever the app.
  const bodyErrors: ErrorRequestHandler = (error: unknown, _req, res, next) => {
    const type = (error as { type?: unknown } | null)?.type;
    if (type === 'entity.too.large') {
      res.status(413).json(errorBody('payload_too_large', 'The request body is larger than the server accepts.'));
      return;
    }
    if (type === 'request.aborted' || type === 'request.size.invalid') {
      res.status(400).json(errorBody('bad_request', 'The request body could not be read.'));
      return;
    }
    next(error);
  };
  router.use(path, bodyErrors);

  return router;
};

/** The OpenAPI paths of this router, for openapi.ts's `paths` once the route is mounted. */
export const cloudWebhookOpenApiPaths = {
  '/webhooks/whatsapp': {
    get: {
      summary: "Meta's webhook verification handshake (WhatsApp Cloud API)",
      parameters: ['hub.mode', 'hub.verify_token', 'hub.challenge'].map((name) => ({
        name,
        in: 'query',
        required: true,
        schema: { type: 'string' },
      })),
      responses: {
        200: { description: 'hub.challenge, echoed', content: { 'text/plain': { schema: { type: 'string' } } } },
        403: errorResponse('Wrong mode or verify token, or no WHATSAPP_VERIFY_TOKEN configured'),
      },
    },
    post: {
      summary: 'WhatsApp Cloud API webhook delivery (messages and statuses), signed with X-Hub-Signature-256',
      parameters: [
        {
          name: 'X-Hub-Signature-256',
          in: 'header',
          required: true,
          schema: { type: 'string', pattern: '^sha256=[0-9a-f]{64}$' },
          description: 'HMAC-SHA256 of the raw body under WHATSAPP_APP_SECRET',
        },
      ],
      requestBody: { required: true, content: { 'application/json': { schema: { type: 'object' } } } },
      responses: {
        200: {
          description: 'Recorded (or ignored: unknown phone_number_id)',
          content: {
            'application/json': { schema: { type: 'object', properties: { received: { type: 'integer' } } } },
          },
        },
        400: errorResponse('Not JSON, or not a WhatsApp webhook payload'),
        401: errorResponse('Missing or wrong signature'),
        413: errorResponse('Body over the limit'),
        503: errorResponse('Could not be recorded now; Meta retries'),
      },
    },
  },
} as const;
