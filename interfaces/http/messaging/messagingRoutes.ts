import { Router, type Request } from 'express';
import type { Knex } from 'knex';
import { z } from 'zod';
import { resolveDeadLetter, setPaused, type ConversationDeps } from '#application/messaging/conversations.js';
import { receiveInbound, type InboundDeps } from '#application/messaging/inbound.js';
import { SIMULATOR_NUMBER_ID, activeNumber } from '#application/messaging/numbers.js';
import { queueMessage, type SendDeps } from '#application/messaging/send.js';
import type { Authenticator } from '#application/identity/sessions.js';
import { NotFoundError, ValidationError } from '#application/shared/errors.js';
import type { Runtime } from '#application/shared/runtime.js';
import { findChat, listChats } from '#projections/messaging/chats.js';
import { listChatMessages } from '#projections/messaging/chatMessages.js';
import { listDeadLetters } from '#projections/messaging/outboundQueue.js';
import { commandContext } from '../shared/context.js';
import { parseInput } from '../shared/validate.js';
import { authOf, requireAuth } from '../identity/authenticate.js';
import { whatsappStatus } from './status.js';

export const Text = z.string().min(1, 'must not be empty').max(4096, 'is longer than 4096 characters');
export const Template = z
  .object({
    name: z.string().regex(/^[a-z0-9_]{1,512}$/, 'is a template name (lowercase letters, digits, underscore)'),
    // eslint-disable-next-line security/detect-unsafe-regex -- anchored, two bounded character classes: linear
    language: z.string().regex(/^[a-z]{2,3}(_[A-Z]{2})?$/, 'is a language code such as es or en_US'),
    components: z.array(z.record(z.string(), z.unknown())).max(20).optional(),
  })
  .strict();
export const NumberId = z.string().regex(/^[a-z0-9][a-z0-9-]{0,31}$/, 'is a number id');
export const SendBody = z.union([
  z.object({ to: z.string().max(64), text: Text, number: NumberId.optional() }).strict(),
  z.object({ to: z.string().max(64), template: Template, number: NumberId.optional() }).strict(),
]);
export const SimulatorBody = z
  .object({
    from: z.string().max(64),
    text: Text,
    name: z.string().max(128).optional(),
    number: NumberId.optional(),
  })
  .strict();
export const IdempotencyKey = z.string().regex(/^[\x21-\x7e]{1,128}$/, 'is 1-128 visible ASCII characters');
const ChatId = z.uuid('is a chat id');
const MessageId = z.uuid('is a message id');
const Cursor = z
  .string()
  .regex(/^\d{1,18}$/, 'is a cursor from a previous page')
  .transform(Number)
  .optional();
export const ChatsQuery = z.object({
  number: NumberId.optional(),
  q: z.string().max(200).optional(),
  cursor: Cursor,
  limit: z.coerce.number().int().min(1).max(200).default(50),
});
export const MessagesQuery = z.object({
  q: z.string().max(200).optional(),
  cursor: Cursor,
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

export type MessagingRoutesOptions = {
  auth: Authenticator;
  knex: Knex;
  runtime: Runtime;
  send: SendDeps;
  inbound: InboundDeps;
  conversations: ConversationDeps;
  /** false when WHATSAPP_SIMULATOR=false: the simulator endpoint answers 404 */
  simulator: boolean;
};

/**
 * Messaging API: the simulator, manual sends, chats (read models), human takeover, dead letters and
 * the WhatsApp status the runbook reads. Message texts and phone numbers go into events and answers,
 * never into log lines.
 */
export const messagingRoutes = (options: MessagingRoutesOptions): Router => {
  const { auth, knex, runtime } = options;
  const router = Router();
  const anyRole = requireAuth(auth);
  const staff = requireAuth(auth, 'admin', 'operator');
  const admin = requireAuth(auth, 'admin');
  const context = (req: Request) => commandContext(req, authOf(req).accountId);

  router.post('/api/simulator/messages', staff, async (req, res) => {
    if (!options.simulator)
      throw new NotFoundError('The simulator is turned off (WHATSAPP_SIMULATOR=false).', 'simulator_disabled');
    const body = parseInput(SimulatorBody, req.body);
    const number = await activeNumber(options.inbound.store, body.number ?? SIMULATOR_NUMBER_ID);
    if (number.kind !== 'simulator')
      throw new ValidationError(
        `The number ${number.numberId} is not a simulator number.`,
        undefined,
        'not_a_simulator_number',
      );
    const received = await receiveInbound(
      options.inbound,
      {
        numberId: body.number ?? SIMULATOR_NUMBER_ID,
        providerMessageId: `sim-in.${runtime.newId()}`,
        from: body.from,
        contactName: body.name ?? null,
        kind: 'text',
        text: body.text,
        sentAt: runtime.clock().toISOString(),
      },
      context(req),
    );
    res.status(202).json({ messageId: received.messageId, chatId: received.chatId });
  });

  router.post('/api/whatsapp/send', staff, async (req, res) => {
    const body = parseInput(SendBody, req.body);
    const key = req.get('idempotency-key');
    const idempotencyKey = key === undefined ? null : parseInput(IdempotencyKey, key, 'Idempotency-Key header');
    const result = await queueMessage(
      options.send,
      {
        to: body.to,
        text: 'text' in body ? body.text : null,
        template: 'template' in body ? body.template : null,
        numberId: body.number ?? null,
        idempotencyKey,
        source: 'manual',
      },
      context(req),
    );
    res.status(202).json({
      messageId: result.messageId,
      chatId: result.chatId,
      number: result.numberId,
      status: 'queued',
      duplicate: result.duplicate,
    });
  });

  router.get('/api/whatsapp/status', anyRole, async (_req, res) => {
    res.json(await whatsappStatus(knex, runtime.clock()));
  });

  router.get('/api/whatsapp/dead-letters', anyRole, async (_req, res) => {
    res.json({ deadLetters: await listDeadLetters(knex) });
  });

  for (const action of ['retry', 'drop'] as const)
    router.post(`/api/whatsapp/dead-letters/:id/${action}`, admin, async (req, res) => {
      const id = parseInput(MessageId, req.params.id, 'message id');
      await resolveDeadLetter(options.conversations, id, action === 'retry' ? 'requeue' : 'drop', context(req));
      res.status(202).json({ messageId: id, action });
    });

  router.get('/api/chats', anyRole, async (req, res) => {
    const query = parseInput(ChatsQuery, req.query, 'query');
    res.json(
      await listChats(
        knex,
        { numberId: query.number, q: query.q, before: query.cursor, limit: query.limit },
        runtime.clock(),
      ),
    );
  });

  const chatOr404 = async (raw: unknown) => {
    const chatId = parseInput(ChatId, raw, 'chat id');
    const chat = await findChat(knex, chatId, runtime.clock());
    if (!chat) throw new NotFoundError(`There is no chat with id ${chatId}.`, 'chat_not_found');
    return chat;
  };

  router.get('/api/chats/:chatId', anyRole, async (req, res) => {
    res.json(await chatOr404(req.params.chatId));
  });

  router.get('/api/chats/:chatId/messages', anyRole, async (req, res) => {
    const chat = await chatOr404(req.params.chatId);
    const query = parseInput(MessagesQuery, req.query, 'query');
    res.json({
      chat,
      ...(await listChatMessages(knex, chat.chatId, { before: query.cursor, q: query.q, limit: query.limit })),
    });
  });

  for (const action of ['pause', 'resume'] as const)
    router.post(`/api/chats/:chatId/${action}`, staff, async (req, res) => {
      const chat = await chatOr404(req.params.chatId);
      const { changed } = await setPaused(options.conversations, chat, action === 'pause', context(req));
      res.json({ chatId: chat.chatId, paused: action === 'pause', changed });
    });

  return router;
};
