import { randomUUID } from 'node:crypto';
import type { EventStore, NewEvent } from '#application/shared/eventStore.js';
import { accountDecider, DEFAULT_LOCKOUT_POLICY, type Account } from '#domain/identity/account.js';
import { accountStreamId, sessionStreamId } from '#domain/identity/events.js';
import { sessionDecider } from '#domain/identity/session.js';
import { chatDecider, type ChatState } from '#domain/messaging/chat.js';
import { chatStreamId, messageStreamId, numberStreamId } from '#domain/messaging/events.js';
import { numberDecider } from '#domain/messaging/number.js';
import { outboundDecider, type OutboundState } from '#domain/messaging/outbound.js';
import { llmTurnStreamId, type LlmTurnEvent } from '#domain/llm/events.js';
import type { Decider } from '#domain/shared/event.js';

/**
 * A history of the real event types, made by the real deciders (logins and sessions, inbound and
 * outbound messages with their delivery statuses, LLM calls): what the replay benchmark and the batch
 * apply tests fold. Deterministic in shape (not in ids); time advances 7 ms per step from `start`.
 */
export type WorkloadOptions = {
  /** stop once at least this many events were produced */
  events: number;
  accounts?: number;
  chats?: number;
  start?: Date;
  /** events per append call (one stream each); default 1 stream step */
  onProgress?: (events: number) => void;
};

export type Append = { streamId: string; events: NewEvent[] };

type Typed = { type: string; data: Readonly<Record<string, unknown>> };

/** Appends the workload to `store`, `concurrency` appends in flight; returns the number of events. */
export const appendWorkload = async (
  store: EventStore,
  options: WorkloadOptions & { concurrency?: number },
): Promise<number> => {
  let total = 0;
  const limit = options.concurrency ?? 8;
  // a slot per append in flight; a finished append hands its slot to the next (no Promise.race over
  // every pending append: with hundreds in flight that costs more than the appends)
  let active = 0;
  let failure: Error | null = null;
  const waiting: Array<() => void> = [];
  const pendingByStream = new Map<string, Promise<void>>();
  const pending = new Set<Promise<void>>();
  for (const batch of workload(options)) {
    if (failure !== null) break;
    // Appends of one stream stay in order: a stream's steps come out one after another, and each step
    // waits for the previous append of the same stream (tracked below).
    const previous = pendingByStream.get(batch.streamId);
    const run = (async () => {
      if (previous) await previous;
      await store.append(batch.streamId, batch.events);
    })();
    pendingByStream.set(batch.streamId, run);
    active += 1;
    const tracked = run
      .catch((error: unknown) => {
        failure ??= error instanceof Error ? error : new Error(String(error));
      })
      .finally(() => {
        pending.delete(tracked);
        if (pendingByStream.get(batch.streamId) === run) pendingByStream.delete(batch.streamId);
        active -= 1;
        waiting.shift()?.();
      });
    pending.add(tracked);
    total += batch.events.length;
    if (active >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
  }
  await Promise.all(pending);
  // set by the appends' callbacks, which TypeScript does not follow
  const failed = failure as Error | null;
  if (failed !== null) throw failed;
  return total;
};
/** The workload as appends, in the order they must be stored per stream. */
export function* workload(options: WorkloadOptions): Generator<Append> {
  const accountsCount = options.accounts ?? 200;
  const chatsCount = options.chats ?? 2_000;
  let clock = (options.start ?? new Date('2026-01-05T08:00:00.000Z')).getTime();
  const now = () => new Date((clock += 7)).toISOString();
  let produced = 0;
  const run = randomUUID().slice(0, 6);
  let correlationId = randomUUID();
  const envelope = (typed: Typed, actor: string, ip: string | null): NewEvent => ({
    id: randomUUID(),
    type: typed.type,
    data: typed.data,
    metadata: {
      correlationId,
      causationId: null,
      actor,
      ip,
      userAgent: 'replay-bench',
      occurredAt: new Date(clock).toISOString(),
      schemaVersion: 1,
    },
  });
  const step = <S, C>(
    decider: Decider<S, C, Typed>,
    state: S,
    command: C,
    streamId: string,
    actor = 'system',
    ip: string | null = null,
  ): { state: S; append: Append | null } => {
    const events = decider.decide(command, state);
    const next = events.reduce((s, e) => decider.evolve(s, e), state);
    if (events.length === 0) return { state: next, append: null };
    produced += events.length;
    return { state: next, append: { streamId, events: events.map((e) => envelope(e, actor, ip)) } };
  };
  const asDecider = <S, C>(decider: unknown) => decider as Decider<S, C, Typed>;

  // ---------- setup: accounts, numbers ----------
  const admin = randomUUID();
  const accounts: Array<{ id: string; state: Account }> = [];
  for (let i = 0; i < accountsCount; i++) {
    const id = i === 0 ? admin : randomUUID();
    now();
    const r = step(
      asDecider<Account, unknown>(accountDecider),
      accountDecider.initialState(),
      {
        type: 'CreateAccount',
        data: {
          accountId: id,
          username: `user${i}-${run}`,
          role: i === 0 ? 'admin' : 'operator',
          passwordHash: 'x',
          createdBy: admin,
        },
      },
      accountStreamId(id),
      admin,
    );
    accounts.push({ id, state: r.state });
    if (r.append) yield r.append;
  }
  const numbers = ['bench-a', 'bench-b', 'bench-c'];
  for (const numberId of numbers) {
    now();
    const r = step(
      asDecider<unknown, unknown>(numberDecider),
      numberDecider.initialState(),
      {
        type: 'AddNumber',
        data: { numberId, name: numberId, kind: 'simulator', credentialsSecret: null, phoneNumberId: null, by: admin },
      },
      numberStreamId(numberId),
      admin,
    );
    if (r.append) yield r.append;
  }
  const chats = new Map<string, ChatState>();

  // ---------- the mix: a login, an inbound message with an LLM call and its reply ----------
  for (let i = 0; produced < options.events; i++) {
    correlationId = randomUUID();
    const account = accounts[i % accounts.length]!;
    const ip = `10.0.${(i >> 8) & 255}.${i & 255}`;
    // a login: 1 in 8 with a wrong password
    const sessionId = randomUUID();
    const login = step(
      asDecider<Account, unknown>(accountDecider),
      account.state,
      {
        type: 'RecordLoginAttempt',
        data: {
          accountId: account.id,
          passwordMatches: i % 8 !== 3,
          ip,
          userAgent: 'bench',
          sessionId,
          now: now(),
          policy: DEFAULT_LOCKOUT_POLICY,
        },
      },
      accountStreamId(account.id),
      account.id,
      ip,
    );
    account.state = login.state;
    if (login.append) yield login.append;
    if (login.append?.events.some((e) => e.type === 'LoginSucceeded')) {
      now();
      const at = Date.parse(new Date(clock).toISOString());
      const started = step(
        asDecider<unknown, unknown>(sessionDecider),
        sessionDecider.initialState(),
        {
          type: 'StartSession',
          data: {
            sessionId,
            accountId: account.id,
            refreshTokenId: randomUUID(),
            expiresAt: new Date(at + 86_400_000).toISOString(),
            accessTokenId: randomUUID(),
            accessExpiresAt: new Date(at + 900_000).toISOString(),
          },
        },
        sessionStreamId(sessionId),
        account.id,
        ip,
      );
      if (started.append) yield started.append;
      if (i % 4 === 0) {
        now();
        const out = step(
          asDecider<unknown, unknown>(sessionDecider),
          started.state,
          { type: 'Logout', data: { sessionId, by: account.id } },
          sessionStreamId(sessionId),
          account.id,
          ip,
        );
        if (out.append) yield out.append;
      }
    }

    // an inbound message on one of the chats
    const c = i % chatsCount;
    const numberId = numbers[c % numbers.length]!;
    const contact = `+3460000${String(c).padStart(4, '0')}`;
    const chatId = `${numberId}:${contact}`;
    now();
    const received = step(
      asDecider<ChatState, unknown>(chatDecider),
      chats.get(chatId) ?? chatDecider.initialState(),
      {
        type: 'ReceiveMessage',
        data: {
          messageId: randomUUID(),
          numberId,
          chatId,
          contact,
          contactName: `Contact ${c}`,
          providerMessageId: `wamid.${i}`,
          kind: 'text',
          text: `hello number ${i}`,
          sentAt: new Date(clock - 1000).toISOString(),
        },
      },
      chatStreamId(chatId),
    );
    // the chat state keeps every provider id seen: keep it small, a fresh state remembers none
    chats.set(chatId, i % 50 === 0 ? chatDecider.initialState() : received.state);
    if (received.append) yield received.append;

    // the LLM call that answers it
    const turnId = randomUUID();
    const callId = randomUUID();
    now();
    const ok = i % 20 !== 7;
    const llm: LlmTurnEvent[] = [
      {
        type: 'LlmCallStarted',
        data: {
          turnId,
          callId,
          provider: 'openai',
          model: 'gpt-bench',
          attempt: 1,
          messages: 3,
          promptChars: 480,
          promptTokensEstimate: 120,
          chatId,
        },
      },
      ok
        ? ({
            type: 'LlmCallSucceeded',
            data: {
              turnId,
              callId,
              provider: 'openai',
              model: 'gpt-bench',
              attempt: 1,
              latencyMs: 300 + (i % 700),
              tokensIn: 120,
              tokensOut: 40 + (i % 60),
              costUsd: 0.0001 * (1 + (i % 9)),
              completionChars: 200,
            },
          } satisfies LlmTurnEvent)
        : ({
            type: 'LlmCallFailed',
            data: {
              turnId,
              callId,
              provider: 'openai',
              model: 'gpt-bench',
              attempt: 1,
              errorKind: 'timeout',
              status: null,
              latencyMs: 10_000,
              willRetry: false,
            },
          } satisfies LlmTurnEvent),
    ];
    produced += llm.length;
    yield { streamId: llmTurnStreamId(turnId), events: llm.map((e) => envelope(e, 'system', null)) };

    // the reply: queued, attempted, sent, delivered, read
    const messageId = randomUUID();
    let message: OutboundState = outboundDecider.initialState();
    const outbound = (command: unknown): Append | null => {
      now();
      const r = step(asDecider<OutboundState, unknown>(outboundDecider), message, command, messageStreamId(messageId));
      message = r.state;
      return r.append;
    };
    const sendOutcome =
      i % 10 === 5
        ? {
            status: 'failed' as const,
            retryable: true,
            code: '131000',
            error: 'provider unavailable',
          }
        : { status: 'sent' as const, providerMessageId: `wamid.out.${i}` };
    const replies = [
      outbound({
        type: 'QueueMessage',
        data: {
          messageId,
          numberId,
          chatId,
          to: contact,
          text: `reply ${i}`,
          template: null,
          source: 'bot',
          idempotencyKey: null,
          inReplyTo: null,
          by: 'system',
        },
      }),
      ...(i % 10 === 6
        ? []
        : [
            outbound({ type: 'StartSendAttempt', data: { worker: 'bench-worker' } }),
            outbound({
              type: 'RecordSendOutcome',
              data: {
                attempt: 1,
                outcome: sendOutcome,
                maxAttempts: 5,
                nextAttemptAt: new Date(clock + 1000).toISOString(),
              },
            }),
          ]),
      i % 10 === 5 || i % 10 === 6
        ? null
        : outbound({
            type: 'RecordDeliveryStatus',
            data: {
              providerMessageId: `wamid.out.${i}`,
              status: 'delivered',
              at: new Date(clock).toISOString(),
              errorCode: null,
              errorTitle: null,
            },
          }),
    ];
    // one message stream: the steps in one append keep it short
    const events = replies.flatMap((r) => r?.events ?? []);
    if (events.length > 0) yield { streamId: messageStreamId(messageId), events };
    options.onProgress?.(produced);
  }
}
