/**
 * The auto-reply port: how the bot answers one inbound message. The responder process manager
 * (messaging) calls it once per inbound `MessageReceived` of a chat that is not paused, and queues
 * what it returns as the reply (causation = the inbound event). Implementations: the rules
 * responder (keywords/regular expressions from a file, the offline default) and the LLM responder
 * (provider chain); a composite may ask the rules first for exact matches.
 */
export type ChatTurn = { role: 'contact' | 'bot'; text: string; at: string };

export type AutoReplyRequest = {
  numberId: string;
  chatId: string;
  /** the contact (E.164 without '+' or a JID) */
  contact: string;
  /** id of the inbound message being answered (the MessageReceived event's message id) */
  inboundMessageId: string;
  /** id of the MessageReceived event: the causation of everything the reply causes */
  inboundEventId: string;
  correlationId: string;
  text: string;
  /** recent turns of the chat, oldest first, the inbound message excluded */
  history: readonly ChatTurn[];
};

export type AutoReply = {
  text: string;
  /** which responder answered: 'rules', 'llm:<provider>', 'fallback' */
  source: string;
};

export interface AutoReplier {
  /** false: the replier ignores `history`, so the responder does not read it (default: it is read) */
  readonly usesHistory?: boolean;
  /** null: nothing to say (the message is stored, no reply is queued) */
  reply(request: AutoReplyRequest): Promise<AutoReply | null>;
}
