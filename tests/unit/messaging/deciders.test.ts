import { expect } from 'chai';
import { chatDecider } from '#domain/messaging/chat.js';
import {
  InvalidNumberId,
  InvalidRecipient,
  MessageNotDeadLettered,
  NumberAlreadyExists,
  NumberNotFound,
} from '#domain/messaging/errors.js';
import type { ChatEvent, NumberEvent, OutboundEvent } from '#domain/messaging/events.js';
import { numberDecider } from '#domain/messaging/number.js';
import { outboundDecider } from '#domain/messaging/outbound.js';
import { normaliseRecipient, windowOpen } from '#domain/messaging/recipient.js';
import { deciderSpec } from '../support/decider.js';

const numbers = deciderSpec(numberDecider);
const chats = deciderSpec(chatDecider);
const outbound = deciderSpec(outboundDecider);

const add = (ifAbsent = false) => ({
  type: 'AddNumber' as const,
  data: {
    numberId: 'sales',
    name: 'Sales',
    kind: 'simulator' as const,
    credentialsSecret: null,
    phoneNumberId: null,
    by: 'admin-1',
    ifAbsent,
  },
});
const added: NumberEvent = {
  type: 'NumberAdded',
  data: {
    numberId: 'sales',
    name: 'Sales',
    kind: 'simulator',
    credentialsSecret: null,
    phoneNumberId: null,
    by: 'admin-1',
  },
};

describe('number aggregate', () => {
  it('adds a number once; a second add is a conflict, a startup default leaves it alone', () => {
    numbers.given([]).when(add()).then([added]);
    numbers.given([added]).when(add()).thenThrows(NumberAlreadyExists, { numberId: 'sales' });
    numbers.given([added]).when(add(true)).thenNothing();
  });

  it('refuses an id that cannot be a stream name', () => {
    numbers
      .given([])
      .when({ ...add(), data: { ...add().data, numberId: 'Sales Team!' } })
      .thenThrows(InvalidNumberId);
  });

  it('disables, enables and removes; unknown numbers are 404', () => {
    const disable = { type: 'DisableNumber' as const, data: { numberId: 'sales', by: 'admin-1' } };
    const disabled: NumberEvent = { type: 'NumberDisabled', data: { numberId: 'sales', by: 'admin-1' } };
    numbers.given([added]).when(disable).then([disabled]);
    numbers.given([added, disabled]).when(disable).thenNothing();
    numbers
      .given([added, disabled])
      .when({ type: 'EnableNumber', data: { numberId: 'sales', by: 'admin-1' } })
      .thenState((state) => expect(state.status).to.equal('active'));
    numbers.given([]).when(disable).thenThrows(NumberNotFound);
    const removed = numbers
      .given([added])
      .when({ type: 'RemoveNumber', data: { numberId: 'sales', by: 'admin-1' } })
      .then([{ type: 'NumberRemoved', data: { numberId: 'sales', by: 'admin-1' } }]);
    numbers
      .given([added, ...removed])
      .when(add())
      .then([added]);
  });
});

const receive = (providerMessageId: string, sentAt = '2026-01-01T10:00:00.000Z') => ({
  type: 'ReceiveMessage' as const,
  data: {
    messageId: `m-${providerMessageId}`,
    numberId: 'sales',
    chatId: 'c1',
    contact: '34600000001',
    contactName: null,
    providerMessageId,
    kind: 'text' as const,
    text: 'hola',
    sentAt,
  },
});
const received = (providerMessageId: string, sentAt?: string): ChatEvent => ({
  type: 'MessageReceived',
  data: { ...receive(providerMessageId, sentAt).data },
});
const who = { chatId: 'c1', numberId: 'sales', contact: '34600000001', by: 'op-1' };

describe('chat aggregate', () => {
  it('records every inbound message whatever the history: its decision reads no state', () => {
    chats
      .given([])
      .when(receive('wamid.1'))
      .then([received('wamid.1')]);
    chats
      .given([received('wamid.1')])
      .when(receive('wamid.2'))
      .then([received('wamid.2')]);
    // A redelivery decides the same event again: the application appends it under an id derived from
    // (number, provider message id), so the store writes it once (tests/integration/messaging/bigChat.test.ts).
    chats
      .given([received('wamid.1')])
      .when(receive('wamid.1'))
      .then([received('wamid.1')]);
  });

  it('keeps a constant-size state however long the chat is (no set of every provider id)', () => {
    const history = Array.from({ length: 10_000 }, (_, i) => received(`wamid.${i}`));
    chats
      .given(history)
      .when(receive('wamid.new'))
      .thenState((state) => {
        expect(state.status === 'open' && state.receivedCount).to.equal(10_001);
        expect(Object.keys(state)).to.have.members([
          'status',
          'chatId',
          'numberId',
          'contact',
          'paused',
          'lastInboundAt',
          'receivedCount',
        ]);
      });
  });

  it('keeps the time of the last inbound message for the 24-hour window', () => {
    chats
      .given([received('a', '2026-01-01T10:00:00.000Z')])
      .when(receive('b', '2026-01-01T12:00:00.000Z'))
      .thenState((state) => {
        expect(state.status === 'open' && state.lastInboundAt).to.equal('2026-01-01T12:00:00.000Z');
      });
  });

  it('pauses and resumes the bot; repeating either changes nothing', () => {
    const pause = { type: 'PauseConversation' as const, data: who };
    const paused: ChatEvent = { type: 'ConversationPaused', data: who };
    chats
      .given([received('a')])
      .when(pause)
      .then([paused]);
    chats
      .given([received('a'), paused])
      .when(pause)
      .thenNothing();
    chats
      .given([received('a'), paused])
      .when({ type: 'ResumeConversation', data: who })
      .then([{ type: 'ConversationResumed', data: who }]);
    chats
      .given([received('a')])
      .when({ type: 'ResumeConversation', data: who })
      .thenNothing();
    // A chat that so far only has outbound messages can be paused too.
    chats.given([]).when(pause).then([paused]);
  });
});

const ids = { messageId: 'msg-1', numberId: 'sales', chatId: 'c1' };
const queued: OutboundEvent = {
  type: 'MessageQueued',
  data: {
    ...ids,
    to: '34600000001',
    text: 'hola',
    template: null,
    source: 'manual',
    idempotencyKey: 'k1',
    inReplyTo: null,
    by: 'op-1',
  },
};
const queueCommand = { type: 'QueueMessage' as const, data: { ...queued.data } } as const;
const attempted = (attempt: number, afterInDoubt = false): OutboundEvent => ({
  type: 'MessageSendAttempted',
  data: { ...ids, attempt, worker: 'w1', afterInDoubt },
});
const start = { type: 'StartSendAttempt' as const, data: { worker: 'w1' } };
const failure = (attempt: number, retryable = true, maxAttempts = 3) => ({
  type: 'RecordSendOutcome' as const,
  data: {
    attempt,
    outcome: { status: 'failed' as const, retryable, code: '130429', error: 'rate limit hit' },
    maxAttempts,
    nextAttemptAt: '2026-01-01T10:00:02.000Z',
  },
});
const failed = (attempt: number, nextAttemptAt: string | null, retryable = true): OutboundEvent => ({
  type: 'MessageSendFailed',
  data: { ...ids, attempt, retryable, code: '130429', error: 'rate limit hit', nextAttemptAt },
});

describe('outbound message aggregate', () => {
  it('queues once: the same idempotency key (same message id) queues nothing new', () => {
    outbound.given([]).when(queueCommand).then([queued]);
    outbound.given([queued]).when(queueCommand).thenNothing();
  });

  it('records the attempt before the call and the provider id after it', () => {
    outbound
      .given([queued])
      .when(start)
      .then([attempted(1)]);
    outbound
      .given([queued, attempted(1)])
      .when({
        type: 'RecordSendOutcome',
        data: {
          attempt: 1,
          outcome: { status: 'sent', providerMessageId: 'wamid.X' },
          maxAttempts: 3,
          nextAttemptAt: '2026-01-01T10:00:02.000Z',
        },
      })
      .then([
        { type: 'MessageSent', data: { ...ids, attempt: 1, providerMessageId: 'wamid.X', resolvedFromStatus: false } },
      ]);
  });

  it('retries a retryable failure and dead-letters after the last attempt', () => {
    outbound
      .given([queued, attempted(1)])
      .when(failure(1))
      .then([failed(1, '2026-01-01T10:00:02.000Z')]);
    const history = [queued, attempted(1), failed(1, 'x'), attempted(2), failed(2, 'x'), attempted(3)];
    outbound
      .given(history)
      .when(failure(3))
      .then([
        failed(3, null),
        { type: 'MessageDeadLettered', data: { ...ids, attempts: 3, reason: 'max_attempts', code: '130429' } },
      ]);
  });

  it('dead-letters a permanent error at once', () => {
    outbound
      .given([queued, attempted(1)])
      .when(failure(1, false))
      .then([
        failed(1, null, false),
        { type: 'MessageDeadLettered', data: { ...ids, attempts: 1, reason: 'permanent_error', code: '130429' } },
      ]);
  });

  it('ignores a stale outcome and attempts on a message that left the queue', () => {
    outbound
      .given([queued, attempted(1), attempted(2, true)])
      .when(failure(1))
      .thenNothing();
    const sent: OutboundEvent = {
      type: 'MessageSent',
      data: { ...ids, attempt: 1, providerMessageId: 'p', resolvedFromStatus: false },
    };
    outbound
      .given([queued, attempted(1), sent])
      .when(start)
      .thenNothing();
  });

  it('an attempt whose outcome was never recorded is in doubt: resolved by an echoed status, else resent', () => {
    outbound
      .given([queued, attempted(1)])
      .when(start)
      .then([attempted(2, true)]);
    const status: OutboundEvent = {
      type: 'MessageStatusUpdated',
      data: { ...ids, providerMessageId: 'wamid.Y', status: 'delivered', at: 't', errorCode: null, errorTitle: null },
    };
    outbound
      .given([queued, attempted(1), status])
      .when(start)
      .then([
        { type: 'MessageSent', data: { ...ids, attempt: 1, providerMessageId: 'wamid.Y', resolvedFromStatus: true } },
      ]);
  });

  it('an admin requeues or drops a dead letter; a queued or sent message is not requeued', () => {
    const dead: OutboundEvent = {
      type: 'MessageDeadLettered',
      data: { ...ids, attempts: 1, reason: 'permanent_error', code: '131026' },
    };
    const history = [queued, attempted(1), failed(1, null, false), dead];
    outbound
      .given(history)
      .when({ type: 'RequeueMessage', data: { by: 'admin-1' } })
      .thenState((state, events) => {
        expect(events.map((e) => e.type)).to.deep.equal(['MessageRequeued']);
        expect(state.status).to.equal('queued');
      });
    // attempt numbers keep counting after a requeue, so outcomes of old attempts stay stale
    outbound
      .given([...history, { type: 'MessageRequeued', data: { ...ids, by: 'admin-1' } }])
      .when(start)
      .then([attempted(2)]);
    outbound
      .given(history)
      .when({ type: 'DropMessage', data: { by: 'admin-1' } })
      .then([{ type: 'MessageDropped', data: { ...ids, by: 'admin-1' } }]);
    outbound
      .given([queued])
      .when({ type: 'RequeueMessage', data: { by: 'admin-1' } })
      .thenThrows(MessageNotDeadLettered, { status: 'queued' });
  });

  it('records each delivery status once', () => {
    const status = {
      type: 'RecordDeliveryStatus' as const,
      data: { providerMessageId: 'p', status: 'read' as const, at: 't', errorCode: null, errorTitle: null },
    };
    const [updated] = outbound
      .given([queued])
      .when(status)
      .then([{ type: 'MessageStatusUpdated', data: { ...ids, ...status.data } }]);
    outbound.given([queued, updated!]).when(status).thenNothing();
    outbound.given([]).when(status).thenNothing();
  });
});

describe('recipients and the customer service window', () => {
  it('accepts E.164 and JIDs, normalised', () => {
    expect(normaliseRecipient('+34 600-00-00-01')).to.equal('34600000001');
    expect(normaliseRecipient('34600000001@S.WHATSAPP.NET')).to.equal('34600000001@s.whatsapp.net');
    expect(normaliseRecipient('120363025246125486@g.us')).to.equal('120363025246125486@g.us');
  });

  it('refuses what is neither, without echoing it', () => {
    for (const bad of ['', 'abc', '+0123456789', '1234', '1'.repeat(16), 'x@example.com', 42, null]) {
      const error = (() => {
        try {
          normaliseRecipient(bad);
        } catch (e) {
          return e as InvalidRecipient;
        }
        return null;
      })();
      expect(error, String(bad)).to.be.instanceOf(InvalidRecipient);
      expect(error!.message).not.to.include(String(bad) || '\u0000');
    }
  });

  it('is open for 24 hours after the last inbound message', () => {
    const now = new Date('2026-01-02T10:00:00.000Z');
    expect(windowOpen('2026-01-01T10:00:01.000Z', now)).to.equal(true);
    expect(windowOpen('2026-01-01T10:00:00.000Z', now)).to.equal(false);
    expect(windowOpen(null, now)).to.equal(false);
  });
});
