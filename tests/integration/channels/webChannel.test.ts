import { expect } from 'chai';
import type { WAMessage } from 'baileys';
import { chatIdFor } from '#application/messaging/ids.js';
import type { RecordedEvent } from '#application/shared/eventStore.js';
import { chatStreamId, messageStreamId, type MessagingEvent } from '#domain/messaging/events.js';
import { webMessageId } from '#infrastructure/channels/web/ids.js';
import type { WebChannel } from '#infrastructure/channels/web/webChannel.js';
import { Fernet } from '#infrastructure/secrets/fernet.js';
import { ADMIN_PASSWORD, loginAs, request, startTestApp, type TestApp } from '../../support/app.js';
import { waitFor } from '../../support/events.js';
import { firstChildTag, startWaPeer, trustPeer, type WaPeer } from '../../support/waPeer.js';
import { startWebWorker, waitForWhatsAppEvent, whatsappEvents } from '../../support/webWorker.js';

const FERNET_KEY = Fernet.generateKey();
const PHONE = '34600000001';

/** A recorded `messages.upsert` message of WhatsApp Web (baileys 7: LID addressing, the phone JID in remoteJidAlt). */
const recordedInbound = (id: string, text: string): WAMessage => ({
  key: {
    remoteJid: '160000000000042@lid',
    remoteJidAlt: '34600000042@s.whatsapp.net',
    fromMe: false,
    id,
    addressingMode: 'lid',
  },
  messageTimestamp: 1764420000,
  pushName: 'Ana',
  broadcast: false,
  message: {
    conversation: text,
    messageContextInfo: { deviceListMetadataVersion: 2 },
  },
});

describe('WhatsApp Web channel: the real baileys client against a local peer (PostgreSQL)', function () {
  this.timeout(120_000);
  let peer: WaPeer;
  let t: TestApp;
  let worker: ReturnType<typeof startWebWorker>;
  let admin: string;
  let operator: string;
  const channel = (numberId: string): WebChannel => worker.dispatcher.webChannels().get(numberId)!;
  const pairing = async (numberId: string) =>
    (await request(t.baseUrl, 'GET', `/api/numbers/${numberId}/pairing`, { token: admin })).body;
  const addWebNumber = async (id: string) => {
    const created = await request(t.baseUrl, 'POST', '/api/numbers', {
      token: admin,
      body: { id, name: `Web ${id}`, kind: 'web' },
    });
    expect(created.status).to.equal(201);
    expect(created.body).to.include({ numberId: id, kind: 'web', status: 'active' });
  };
  before(async () => {
    peer = await startWaPeer({ refs: 6, phone: PHONE });
    trustPeer(peer.rootPublicKey);
    t = await startTestApp({ env: { FERNET_KEYS: FERNET_KEY } });
    admin = (await loginAs(t.baseUrl, 'admin', ADMIN_PASSWORD)).access;
    const created = await request(t.baseUrl, 'POST', '/api/users', {
      token: admin,
      body: { username: 'oncall', password: 'operator-password-1', role: 'operator' },
    });
    expect(created.status).to.equal(201);
    operator = (await loginAs(t.baseUrl, 'oncall', 'operator-password-1')).access;
    worker = startWebWorker(t, { peerUrl: peer.url, fernetKeys: FERNET_KEY });
  });
  after(async () => {
    await worker?.stop();
    await t?.close();
    await peer?.close();
  });

  it('pairs a new number through the real protocol: Noise handshake, pair-device QR (event, pairing API with SVG, terminal), scan, restart required, login, connected', async () => {
    await addWebNumber('wa-one');
    let view: any;
    await waitFor(async () => (view = await pairing('wa-one')).state === 'qr', 30_000, 'a QR on the pairing API');
    expect(Object.keys(view)).to.have.members([
      'numberId',
      'state',
      'qr',
      'svg',
      'pairingCode',
      'attempt',
      'maxAttempts',
      'expiresAt',
    ]);
    expect(view).to.include({ numberId: 'wa-one', attempt: 1, maxAttempts: 5, pairingCode: null });
    expect(view.qr).to.match(/^https:\/\/wa\.me\/settings\/linked_devices#2@/);
    expect(view.svg).to.match(/^<svg[\s\S]*<\/svg>\s*$/);
    expect(Date.parse(view.expiresAt)).to.be.greaterThan(Date.now());
    // the peer sent the refs through the encrypted transport; the QR carries one of them
    const registration = peer.connections.find((c) => c.kind === 'registration')!;
    expect(registration.refs.some((ref) => view.qr.includes(ref))).to.equal(true);
    expect(worker.printed).to.include(view.qr);
    // operators may not see a live QR (it pairs a phone); no token: 401
    expect((await request(t.baseUrl, 'GET', '/api/numbers/wa-one/pairing', { token: operator })).status).to.equal(403);
    expect((await request(t.baseUrl, 'GET', '/api/numbers/wa-one/pairing')).status).to.equal(401);

    await peer.scan(view.qr);
    await waitForWhatsAppEvent(t, 'wa-one', (e) => e.type === 'WhatsAppConnected', 30_000, 'connected');
    const events = await whatsappEvents(t, 'wa-one');
    expect(events.map((e) => e.type)).to.deep.equal([
      'WhatsAppConnecting',
      'WhatsAppQrIssued',
      'WhatsAppDisconnected',
      'WhatsAppConnecting',
      'WhatsAppConnected',
    ]);
    expect(events[0]!.data).to.include({ cause: 'open' });
    expect(events[2]!.data).to.include({ reason: 'restartRequired', statusCode: 515, next: 'reconnect_now' });
    expect(events[3]!.data).to.include({ cause: 'reconnect' });
    expect(events[4]!.data).to.include({ newLogin: true });
    // the second connection logged in with the stored creds of the paired device (no QR)
    const login = peer.connections.find((c) => c.kind === 'login')!;
    expect(login.login).to.deep.equal({ username: PHONE, device: 7 });
    expect(login.refs).to.deep.equal([]);

    await waitFor(async () => (await pairing('wa-one')).state === 'connected', 10_000, 'the pairing view');
    expect(await pairing('wa-one')).to.include({ state: 'connected', qr: null, svg: null });
    const numbers = await request(t.baseUrl, 'GET', '/api/numbers', { token: admin });
    const listed = numbers.body.numbers.find((n: any) => n.numberId === 'wa-one');
    expect(listed.webConnection).to.include({ state: 'connected' });
    const status = await request(t.baseUrl, 'GET', '/api/whatsapp/status', { token: admin });
    expect(status.body.numbers.find((n: any) => n.numberId === 'wa-one')).to.include({
      kind: 'web',
      connection: 'connected',
    });

    // the audit trail records the QR and the connection, never the QR's content
    const knex = t.app.infra.db.knex;
    await waitFor(
      async () => (await knex('audit_log').where({ target: 'wa-one', action: 'whatsapp.connected' })).length === 1,
      10_000,
      'the audit trail',
    );
    const audit = await knex('audit_log').where({ target: 'wa-one' }).select('action', 'details');
    expect(audit.map((r) => r.action)).to.include.members(['number.added', 'whatsapp.qr_issued', 'whatsapp.connected']);
    const ref = view.qr.slice(view.qr.indexOf('#') + 1).split(',')[0];
    expect(JSON.stringify(audit)).not.to.include(ref);
    expect(JSON.stringify(audit)).not.to.include('linked_devices');
    expect(worker.logs()).not.to.include(ref);
  });

  it('keeps the session in PostgreSQL, every row Fernet-encrypted: no key material or phone number in plain text', async () => {
    const rows = await t.app.infra.db.knex('whatsapp_auth').where({ number_id: 'wa-one' }).select('*');
    const categories = new Set(rows.map((r) => r.category));
    expect(categories.has('creds')).to.equal(true);
    expect(rows.length).to.be.greaterThan(1); // creds plus signal keys (the device's own LID session, device list)
    const fernet = new Fernet(FERNET_KEY);
    const [noiseKey, identityKey, advSecret] = (await whatsappEvents(t, 'wa-one'))
      .find((e) => e.type === 'WhatsAppQrIssued')!
      .data.qr.split('#')[1]!
      .split(',')
      .slice(1, 4) as [string, string, string];
    const raw = JSON.stringify(rows);
    for (const row of rows) expect(row.ciphertext).to.match(/^gAAAAA/);
    for (const secret of [PHONE, noiseKey, identityKey, advSecret, 'noiseKey', 'signedIdentityKey'])
      expect(raw, secret).not.to.include(secret);
    // and it decrypts to the paired device's creds
    const creds = JSON.parse(fernet.decryptToString(rows.find((r) => r.category === 'creds')!.ciphertext));
    expect(creds.me.id).to.equal(`${PHONE}:7@s.whatsapp.net`);
    expect(creds.advSecretKey).to.equal(advSecret);
  });

  it('messages.upsert (notify) becomes MessageReceived once, even when emitted twice; history (append) does not', async () => {
    const message = recordedInbound('3A5F0D2B9C1E4A7788AA', 'Hola, ¿abrís hoy?');
    const emitUpsert = (messages: WAMessage[], type: 'notify' | 'append') =>
      channel('wa-one').socket()!.ev.emit('messages.upsert', { messages, type });
    emitUpsert([message], 'notify');
    emitUpsert([recordedInbound('3A5F0D2B9C1E4A7788AB', 'old history')], 'append');
    const chatId = chatIdFor('wa-one', '34600000042');
    const receivedEvents = async () =>
      (await t.app.infra.store.readStream<MessagingEvent>(chatStreamId(chatId))).filter(
        (e) => e.type === 'MessageReceived',
      );
    // (baileys may hold socket events in its buffer until the first app-state sync: up to ~20 s)
    await waitFor(async () => (await receivedEvents()).length >= 1, 40_000, 'MessageReceived');
    // the same message again (WhatsApp redelivers after a reconnect): recorded once
    emitUpsert([message], 'notify');
    await waitFor(() => worker.logs().includes('inbound message already recorded'), 40_000, 'the duplicate');
    const received = await receivedEvents();
    expect(received).to.have.length(1);
    expect(received[0]!.data).to.include({
      numberId: 'wa-one',
      contact: '34600000042',
      contactName: 'Ana',
      providerMessageId: '3A5F0D2B9C1E4A7788AA',
      kind: 'text',
      text: 'Hola, ¿abrís hoy?',
      sentAt: new Date(1764420000 * 1000).toISOString(),
    });
    const all = await t.app.infra.store.readAll<MessagingEvent>({ filter: { eventTypes: ['MessageReceived'] } });
    expect(all.some((e) => e.type === 'MessageReceived' && e.data.text === 'old history')).to.equal(false);
  });

  it("a contact's message through the protocol (Signal-encrypted stanza) becomes MessageReceived; delivered again, it is recorded once", async () => {
    const connection = peer.connections.filter((c) => c.kind === 'login').at(-1)!;
    const message = {
      from: '34600000055@s.whatsapp.net',
      id: '3A0C6E1F2B3D4A5B6C7D',
      text: 'Quería reservar',
      pushName: 'Luis',
    };
    await peer.sendText(connection, message);
    const chatId = chatIdFor('wa-one', '34600000055');
    const receivedEvents = async () =>
      (await t.app.infra.store.readStream<MessagingEvent>(chatStreamId(chatId))).filter(
        (e) => e.type === 'MessageReceived',
      );
    await waitFor(async () => (await receivedEvents()).length === 1, 40_000, 'MessageReceived');
    // baileys decrypted it and acknowledged it to the server with a receipt
    const receipts = () => connection.received.filter((n) => n.tag === 'receipt' && n.attrs.id === message.id).length;
    await waitFor(() => receipts() >= 1, 10_000, 'the receipt');
    // WhatsApp delivers it again (no ack seen before a reconnect): a second stanza, newly encrypted
    await peer.sendText(connection, message);
    await waitFor(() => receipts() >= 2, 20_000, 'the second receipt');
    // it reached our sink again, which recorded nothing new
    const duplicates = () =>
      worker
        .logs()
        .split('\n')
        .filter((l) => l.includes('inbound message already recorded')).length;
    await waitFor(() => duplicates() >= 1, 20_000, 'the duplicate handled');
    const received = await receivedEvents();
    expect(received).to.have.length(1);
    expect(received[0]!.data).to.include({
      numberId: 'wa-one',
      contact: '34600000055',
      contactName: 'Luis',
      providerMessageId: message.id,
      kind: 'text',
      text: 'Quería reservar',
    });
  });

  it('a send goes out under the WhatsApp id derived from our message id; receipts become status events; getMessage answers from our store', async () => {
    const sent = await request(t.baseUrl, 'POST', '/api/whatsapp/send', {
      token: admin,
      body: { to: '+34 600 000 077', text: 'Su pedido está listo', number: 'wa-one' },
    });
    expect(sent.status).to.equal(202);
    const { messageId } = sent.body;
    const derived = webMessageId(messageId);
    expect(derived).to.match(/^3EB0[0-9A-F]{18}$/);
    let events: RecordedEvent<MessagingEvent>[] = [];
    await waitFor(
      async () =>
        (events = await t.app.infra.store.readStream<MessagingEvent>(messageStreamId(messageId))).some(
          (e) => e.type === 'MessageSent',
        ),
      30_000,
      'MessageSent',
    );
    const sentEvent = events.find((e) => e.type === 'MessageSent')!;
    expect(sentEvent.data).to.include({ providerMessageId: derived });
    // through the protocol: baileys fetched the device list and pre-keys from the peer, opened a Signal
    // session and sent the message stanza under the derived id, the text end-to-end encrypted
    const stanza = peer.connections
      .flatMap((c) => c.received)
      .find((n) => n.tag === 'message' && n.attrs.id === derived);
    expect(stanza, 'the message stanza on the wire').to.not.equal(undefined);
    expect(stanza!.attrs.to).to.equal('34600000077@s.whatsapp.net');
    const wire = JSON.stringify(stanza, (_k, v: unknown) =>
      v instanceof Uint8Array ? Buffer.from(v).toString('latin1') : v,
    );
    expect(wire).to.include('pkmsg');
    expect(wire).not.to.include('Su pedido');
    // the same id again (a resend after a crash) is the same WhatsApp message
    expect(webMessageId(messageId)).to.equal(derived);

    // the recipient's phone asks again for the content (retry receipt): answered from MessageQueued
    expect(
      await channel('wa-one').getMessage({ remoteJid: '34600000077@s.whatsapp.net', id: derived, fromMe: true }),
    ).to.deep.equal({ conversation: 'Su pedido está listo' });
    // an id we never sent: undefined, never a placeholder
    expect(
      await channel('wa-one').getMessage({
        remoteJid: '34600000077@s.whatsapp.net',
        id: '3EB0FFFFFFFFFFFFFFFFFF',
        fromMe: true,
      }),
    ).to.equal(undefined);

    // a delivery receipt, sent by the peer through the protocol (baileys turns it into messages.update),
    // becomes MessageStatusUpdated
    const onWire = peer.connections.find((c) => c.received.includes(stanza!))!;
    await onWire.send({
      tag: 'receipt',
      attrs: { id: derived, from: '34600000077@s.whatsapp.net', t: String(Math.floor(Date.now() / 1000)) },
    });
    await waitFor(
      async () =>
        (await t.app.infra.store.readStream<MessagingEvent>(messageStreamId(messageId))).some(
          (e) => e.type === 'MessageStatusUpdated' && e.data.status === 'delivered',
        ),
      // (held in baileys' buffer until the first app-state sync after a pairing: up to ~20 s)
      40_000,
      'delivered',
    );
    await onWire.send({
      tag: 'receipt',
      attrs: {
        id: derived,
        from: '34600000077@s.whatsapp.net',
        type: 'read',
        t: String(Math.floor(Date.now() / 1000)),
      },
    });
    await waitFor(
      async () =>
        (await t.app.infra.store.readStream<MessagingEvent>(messageStreamId(messageId))).some(
          (e) => e.type === 'MessageStatusUpdated' && e.data.status === 'read',
        ),
      40_000,
      'read',
    );
  });

  it('pairing by phone-number code: admin only and validated; the request is an event the worker obeys through the protocol', async () => {
    expect(
      (
        await request(t.baseUrl, 'POST', '/api/numbers/wa-one/pairing-code', {
          token: operator,
          body: { phone: '+34600000003' },
        })
      ).status,
    ).to.equal(403);
    const bad = await request(t.baseUrl, 'POST', '/api/numbers/wa-one/pairing-code', {
      token: admin,
      body: { phone: '600 000 003' },
    });
    expect(bad.status).to.equal(400);
    expect(bad.body.error.code).to.be.a('string');
    const wrongKind = await request(t.baseUrl, 'POST', '/api/numbers/simulator/pairing-code', {
      token: admin,
      body: { phone: '+34600000003' },
    });
    expect(wrongKind.status).to.equal(409);
    expect(wrongKind.body.error.code).to.equal('not_a_web_number');
    const unknown = await request(t.baseUrl, 'GET', '/api/numbers/nope/pairing', { token: admin });
    expect(unknown.status).to.equal(404);

    await addWebNumber('wa-code');
    await waitFor(async () => (await pairing('wa-code')).state === 'qr', 30_000, 'a QR first');
    const asked = await request(t.baseUrl, 'POST', '/api/numbers/wa-code/pairing-code', {
      token: admin,
      body: { phone: '+34600000003' },
    });
    expect(asked.status).to.equal(202);
    expect(asked.body).to.include({ numberId: 'wa-code' });
    let view: any;
    await waitFor(async () => (view = await pairing('wa-code')).state === 'code', 20_000, 'a pairing code');
    expect(view.pairingCode).to.match(/^[0-9A-Z]{8}$/);
    expect(view).to.include({ qr: null, svg: null });
    // baileys sent the companion registration to the peer
    await waitFor(
      () => peer.connections.some((c) => c.received.some((n) => firstChildTag(n) === 'link_code_companion_reg')),
      10_000,
      'link_code_companion_reg',
    );
    const audit = await t.app.infra.db.knex('audit_log').where({ target: 'wa-code' }).select('action', 'details');
    await waitFor(
      async () =>
        (await t.app.infra.db.knex('audit_log').where({ target: 'wa-code', action: 'whatsapp.pairing_code_issued' }))
          .length === 1,
      10_000,
      'the audit entry',
    );
    expect(JSON.stringify(audit)).not.to.include(view.pairingCode);
    expect(JSON.stringify(await t.app.infra.db.knex('audit_log').where({ target: 'wa-code' }))).not.to.include(
      view.pairingCode,
    );
  });

  it('disconnect reasons through the protocol: connection-replaced stays down; a runtime restart (API) resumes the stored session without a QR; logged-out clears the creds and asks for a new pairing', async () => {
    const login = await peer.waitFor(
      (c) => c.kind === 'login' && c === peer.connections.filter((x) => x.kind === 'login').at(-1),
    );
    const beforeEvents = await whatsappEvents(t, 'wa-one');
    const before = beforeEvents[beforeEvents.length - 1]!.position;
    await login.send({ tag: 'stream:error', attrs: {}, content: [{ tag: 'conflict', attrs: { type: 'replaced' } }] });
    const replaced = await waitForWhatsAppEvent(
      t,
      'wa-one',
      (e) => e.type === 'WhatsAppDisconnected' && e.position > before,
      20_000,
      'replaced',
    );
    expect(replaced.data).to.include({ reason: 'connectionReplaced', statusCode: 440, next: 'stay_down' });
    expect(channel('wa-one').isConnected()).to.equal(false);
    expect(channel('wa-one').socket()).to.equal(null);

    // an admin restarts the number's runtime (the worker closes and opens the channel): the stored
    // session logs in again, no QR
    const connections = peer.connections.length;
    const restart = await request(t.baseUrl, 'POST', '/api/numbers/wa-one/runtime/restart', { token: admin });
    expect(restart.status).to.equal(202);
    await waitForWhatsAppEvent(
      t,
      'wa-one',
      (e) => e.type === 'WhatsAppConnected' && e.position > replaced.position,
      20_000,
      'connected again',
    );
    const fresh = peer.connections.slice(connections);
    expect(fresh.map((c) => c.kind)).to.deep.equal(['login']);
    const afterRestart = (await whatsappEvents(t, 'wa-one')).filter((e) => e.position > before);
    expect(afterRestart.some((e) => e.type === 'WhatsAppQrIssued')).to.equal(false);

    // the phone unlinks the device: 401 -> logged out, creds cleared, a new pairing (QR) starts
    const current = peer.connections[peer.connections.length - 1]!;
    await current.send({ tag: 'failure', attrs: { reason: '401' } });
    const loggedOut = await waitForWhatsAppEvent(
      t,
      'wa-one',
      (e) => e.type === 'WhatsAppLoggedOut',
      20_000,
      'logged out',
    );
    expect(loggedOut.data).to.include({ by: 'remote', statusCode: 401 });
    await waitForWhatsAppEvent(
      t,
      'wa-one',
      (e) => e.type === 'WhatsAppQrIssued' && e.position > loggedOut.position,
      20_000,
      'a new QR',
    );
    const disconnected = (await whatsappEvents(t, 'wa-one')).filter(
      (e) => e.type === 'WhatsAppDisconnected' && e.data.statusCode === 401,
    );
    expect(disconnected[0]!.data).to.include({ reason: 'loggedOut', next: 'pair_again' });
    const creds = await t.app.infra.db.knex('whatsapp_auth').where({ number_id: 'wa-one', category: 'creds' }).first();
    const decoded = JSON.parse(new Fernet(FERNET_KEY).decryptToString(creds.ciphertext));
    expect(decoded.me).to.equal(undefined);
    expect(peer.connections[peer.connections.length - 1]!.kind).to.equal('registration');
    await waitFor(async () => (await pairing('wa-one')).state === 'qr', 10_000, 'the pairing view shows the new QR');
  });
});

describe('WhatsApp Web channel: a pairing nobody scans stops after a bounded number of QRs', function () {
  this.timeout(120_000);
  let peer: WaPeer;
  let t: TestApp;
  let worker: ReturnType<typeof startWebWorker>;
  before(async () => {
    peer = await startWaPeer({ refs: 6 });
    trustPeer(peer.rootPublicKey);
    t = await startTestApp({ env: { FERNET_KEYS: FERNET_KEY } });
    worker = startWebWorker(t, {
      peerUrl: peer.url,
      fernetKeys: FERNET_KEY,
      env: { WHATSAPP_WEB_QR_MAX: '3' },
      web: { qrTimeoutMs: 250 },
    });
  });
  after(async () => {
    await worker?.stop();
    await t?.close();
    await peer?.close();
  });

  it('shows WHATSAPP_WEB_QR_MAX QRs, then WhatsAppPairingExpired, closes the socket and does not reconnect; the pairing API says expired', async () => {
    const admin = (await loginAs(t.baseUrl, 'admin', ADMIN_PASSWORD)).access;
    const created = await request(t.baseUrl, 'POST', '/api/numbers', {
      token: admin,
      body: { id: 'wa-idle', name: 'Nobody scans', kind: 'web' },
    });
    expect(created.status).to.equal(201);
    const expired = await waitForWhatsAppEvent(
      t,
      'wa-idle',
      (e) => e.type === 'WhatsAppPairingExpired',
      30_000,
      'expiry',
    );
    expect(expired.data).to.include({ attempts: 3, maxAttempts: 3, reason: 'max_qr_attempts' });
    await waitForWhatsAppEvent(
      t,
      'wa-idle',
      (e) => e.type === 'WhatsAppDisconnected' && e.position > expired.position,
      20_000,
      'the socket closed',
    );
    const events = await whatsappEvents(t, 'wa-idle');
    const qrs = events.filter((e) => e.type === 'WhatsAppQrIssued');
    expect(qrs.map((e) => (e.type === 'WhatsAppQrIssued' ? e.data.attempt : 0))).to.deep.equal([1, 2, 3]);
    const closed = events.find((e) => e.type === 'WhatsAppDisconnected')!;
    expect(closed.data).to.include({ next: 'stay_down' });
    expect(events.filter((e) => e.type === 'WhatsAppConnecting')).to.have.length(1);
    let view: any;
    await waitFor(
      async () =>
        (view = (await request(t.baseUrl, 'GET', '/api/numbers/wa-idle/pairing', { token: admin })).body).state ===
        'expired',
      10_000,
      'expired on the pairing API',
    );
    expect(view).to.include({ state: 'expired', qr: null, svg: null, attempt: 3, maxAttempts: 3 });
    expect(peer.connections.filter((c) => c.kind === 'registration')).to.have.length(1);
    const audit = await t.app.infra.db.knex('audit_log').where({ target: 'wa-idle' }).select('action', 'outcome');
    await waitFor(
      async () =>
        (await t.app.infra.db.knex('audit_log').where({ target: 'wa-idle', action: 'whatsapp.pairing_expired' }))
          .length === 1,
      10_000,
      'the audit entry',
    );
    expect(audit.length).to.be.greaterThan(0);
  });
});
