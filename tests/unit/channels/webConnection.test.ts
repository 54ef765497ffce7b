import { expect } from 'chai';
import type { proto, WAMessageKey } from 'baileys';
import fc from 'fast-check';
import {
  connectionDecider,
  DISCONNECT_CODES,
  reconnectPolicy,
  type ConnectionCommand,
  type ConnectionState,
} from '#domain/whatsapp/connection.js';
import type { WhatsAppEvent } from '#domain/whatsapp/events.js';
import { toJid, webMessageId } from '#infrastructure/channels/web/ids.js';
import { guardLibsignalConsole } from '#infrastructure/channels/web/consoleGuard.js';
import { deliveryStatusOf, inboundOf } from '#infrastructure/channels/web/inboundMapping.js';

const backoff = { baseMs: 1_000, maxMs: 60_000 };
const run = (commands: ConnectionCommand[]): { state: ConnectionState; events: WhatsAppEvent[] } => {
  let state = connectionDecider.initialState();
  const events: WhatsAppEvent[] = [];
  for (const command of commands) {
    const decided = connectionDecider.decide(command, state);
    events.push(...decided);
    state = decided.reduce(connectionDecider.evolve, state);
  }
  return { state, events };
};
const connect = (cause: 'open' | 'reconnect' = 'open'): ConnectionCommand => ({
  type: 'Connect',
  data: { numberId: 'n', cause, worker: 'w' },
});
const qr = (n: number): ConnectionCommand => ({
  type: 'IssueQr',
  data: { numberId: 'n', qr: `qr-${n}`, maxAttempts: 3, expiresAt: '2026-01-01T00:00:00.000Z' },
});

describe('WhatsApp Web reconnect policy (pure)', () => {
  it('restart-required reconnects at once', () => {
    expect(reconnectPolicy(515, 3, backoff, () => 0.5)).to.deep.equal({
      reason: 'restartRequired',
      next: 'reconnect_now',
      retryInMs: 0,
    });
  });
  it('connection-replaced does not fight the other session; forbidden and multi-device mismatch stay down too', () => {
    expect(reconnectPolicy(440, 0, backoff, Math.random)).to.include({
      reason: 'connectionReplaced',
      next: 'stay_down',
    });
    expect(reconnectPolicy(403, 0, backoff, Math.random)).to.include({ reason: 'forbidden', next: 'stay_down' });
    expect(reconnectPolicy(411, 0, backoff, Math.random)).to.include({ next: 'stay_down' });
  });
  it('logged-out asks for a new pairing', () => {
    expect(reconnectPolicy(401, 0, backoff, Math.random)).to.include({ reason: 'loggedOut', next: 'pair_again' });
  });
  it('a close we asked for is not a disconnect to recover from', () => {
    expect(reconnectPolicy(null, 0, backoff, Math.random, true)).to.deep.equal({
      reason: 'closed',
      next: 'closed',
      retryInMs: null,
    });
  });
  it('anything else: capped exponential backoff with 50-100 % jitter', () => {
    for (const code of [408, 428, 500, 503, null, 999]) {
      expect(reconnectPolicy(code, 0, backoff, () => 1)).to.include({ next: 'reconnect_later', retryInMs: 1_000 });
      expect(reconnectPolicy(code, 0, backoff, () => 0)).to.include({ retryInMs: 500 });
      expect(reconnectPolicy(code, 3, backoff, () => 1)).to.include({ retryInMs: 8_000 });
      expect(reconnectPolicy(code, 50, backoff, () => 1)).to.include({ retryInMs: 60_000 });
    }
    expect(reconnectPolicy(428, 0, backoff, () => 0).reason).to.equal('connectionClosed');
    expect(reconnectPolicy(408, 0, backoff, () => 0).reason).to.equal('connectionLost');
    expect(reconnectPolicy(999, 0, backoff, () => 0).reason).to.equal('unknown');
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1000 }), fc.double({ min: 0, max: 1, noNaN: true }), (failures, r) => {
        const { retryInMs } = reconnectPolicy(DISCONNECT_CODES.connectionLost, failures, backoff, () => r);
        const step = Math.min(backoff.maxMs, backoff.baseMs * 2 ** Math.min(30, failures));
        return retryInMs !== null && retryInMs >= step / 2 - 1 && retryInMs <= step && retryInMs <= backoff.maxMs;
      }),
    );
  });
});

describe('WhatsApp Web connection decider', () => {
  it('issues QRs up to maxAttempts, then expires instead of showing another; a stray QR after that is ignored', () => {
    const { events, state } = run([connect(), qr(1), qr(2), qr(3), qr(4), qr(5)]);
    expect(events.map((e) => e.type)).to.deep.equal([
      'WhatsAppConnecting',
      'WhatsAppQrIssued',
      'WhatsAppQrIssued',
      'WhatsAppQrIssued',
      'WhatsAppPairingExpired',
    ]);
    expect(events[4]!.data).to.include({ attempts: 3, maxAttempts: 3, reason: 'max_qr_attempts' });
    expect(state.status).to.equal('expired');
  });
  it('the QR count survives reconnects but starts over when the session is opened again or connects', () => {
    expect(run([connect(), qr(1), qr(2), connect('reconnect'), qr(3)]).events.at(-1)!.data).to.include({ attempt: 3 });
    expect(run([connect(), qr(1), qr(2), connect('open'), qr(3)]).events.at(-1)!.data).to.include({ attempt: 1 });
    const connected: ConnectionCommand = {
      type: 'RecordConnected',
      data: { numberId: 'n', newLogin: true, worker: 'w' },
    };
    expect(run([connect(), qr(1), qr(2), connected, connect('reconnect'), qr(3)]).events.at(-1)!.data).to.include({
      attempt: 1,
    });
  });
  it('pairing-code requests are pending until a code is issued for them, and idempotent by request id', () => {
    const request: ConnectionCommand = {
      type: 'RequestPairingCode',
      data: { numberId: 'n', requestId: 'r1', phone: '+34600000003', by: 'admin' },
    };
    const issued: ConnectionCommand = {
      type: 'IssuePairingCode',
      data: { numberId: 'n', requestId: 'r1', code: 'ABCD1234', expiresAt: '2026-01-01T00:00:00.000Z' },
    };
    const pending = run([connect(), request, request]);
    expect(pending.events.filter((e) => e.type === 'WhatsAppPairingCodeRequested')).to.have.length(1);
    expect(pending.state.pendingRequests).to.deep.equal([{ requestId: 'r1', phone: '+34600000003' }]);
    const done = run([connect(), request, issued, request]);
    expect(done.state.pendingRequests).to.deep.equal([]);
    expect(done.state.status).to.equal('code');
    expect(done.events.filter((e) => e.type === 'WhatsAppPairingCodeRequested')).to.have.length(1);
  });
});

describe('WhatsApp Web ids and payload mapping', () => {
  it('derives the WhatsApp message id from ours: deterministic, WhatsApp Web shaped, distinct per message', () => {
    const id = webMessageId('0b6c2a8e-8f59-4a57-9a53-2b1c1d5e7f00');
    expect(id).to.match(/^3EB0[0-9A-F]{18}$/);
    expect(webMessageId('0b6c2a8e-8f59-4a57-9a53-2b1c1d5e7f00')).to.equal(id);
    fc.assert(fc.property(fc.uuid(), fc.uuid(), (a, b) => a === b || webMessageId(a) !== webMessageId(b)));
    expect(toJid('34600000001')).to.equal('34600000001@s.whatsapp.net');
    expect(toJid('120363000000000000@g.us')).to.equal('120363000000000000@g.us');
  });
  it('maps recorded upserts: text, captions, LID addressing with the phone JID, and drops what the bot does not answer', () => {
    const base = { messageTimestamp: 1764420000, pushName: 'Ana' };
    const of = (key: WAMessageKey, message: proto.IMessage) => inboundOf('n', { ...base, key, message });
    expect(
      of({ remoteJid: '34600000042@s.whatsapp.net', id: 'A1', fromMe: false }, { conversation: 'hola' }),
    ).to.deep.equal({
      numberId: 'n',
      providerMessageId: 'A1',
      from: '34600000042',
      contactName: 'Ana',
      kind: 'text',
      text: 'hola',
      sentAt: '2025-11-29T12:40:00.000Z',
    });
    expect(
      of(
        { remoteJid: '160000000000042@lid', remoteJidAlt: '34600000042@s.whatsapp.net', id: 'A2', fromMe: false },
        { extendedTextMessage: { text: 'con enlace https://example.org' } },
      ),
    ).to.include({ from: '34600000042', kind: 'text', text: 'con enlace https://example.org' });
    expect(
      of({ remoteJid: '160000000000042@lid', id: 'A3', fromMe: false }, { imageMessage: { caption: 'foto' } }),
    ).to.include({
      from: '160000000000042@lid',
      kind: 'image',
      text: '[image] foto',
    });
    expect(of({ remoteJid: '34600000042@s.whatsapp.net', id: 'A4', fromMe: true }, { conversation: 'mine' })).to.equal(
      null,
    );
    expect(of({ remoteJid: 'status@broadcast', id: 'A5', fromMe: false }, { conversation: 'story' })).to.equal(null);
    expect(of({ remoteJid: '120363000000000000@g.us', id: 'A6', fromMe: false }, { conversation: 'group' })).to.equal(
      null,
    );
    expect(
      of({ remoteJid: '34600000042@s.whatsapp.net', id: 'A7', fromMe: false }, { protocolMessage: { type: 0 } }),
    ).to.equal(null);
  });
  it('maps receipt statuses (PENDING is not news)', () => {
    expect([0, 1, 2, 3, 4, 5, 9].map(deliveryStatusOf)).to.deep.equal([
      'failed',
      null,
      'sent',
      'delivered',
      'read',
      'read',
      null,
    ]);
  });
});

describe('libsignal console guard', () => {
  it("drops libsignal's session dumps (key material) from the console, logs only their text, leaves other lines alone", () => {
    const logged: Array<[string, Record<string, unknown> | undefined]> = [];
    guardLibsignalConsole({
      info: () => undefined,
      warn: (message, fields) => void logged.push([message, fields]),
      error: () => undefined,
    });
    const written: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    const writeErr = process.stderr.write.bind(process.stderr);
    const capture = (chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    };
    process.stdout.write = capture;
    process.stderr.write = capture;
    try {
      console.info('Closing session:', { currentRatchet: { rootKey: 'ROOT-KEY-MATERIAL' } });
      console.warn('Closing open session in favor of incoming prekey bundle');
      console.error('Session error:Error: Bad MAC', 'STACK-WITH-DETAILS');
      console.info('an ordinary line');
    } finally {
      process.stdout.write = write;
      process.stderr.write = writeErr;
    }
    expect(written.join('')).not.to.include('ROOT-KEY-MATERIAL');
    expect(written.join('')).not.to.include('STACK-WITH-DETAILS');
    expect(written.join('')).not.to.include('Closing');
    expect(written.join('')).to.include('an ordinary line');
    expect(logged).to.deep.equal([['libsignal', { detail: 'Session error:' }]]);
  });
});
