import type { Knex } from 'knex';
import type { ChatTurn } from '#application/messaging/autoReply.js';
import type {
  DueMessage,
  MessagingQueries,
  NumberInfo,
  NumberLeases,
  OutboundQueue,
  WorkerInfo,
} from '#application/messaging/ports.js';
import type { ProcessCheckpoints } from '#application/messaging/responder.js';
import type { ChannelKind, MessageTemplate } from '#domain/messaging/events.js';

/**
 * The worker's coordination in SQL. Claims and leases are rows with an expiry, taken with
 * `insert ... on conflict do update ... where <expired or ours>`: when two workers race for one row,
 * PostgreSQL re-checks the condition against the row the other committed, so exactly one wins.
 */
export const sqlOutboundQueue = (knex: Knex): OutboundQueue => {
  /** holds asked for in this tick and the next ones while a write is in flight: written together */
  let holds: Array<{ messageId: string; worker: string; until: Date; done: () => void; failed: (e: unknown) => void }> =
    [];
  let writing = false;
  const writeHolds = async () => {
    writing = true;
    try {
      while (holds.length > 0) {
        await new Promise((resolve) => setImmediate(resolve));
        const batch = holds;
        holds = [];
        // The newest hold per message wins; rows are locked in key order, as the claim and the queue
        // projection's delete lock them, so the three never deadlock.
        const latest = new Map(batch.map((h) => [`${h.worker}\u0000${h.messageId}`, h]));
        const rows = [...latest.values()];
        try {
          await knex.raw(
            `update outbound_claims c set lease_until = v.until
             from (select o.message_id, h.until
                   from outbound_claims o
                   join unnest(?::text[], ?::text[], ?::timestamptz[]) as h(id, worker, until)
                     on o.message_id = h.id and o.worker_id = h.worker
                   order by o.message_id
                   for update of o) v
             where c.message_id = v.message_id`,
            [rows.map((h) => h.messageId), rows.map((h) => h.worker), rows.map((h) => h.until.toISOString())],
          );
          for (const h of batch) h.done();
        } catch (error) {
          for (const h of batch) h.failed(error);
        }
      }
    } finally {
      writing = false;
    }
  };
  return {
    async due(numberIds, now, limit) {
      if (numberIds.length === 0) return [];
      const rows = await knex('outbound_queue as q')
        .leftJoin('outbound_claims as c', 'c.message_id', 'q.message_id')
        .where('q.status', 'queued')
        .andWhere('q.next_attempt_at', '<=', now)
        .whereIn('q.number_id', numberIds)
        .andWhere((w) => w.whereNull('c.message_id').orWhere('c.lease_until', '<', now))
        .orderBy([{ column: 'q.next_attempt_at' }, { column: 'q.position' }])
        .limit(limit)
        .select<Record<string, unknown>[]>(
          'q.message_id',
          'q.number_id',
          'q.chat_id',
          'q.recipient',
          'q.text',
          'q.template',
          'q.correlation_id',
          'q.queued_event_id',
        );
      return rows.map((row): DueMessage => ({
        messageId: row.message_id as string,
        numberId: row.number_id as string,
        chatId: row.chat_id as string,
        to: row.recipient as string,
        text: (row.text as string | null) ?? null,
        template: (row.template as MessageTemplate | null) ?? null,
        correlationId: (row.correlation_id as string | null) ?? null,
        queuedEventId: (row.queued_event_id as string | null) ?? null,
      }));
    },
    async claim(messageIds, worker, now, until) {
      if (messageIds.length === 0) return [];
      const result = await knex.raw<{ rows: Array<{ message_id: string }> }>(
        `insert into outbound_claims (message_id, worker_id, lease_until)
         select id, ?, ? from unnest(?::text[]) as ids(id) order by id
         on conflict (message_id) do update set worker_id = excluded.worker_id, lease_until = excluded.lease_until
         where outbound_claims.lease_until < ? or outbound_claims.worker_id = excluded.worker_id
         returning message_id`,
        [worker, until, [...new Set(messageIds)], now],
      );
      return result.rows.map((row) => row.message_id);
    },
    /** Coalesced: the holds of the sends that finish together go in one statement. */
    hold(messageId, worker, until) {
      return new Promise<void>((done, failed) => {
        holds.push({ messageId, worker, until, done, failed });
        if (!writing) void writeHolds();
      });
    },
    async release(messageId, worker) {
      await knex('outbound_claims').where({ message_id: messageId, worker_id: worker }).delete();
    },
  };
};

export const sqlNumberLeases = (knex: Knex): NumberLeases => ({
  async heartbeat(worker: WorkerInfo, now) {
    await knex('worker_heartbeats')
      .insert({
        worker_id: worker.workerId,
        role: worker.role,
        host: worker.host,
        pid: worker.pid,
        started_at: worker.startedAt,
        heartbeat_at: now,
      })
      .onConflict('worker_id')
      .merge(['heartbeat_at']);
  },
  async liveWorkers(since) {
    const row = await knex('worker_heartbeats').where('heartbeat_at', '>=', since).count<{ n: string }[]>('* as n');
    return Number(row[0]?.n ?? 0);
  },
  async acquire(numberId, worker, now, until) {
    const result = await knex.raw<{ rows: unknown[] }>(
      `insert into number_leases (number_id, worker_id, lease_until) values (?, ?, ?)
       on conflict (number_id) do update set worker_id = excluded.worker_id, lease_until = excluded.lease_until
       where number_leases.lease_until < ? or number_leases.worker_id = excluded.worker_id
       returning number_id`,
      [numberId, worker, until, now],
    );
    return result.rows.length === 1;
  },
  async release(numberId, worker) {
    await knex('number_leases').where({ number_id: numberId, worker_id: worker }).delete();
  },
  async held(worker, now) {
    const rows = await knex('number_leases')
      .where({ worker_id: worker })
      .andWhere('lease_until', '>=', now)
      .select<{ number_id: string }[]>('number_id');
    return rows.map((r) => r.number_id);
  },
  async holders(now) {
    const rows = await knex('number_leases')
      .where('lease_until', '>=', now)
      .select<{ number_id: string; worker_id: string }[]>('number_id', 'worker_id');
    return new Map(rows.map((r) => [r.number_id, r.worker_id]));
  },
  async stopWorker(worker) {
    await knex('worker_heartbeats').where({ worker_id: worker }).delete();
  },
});

export const sqlMessagingQueries = (knex: Knex): MessagingQueries => ({
  async numbers() {
    const rows = await knex('numbers')
      .whereIn('status', ['active', 'disabled'])
      .orderBy('number_id')
      .select<Record<string, unknown>[]>('*');
    return rows.map((row): NumberInfo => ({
      numberId: row.number_id as string,
      name: row.name as string,
      kind: row.kind as ChannelKind,
      status: row.status as 'active' | 'disabled',
      credentialsSecret: (row.credentials_secret as string | null) ?? null,
      phoneNumberId: (row.phone_number_id as string | null) ?? null,
    }));
  },
  async messageIdForProviderId(numberId, providerMessageId) {
    const row = await knex('chat_messages')
      .where({ number_id: numberId, provider_message_id: providerMessageId, direction: 'out' })
      .first<{ message_id: string } | undefined>('message_id');
    return row?.message_id ?? null;
  },
  async recentTurns(chatId, limit, exceptMessageId) {
    const rows = await knex('chat_messages')
      .where({ chat_id: chatId })
      .whereNot({ message_id: exceptMessageId })
      .orderBy('position', 'desc')
      .limit(limit)
      .select<{ direction: string; text: string | null; at: Date }[]>('direction', 'text', 'at');
    return rows.reverse().map((row): ChatTurn => ({
      role: row.direction === 'in' ? 'contact' : 'bot',
      text: row.text ?? '',
      at: new Date(row.at).toISOString(),
    }));
  },
});

export const sqlProcessCheckpoints = (knex: Knex): ProcessCheckpoints => ({
  async load(name) {
    const row = await knex('process_manager_checkpoints')
      .where({ name })
      .first<{ position: string } | undefined>('position');
    return row ? Number(row.position) : 0;
  },
  async save(name, position) {
    await knex('process_manager_checkpoints')
      .insert({ name, position, updated_at: new Date() })
      .onConflict('name')
      .merge(['position', 'updated_at']);
  },
});
