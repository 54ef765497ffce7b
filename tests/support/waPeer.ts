// A local WhatsApp Web server peer for tests: the real baileys client connects to it (its
// `waWebSocketUrl` socket option) and runs its real protocol code against it, to the network boundary.
//
// What the peer speaks, as the server side of what baileys implements (src/Utils/noise-handler.ts,
// src/Socket/socket.ts, src/Utils/validate-connection.ts):
//  - the Noise XX handshake (Noise_XX_25519_AESGCM_SHA256): client hello, server hello with a
//    certificate chain, client finish with the client's static key and its ClientPayload; then
//    AES-GCM transport frames carrying WABinary nodes;
//  - registration: a `pair-device` IQ with N refs, so baileys emits one QR per ref;
//  - the phone's side of a QR scan (`scan`): a `pair-success` IQ with an ADV device identity signed by
//    a phone account key and HMAC'd with the advSecret from the QR, which baileys verifies and answers
//    with `pair-device-sign`; then `stream:error code=515` (restart required), as WhatsApp does;
//  - login with stored credentials: a `success` node, answers to the IQs baileys sends after it
//    (pre-key count, passive active, key-bundle digest), and `ib/offline` so buffered events flow;
//  - inbound (`sendText`): a contact's phone opens a Signal session to the device with the pre-keys it
//    registered with and sends it a `pkmsg`-encrypted `message` stanza (baileys' own Signal repository
//    plays the contact's side);
//  - sends: usync device lists (one device per user, with LID mappings) and pre-key bundles, so baileys
//    opens Signal sessions and sends its encrypted `message` stanza (recorded, acked);
//  - on demand: `stream:error` / `failure` with any code (disconnect reasons), receipts, pairing-code
//    registration requests (recorded), and any other IQ answered with an empty result.
// The certificate chain is signed by the peer's own root key; `trustPeer` installs that key as the root
// baileys checks (WA_CERT_DETAILS.PUBLIC_KEY), as a test CA would be, in the process that runs baileys.
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  addTransactionCapability,
  aesDecryptGCM,
  aesEncryptGCM,
  Curve,
  decodeBinaryNode,
  encodeBinaryNode,
  encodeBigEndian,
  getBinaryNodeChild,
  getBinaryNodeChildren,
  hkdf,
  initAuthCreds,
  jidEncode,
  NOISE_MODE,
  NOISE_WA_HEADER,
  proto,
  signedKeyPair,
  WA_CERT_DETAILS,
  xmppPreKey,
  xmppSignedPreKey,
  writeRandomPadMax16,
  type BinaryNode,
  type SignalDataSet,
  type KeyPair,
} from 'baileys';
import { makeLibSignalRepository } from 'baileys/lib/Signal/libsignal.js';
import { WebSocketServer, type WebSocket } from 'ws';

const NOISE_HEADER_LENGTH = 4;
const IV_LENGTH = 12;
const EMPTY = Buffer.alloc(0);

const iv = (counter: number) => {
  const out = Buffer.alloc(IV_LENGTH);
  out.writeUInt32BE(counter, 8);
  return out;
};
const sha256 = (data: Buffer) => Promise.resolve(createHash('sha256').update(data).digest());

/** Installs the peer's root key as the certificate root baileys trusts (in this process). */
export const trustPeer = (rootPublicKey: Buffer | string): void => {
  const key = typeof rootPublicKey === 'string' ? Buffer.from(rootPublicKey, 'base64') : Buffer.from(rootPublicKey);
  WA_CERT_DETAILS.PUBLIC_KEY = key;
};

export type PeerConnection = {
  readonly id: number;
  /** registration (no creds) or login (stored creds: username + device) */
  readonly kind: 'registration' | 'login' | 'unknown';
  readonly login: { username: string; device: number } | null;
  /** the refs sent in this connection's pair-device IQ */
  readonly refs: string[];
  readonly received: BinaryNode[];
  send(node: BinaryNode): Promise<void>;
  close(): void;
};

export type WaPeerOptions = {
  /** refs per pair-device IQ (WhatsApp sends 6); baileys shows one QR per ref */
  refs?: number;
  /** the phone's number (the account the device is linked to) */
  phone?: string;
  /** answers a login with `failure reason=<code>` instead of success (e.g. 401: the device was unlinked) */
  loginFailure?: number | null;
};

export type WaPeer = {
  readonly url: string;
  readonly rootPublicKey: Buffer;
  readonly connections: PeerConnection[];
  /** the newest connection */
  current(): PeerConnection | undefined;
  /** waits until a connection satisfies `test` (polls the list; resolves with it) */
  waitFor(test: (c: PeerConnection) => boolean, timeoutMs?: number): Promise<PeerConnection>;
  /** the phone scans a QR baileys showed: pair-success on the connection that sent its ref */
  scan(qr: string): Promise<void>;
  /**
   * A contact's phone sends the linked device a text: a Signal session is opened to the device with the
   * pre-keys it registered with (its signed pre-key, no one-time key), the message is encrypted (`pkmsg`)
   * and delivered as a `message` stanza on `connection`.
   */
  sendText(
    connection: PeerConnection,
    message: { from: string; id: string; text: string; pushName: string },
  ): Promise<void>;
  options: WaPeerOptions;
  close(): Promise<void>;
};

const frame = (data: Buffer) => {
  const out = Buffer.alloc(3 + data.length);
  out.writeUIntBE(data.length, 0, 3);
  data.copy(out, 3);
  return out;
};

/** Starts the peer on 127.0.0.1 (a free port). */
export const startWaPeer = async (options: WaPeerOptions = {}): Promise<WaPeer> => {
  const root = Curve.generateKeyPair();
  const intermediate = Curve.generateKeyPair();
  const serverStatic = Curve.generateKeyPair();
  const phoneIdentity = Curve.generateKeyPair();
  const Details = proto.CertChain.NoiseCertificate.Details;
  const intermediateDetails = Details.encode({ serial: 1, issuerSerial: 0, key: intermediate.public }).finish();
  const leafDetails = Details.encode({ serial: 2, issuerSerial: 1, key: serverStatic.public }).finish();
  const certChain = proto.CertChain.encode({
    intermediate: { details: intermediateDetails, signature: Curve.sign(root.private, intermediateDetails) },
    leaf: { details: leafDetails, signature: Curve.sign(intermediate.private, leafDetails) },
  }).finish();

  /** a recipient device's Signal identity and pre-keys, as WhatsApp serves them (one per jid) */
  const bundles = new Map<string, BinaryNode>();
  const bundleOf = (jid: string): BinaryNode => {
    const known = bundles.get(jid);
    if (known) return known;
    const identity = Curve.generateKeyPair();
    const signed = signedKeyPair(identity, 1);
    const node: BinaryNode = {
      tag: 'user',
      attrs: { jid },
      content: [
        { tag: 'registration', attrs: {}, content: encodeBigEndian(bundles.size + 1000, 4) },
        { tag: 'type', attrs: {}, content: Buffer.from([5]) },
        { tag: 'identity', attrs: {}, content: Buffer.from(identity.public) },
        xmppSignedPreKey(signed),
        xmppPreKey(Curve.generateKeyPair(), 7),
      ],
    };
    bundles.set(jid, node);
    return node;
  };
  /** the LID WhatsApp assigns a phone number's account (the linked phone's is the one `success` names) */
  const lidOf = (pnJid: string): string => {
    const user = pnJid.split('@')[0]!.split(':')[0]!;
    return user === phone ? OWN_LID : `8${user}@lid`;
  };
  const connections: PeerConnection[] = [];
  /** the pre-keys the device registered with (ClientPayload.devicePairingData), for sessions to it */
  let registered: proto.ClientPayload.IDevicePairingRegistrationData | null = null;
  /** the contacts' side of Signal: one in-memory repository, as their phones would keep it */
  const contactKeys: Record<string, Record<string, unknown>> = {};
  const quiet = { level: 'silent', child: () => quiet, trace() {}, debug() {}, info() {}, warn() {}, error() {} };
  const contactCreds = initAuthCreds();
  const contacts = makeLibSignalRepository(
    {
      creds: contactCreds,
      keys: addTransactionCapability(
        {
          get: (type, ids) =>
            Object.fromEntries(
              ids.filter((id) => contactKeys[type]?.[id] !== undefined).map((id) => [id, contactKeys[type]![id]]),
            ) as never,
          set: (data: SignalDataSet) => {
            for (const [type, entries] of Object.entries(data))
              for (const [id, value] of Object.entries(entries ?? {})) (contactKeys[type] ??= {})[id] = value;
          },
        },
        quiet,
        { maxCommitRetries: 1, delayBetweenTriesMs: 1 },
      ),
    },
    quiet,
  );
  let nextId = 0;
  let tag = 0;
  const http: Server = createServer();
  const wss = new WebSocketServer({ server: http, path: '/ws/chat' });
  const phone = options.phone ?? '34600000001';
  const OWN_LID = '100000000000001@lid';

  wss.on('connection', (ws: WebSocket) => {
    const id = ++nextId;
    // ---- Noise XX, responder side ------------------------------------------------------------------
    let hash = Buffer.from(NOISE_MODE);
    let salt = hash;
    let key = hash;
    let counter = 0;
    let inBytes = Buffer.alloc(0);
    let introSkipped = false;
    let stage: 'hello' | 'finish' | 'transport' = 'hello';
    let serverEphemeral: KeyPair | null = null;
    let transport: { enc: Buffer; dec: Buffer; read: number; write: number } | null = null;
    let queue = Promise.resolve();
    const authenticate = async (data: Uint8Array) => {
      hash = await sha256(Buffer.concat([hash, data]));
    };
    const mixIntoKey = (data: Uint8Array) => {
      const out = Buffer.from(hkdf(Buffer.from(data), 64, { salt, info: '' }));
      salt = out.subarray(0, 32);
      key = out.subarray(32);
      counter = 0;
    };
    const encrypt = async (plaintext: Uint8Array) => {
      const result = aesEncryptGCM(plaintext, key, iv(counter++), hash);
      await authenticate(result);
      return result;
    };
    const decrypt = async (ciphertext: Uint8Array) => {
      const result = aesDecryptGCM(ciphertext, key, iv(counter++), hash);
      await authenticate(ciphertext);
      return result;
    };

    const connection: PeerConnection & { kind: PeerConnection['kind']; login: PeerConnection['login'] } = {
      id,
      kind: 'unknown',
      login: null,
      refs: [],
      received: [],
      send(node) {
        if (transport === null) return Promise.reject(new Error('no transport yet'));
        const plain = encodeBinaryNode(node);
        const cipher = aesEncryptGCM(plain, transport.enc, iv(transport.write++), EMPTY);
        ws.send(frame(cipher));
        return Promise.resolve();
      },
      close: () => ws.close(),
    };
    connections.push(connection);

    const result = (request: BinaryNode, content?: BinaryNode[]): BinaryNode => ({
      tag: 'iq',
      attrs: { id: request.attrs.id!, type: 'result', from: 's.whatsapp.net' },
      ...(content ? { content } : {}),
    });

    const onNode = async (node: BinaryNode) => {
      connection.received.push(node);
      if (node.tag === 'message')
        return connection.send({
          tag: 'ack',
          attrs: {
            class: 'message',
            id: node.attrs.id!,
            from: node.attrs.to!,
            t: String(Math.floor(Date.now() / 1000)),
          },
        });
      if (node.tag !== 'iq' || (node.attrs.type !== 'get' && node.attrs.type !== 'set')) return;
      const children = Array.isArray(node.content) ? node.content : [];
      const first = children[0]?.tag;
      if (node.attrs.xmlns === 'encrypt' && first === 'count')
        return connection.send(result(node, [{ tag: 'count', attrs: { value: '100' } }]));
      if (node.attrs.xmlns === 'encrypt' && first === 'digest')
        return connection.send(result(node, [{ tag: 'digest', attrs: {} }]));
      // device lists: every user has one device (0, the phone)
      if (node.attrs.xmlns === 'usync') {
        const usync = getBinaryNodeChild(node, 'usync');
        const users = getBinaryNodeChildren(getBinaryNodeChild(usync, 'list'), 'user');
        return connection.send(
          result(node, [
            {
              tag: 'usync',
              attrs: {},
              content: [
                {
                  tag: 'list',
                  attrs: {},
                  content: users.map((user): BinaryNode => ({
                    tag: 'user',
                    attrs: { jid: user.attrs.jid! },
                    content: [
                      ...(user.attrs.jid!.endsWith('@s.whatsapp.net')
                        ? [{ tag: 'lid', attrs: { val: lidOf(user.attrs.jid!) } } as BinaryNode]
                        : []),
                      {
                        tag: 'devices',
                        attrs: {},
                        content: [{ tag: 'device-list', attrs: {}, content: [{ tag: 'device', attrs: { id: '0' } }] }],
                      },
                    ],
                  })),
                },
              ],
            },
          ]),
        );
      }
      // pre-key bundles of those devices, so baileys can open Signal sessions and encrypt to them
      if (node.attrs.xmlns === 'encrypt' && first === 'key') {
        const users = getBinaryNodeChildren(getBinaryNodeChild(node, 'key'), 'user');
        return connection.send(
          result(node, [{ tag: 'list', attrs: {}, content: users.map((user) => bundleOf(user.attrs.jid!)) }]),
        );
      }
      return connection.send(result(node));
    };

    const afterHandshake = async (payload: proto.ClientPayload) => {
      if (payload.username !== null && payload.username !== undefined && Number(payload.username) > 0) {
        connection.kind = 'login';
        connection.login = { username: String(payload.username), device: payload.device ?? 0 };
        if (options.loginFailure) {
          await connection.send({ tag: 'failure', attrs: { reason: String(options.loginFailure) } });
          return;
        }
        await connection.send({
          tag: 'success',
          attrs: { t: String(Math.floor(Date.now() / 1000)), lid: '100000000000001@lid' },
        });
        await connection.send({ tag: 'ib', attrs: {}, content: [{ tag: 'offline', attrs: { count: '0' } }] });
        return;
      }
      connection.kind = 'registration';
      registered = payload.devicePairingData ?? null;
      const refs = Array.from({ length: options.refs ?? 6 }, () => `2@${randomBytes(24).toString('base64')}`);
      connection.refs.push(...refs);
      await connection.send({
        tag: 'iq',
        attrs: { id: `peer-${++tag}`, type: 'set', xmlns: 'md', from: 's.whatsapp.net' },
        content: [
          {
            tag: 'pair-device',
            attrs: {},
            content: refs.map((ref) => ({ tag: 'ref', attrs: {}, content: Buffer.from(ref) })),
          },
        ],
      });
    };

    const onFrame = async (data: Buffer) => {
      if (stage === 'hello') {
        const hello = proto.HandshakeMessage.decode(data).clientHello!;
        await authenticate(NOISE_WA_HEADER);
        await authenticate(hello.ephemeral!);
        serverEphemeral = Curve.generateKeyPair();
        await authenticate(serverEphemeral.public);
        mixIntoKey(Curve.sharedKey(serverEphemeral.private, hello.ephemeral!));
        const staticEnc = await encrypt(serverStatic.public);
        mixIntoKey(Curve.sharedKey(serverStatic.private, hello.ephemeral!));
        const payloadEnc = await encrypt(certChain);
        ws.send(
          frame(
            Buffer.from(
              proto.HandshakeMessage.encode({
                serverHello: { ephemeral: serverEphemeral.public, static: staticEnc, payload: payloadEnc },
              }).finish(),
            ),
          ),
        );
        stage = 'finish';
        return;
      }
      if (stage === 'finish') {
        const finish = proto.HandshakeMessage.decode(data).clientFinish!;
        const clientStatic = await decrypt(finish.static!);
        mixIntoKey(Curve.sharedKey(serverEphemeral!.private, clientStatic));
        const payload = proto.ClientPayload.decode(await decrypt(finish.payload!));
        const out = Buffer.from(hkdf(Buffer.alloc(0), 64, { salt, info: '' }));
        // the client writes with the first half and reads with the second
        transport = { dec: out.subarray(0, 32), enc: out.subarray(32), read: 0, write: 0 };
        stage = 'transport';
        await afterHandshake(payload);
        return;
      }
      const plain = aesDecryptGCM(data, transport!.dec, iv(transport!.read++), EMPTY);
      await onNode(await decodeBinaryNode(plain));
    };

    ws.on('message', (raw: Buffer) => {
      queue = queue
        .then(async () => {
          inBytes = Buffer.concat([inBytes, raw]);
          if (!introSkipped) {
            if (inBytes.length < NOISE_HEADER_LENGTH) return;
            inBytes = inBytes.subarray(NOISE_HEADER_LENGTH);
            introSkipped = true;
          }
          while (inBytes.length >= 3) {
            const size = inBytes.readUIntBE(0, 3);
            if (inBytes.length < size + 3) return;
            const data = inBytes.subarray(3, size + 3);
            inBytes = inBytes.subarray(size + 3);
            await onFrame(Buffer.from(data));
          }
        })
        .catch(() => ws.close());
    });
  });

  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;

  const peer: WaPeer = {
    url: `ws://127.0.0.1:${port}/ws/chat`,
    rootPublicKey: Buffer.from(root.public),
    connections,
    options,
    current: () => connections[connections.length - 1],
    async waitFor(test, timeoutMs = 20_000) {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const found = connections.find(test);
        if (found) return found;
        if (Date.now() > until) throw new Error('waPeer: no such connection in time');
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    },
    async scan(qr) {
      // https://wa.me/settings/linked_devices#ref,noiseKey,identityKey,advSecret,platform
      const [ref, , identityKeyB64, advB64] = qr.slice(qr.indexOf('#') + 1).split(',');
      const connection = connections.find((c) => c.refs.includes(ref!));
      if (!connection) throw new Error('waPeer: no connection issued that QR');
      const identityKey = Buffer.from(identityKeyB64!, 'base64');
      const deviceDetails = proto.ADVDeviceIdentity.encode({
        rawId: 1,
        timestamp: Math.floor(Date.now() / 1000),
        keyIndex: 1,
      }).finish();
      const accountSignature = Curve.sign(
        phoneIdentity.private,
        Buffer.concat([Buffer.from([6, 0]), deviceDetails, identityKey]),
      );
      const details = proto.ADVSignedDeviceIdentity.encode({
        details: deviceDetails,
        accountSignatureKey: phoneIdentity.public,
        accountSignature,
      }).finish();
      const hmac = createHmac('sha256', Buffer.from(advB64!, 'base64')).update(details).digest();
      const identity = proto.ADVSignedDeviceIdentityHMAC.encode({ details, hmac }).finish();
      await connection.send({
        tag: 'iq',
        attrs: {
          id: `peer-${++tag}`,
          type: 'result',
          from: 's.whatsapp.net',
          t: String(Math.floor(Date.now() / 1000)),
        },
        content: [
          {
            tag: 'pair-success',
            attrs: {},
            content: [
              { tag: 'device-identity', attrs: {}, content: Buffer.from(identity) },
              { tag: 'platform', attrs: { name: 'android' } },
              { tag: 'device', attrs: { jid: `${phone}:7@s.whatsapp.net`, lid: '100000000000001:7@lid' } },
            ],
          },
        ],
      });
      // WhatsApp then asks the new device to restart its connection (and log in with its creds).
      await waitUntil(() =>
        connection.received.some((n) => Array.isArray(n.content) && n.content[0]?.tag === 'pair-device-sign'),
      );
      await connection.send({ tag: 'stream:error', attrs: { code: '515' } });
    },
    async sendText(connection, message) {
      if (registered === null) throw new Error('waPeer: no device registered yet');
      const device = jidEncode(phone, 's.whatsapp.net', 7);
      if (!contactKeys.session?.[`${phone}.7`])
        await contacts.injectE2ESession({
          jid: device,
          session: {
            registrationId: Buffer.from(registered.eRegid!).readUInt32BE(0),
            identityKey: Buffer.concat([Buffer.from([5]), Buffer.from(registered.eIdent!)]),
            signedPreKey: {
              keyId: Buffer.from(registered.eSkeyId!).readUIntBE(0, 3),
              publicKey: Buffer.concat([Buffer.from([5]), Buffer.from(registered.eSkeyVal!)]),
              signature: Buffer.from(registered.eSkeySig!),
            },
          },
        });
      const plain = writeRandomPadMax16(proto.Message.encode({ conversation: message.text }).finish());
      const { type, ciphertext } = await contacts.encryptMessage({ jid: device, data: plain });
      await connection.send({
        tag: 'message',
        attrs: {
          from: message.from,
          id: message.id,
          type: 'text',
          notify: message.pushName,
          t: String(Math.floor(Date.now() / 1000)),
        },
        content: [{ tag: 'enc', attrs: { v: '2', type }, content: ciphertext }],
      });
    },
    async close() {
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
  return peer;
};

const waitUntil = async (test: () => boolean, timeoutMs = 20_000) => {
  const until = Date.now() + timeoutMs;
  while (!test()) {
    if (Date.now() > until) throw new Error('waPeer: condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
};

/** A node's first child tag (for assertions on what the client sent). */
export const firstChildTag = (node: BinaryNode): string | undefined =>
  Array.isArray(node.content) ? node.content[0]?.tag : undefined;

export { getBinaryNodeChild };
