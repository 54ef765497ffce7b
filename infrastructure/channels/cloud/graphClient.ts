/**
 * The WhatsApp Cloud API channel, outbound: `POST {graphUrl}/{apiVersion}/{phone-number-id}/messages`
 * with the number's access token as bearer. One adapter serves every cloud number; each send looks up
 * that number's phone number id and token.
 *
 * `send` never throws for an answer of Meta or the network: it returns sent (with the wamid), or a
 * failure classified as retryable or permanent (metaErrors.ts). A timeout or a dropped connection is a
 * send *in doubt* (Meta may have accepted it): it is reported retryable, and because every send carries
 * our message id in `biz_opaque_callback_data`, the status webhook that echoes it tells the messaging
 * context what really happened. Neither the token nor the message text is ever logged.
 */
import type {
  ChannelAdapter,
  ChannelLimits,
  OutboundContent,
  SendOutcome,
  SendRequest,
} from '#application/messaging/channel.js';
import type { Clock } from '#application/shared/runtime.js';
import { classifyGraphError, parseRetryAfter, safeMessage } from './metaErrors.js';

export type CloudCredentials = {
  /** Meta's id of the business phone number (not the phone number itself) */
  phoneNumberId: string;
  accessToken: string;
};

export type CloudAdapterOptions = {
  /** e.g. https://graph.facebook.com (tests: a local server); no trailing slash needed */
  graphUrl: string;
  /** e.g. v21.0 */
  apiVersion: string;
  /** the number's credentials, or null when the number has none (a permanent failure) */
  credentials: (numberId: string) => Promise<CloudCredentials | null> | CloudCredentials | null;
  clock: Clock;
  /** per call, connection to last byte; default 10 s */
  timeoutMs?: number;
  limits?: Partial<ChannelLimits>;
  /** the fetch to use; default the global one (undici) */
  fetch?: typeof fetch;
};

/** Cloud API defaults: Meta's default tier is 80 msgs/s per number; the pair rate limit allows about one
 *  message every 6 s to the same user, sustained; a text body holds at most 4096 characters. */
export const CLOUD_LIMITS: ChannelLimits = {
  messagesPerSecond: 80,
  minGapPerRecipientMs: 6_000,
  maxTextLength: 4096,
};

const DEFAULT_TIMEOUT_MS = 10_000;

/** The request body exactly as Meta documents it; `biz_opaque_callback_data` carries our message id. */
export const cloudMessageBody = (request: Pick<SendRequest, 'messageId' | 'to' | 'content'>) => ({
  messaging_product: 'whatsapp',
  recipient_type: 'individual',
  // Meta wants the number in international format; a leading '+' is tolerated, but we send digits only.
  to: request.to.replace(/^\+/, ''),
  ...contentFields(request.content),
  biz_opaque_callback_data: request.messageId,
});

const contentFields = (content: OutboundContent) => {
  switch (content.kind) {
    case 'text':
      return { type: 'text', text: { preview_url: false, body: content.text } };
    case 'template':
      return {
        type: 'template',
        template: {
          name: content.template.name,
          language: { code: content.template.language },
          ...(content.template.components !== undefined ? { components: content.template.components } : {}),
        },
      };
    default: {
      const _exhaustive: never = content;
      throw new Error('unknown outbound content');
    }
  }
};

const failed = (retryable: boolean, code: string, message: string): SendOutcome => ({
  status: 'failed',
  retryable,
  code,
  message,
});

const readJson = (text: string): unknown => {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
};

const wamidOf = (body: unknown): string | null => {
  const messages = (body as { messages?: unknown } | null | undefined)?.messages;
  const id = Array.isArray(messages) ? (messages[0] as { id?: unknown } | undefined)?.id : undefined;
  return typeof id === 'string' && id !== '' ? id : null;
};

export const createCloudAdapter = (options: CloudAdapterOptions): ChannelAdapter => {
  const base = options.graphUrl.replace(/\/+$/, '');
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const doFetch = options.fetch ?? fetch;
  const limits: ChannelLimits = { ...CLOUD_LIMITS, ...options.limits };

  const send = async (request: SendRequest): Promise<SendOutcome> => {
    let credentials: CloudCredentials | null;
    try {
      credentials = await options.credentials(request.numberId);
    } catch {
      // A store or key problem on our side; its text may quote what it failed to decrypt, so none is kept.
      return failed(true, 'credentials_unavailable', "This number's Cloud API credentials could not be read.");
    }
    if (credentials === null)
      return failed(false, 'not_configured', 'This number has no Cloud API phone number id or access token.');
    const url = `${base}/${options.apiVersion}/${encodeURIComponent(credentials.phoneNumberId)}/messages`;
    const signal = AbortSignal.timeout(timeoutMs);
    let response: Response;
    let text: string;
    try {
      response = await doFetch(url, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${credentials.accessToken}`,
          'content-type': 'application/json',
          accept: 'application/json',
        },
        body: JSON.stringify(cloudMessageBody(request)),
        signal,
        redirect: 'error',
      });
      // The timeout covers the body too: a server that sends headers and then stalls is a timeout.
      text = await response.text();
    } catch (error) {
      if (signal.aborted)
        return failed(true, 'timeout', `The Graph API did not answer within ${timeoutMs} ms; the send is in doubt.`);
      // Refused: never sent. Reset mid-request: Meta may have it. Both retryable; the webhook settles the latter.
      return failed(true, 'network', `The Graph API connection failed (${networkReason(error)}).`);
    }
    const body = readJson(text);
    if (response.ok) {
      const wamid = wamidOf(body);
      if (wamid !== null) return { status: 'sent', providerMessageId: wamid };
      // Accepted but unreadable: in doubt like a timeout; the status webhook resolves it by our message id.
      return failed(
        true,
        'invalid_response',
        `The Graph API answered HTTP ${response.status} without messages[0].id; the send is in doubt.`,
      );
    }
    const failure = classifyGraphError(
      response.status,
      body,
      parseRetryAfter(response.headers.get('retry-after'), options.clock()),
    );
    return { ...failure, message: withoutEchoes(failure.message, credentials.accessToken, request.content) };
  };

  return { kind: 'cloud', limits, send };
};

// Shorter texts are too likely to be ordinary words of Meta's message to be worth cutting out.
const MIN_ECHO = 12;

/** Meta's message with our own token and text cut out, should an error detail ever echo them. */
const withoutEchoes = (message: string, accessToken: string, content: OutboundContent): string => {
  const echoes = [accessToken, content.kind === 'text' ? content.text : null].filter(
    (echo): echo is string => echo !== null && echo.length >= MIN_ECHO,
  );
  return echoes.reduce((result, echo) => result.split(echo).join('[REDACTED]'), message);
};

/** The network error's code (ECONNRESET, ECONNREFUSED, UND_ERR_SOCKET, ...), never a URL or header. */
const networkReason = (error: unknown): string => {
  const cause = (error as { cause?: unknown } | null)?.cause;
  const code = (cause as { code?: unknown } | null | undefined)?.code ?? (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && /^[A-Z_]+$/.test(code)) return code;
  const message = error instanceof Error ? error.message : 'unknown error';
  return safeMessage(message);
};
