import { Router, type RequestHandler } from 'express';
import type { Logger } from 'winston';
import type { ChannelSink } from '#application/messaging/channel.js';
import type { MessagingQueries } from '#application/messaging/ports.js';
import { cloudWebhookRoutes } from '../channels/cloudWebhookRoutes.js';
import { errorBody } from '../shared/errors.js';

/**
 * /webhooks/whatsapp: the Cloud API channel's webhook when WHATSAPP_MODE is cloud or both (mounted
 * before the JSON parser: it checks the signature on the raw body), else a clear 404 on the same
 * paths, so the route is always there and always documented.
 */
export const cloudWebhook = (options: {
  mode: 'web' | 'cloud' | 'both';
  appSecret: string | null;
  verifyToken: string | null;
  sink: ChannelSink;
  queries: Pick<MessagingQueries, 'numbers'>;
  log: Pick<Logger, 'info' | 'warn' | 'error'>;
}): Router => {
  if (options.mode !== 'web' && options.appSecret !== null)
    return cloudWebhookRoutes({
      verifyToken: options.verifyToken,
      appSecret: options.appSecret,
      sink: options.sink,
      log: options.log,
      // Meta's phone_number_id -> our active cloud number with that id
      resolveNumber: async (phoneNumberId) =>
        (await options.queries.numbers()).find(
          (n) => n.kind === 'cloud' && n.status === 'active' && n.phoneNumberId === phoneNumberId,
        )?.numberId ?? null,
    });
  const router = Router();
  const notConfigured: RequestHandler = (_req, res) => {
    res
      .status(404)
      .json(
        errorBody(
          'cloud_channel_not_configured',
          'The WhatsApp Cloud API channel is not configured: set WHATSAPP_MODE=cloud (or both) and WHATSAPP_APP_SECRET.',
        ),
      );
  };
  router.get('/webhooks/whatsapp', notConfigured);
  router.post('/webhooks/whatsapp', notConfigured);
  return router;
};
