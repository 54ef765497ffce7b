import { createHmac, randomBytes } from 'node:crypto';
import { expect } from 'chai';
import jwt from 'jsonwebtoken';
import { createTokenService, TokenConfigError, TokenError } from '#infrastructure/identity/jwt.js';
import type { TokenErrorReason, TokenServiceConfig, TokenType } from '#infrastructure/identity/jwt.js';

const secret = randomBytes(32).toString('hex');
const T0 = Date.parse('2025-03-01T12:00:00.000Z');
let clock = T0;
const config: TokenServiceConfig = {
  secret,
  issuer: 'chatbot',
  audience: 'chatbot-console',
  accessTtlSeconds: 900,
  refreshTtlSeconds: 86_400,
  wsTtlSeconds: 30,
  now: () => clock,
};
const tokens = createTokenService(config);
const ACC = '00000000-0000-4000-8000-00000000a001';
const SESS = '00000000-0000-4000-8000-00000000b001';
const RT = '00000000-0000-4000-8000-00000000c001';
const user = { accountId: ACC, sessionId: SESS } as const;

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
/** hand-made JWT: any header, any payload, HMAC-SHA256 over them (or no signature at all) */
const craft = (
  header: Record<string, unknown>,
  payload: Record<string, unknown>,
  sign: 'hs256' | 'none' = 'hs256',
  key = secret,
) => {
  const input = `${b64(header)}.${b64(payload)}`;
  return sign === 'none' ? `${input}.` : `${input}.${createHmac('sha256', key).update(input).digest('base64url')}`;
};
const iat = Math.floor(T0 / 1000);
const accessPayload = {
  sub: ACC,
  sid: SESS,
  jti: '00000000-0000-4000-8000-00000000d001',
  iss: 'chatbot',
  aud: 'chatbot-console',
  iat,
  exp: iat + 900,
};

const rejects = (token: string | null | undefined, type: TokenType, reason: TokenErrorReason) => {
  let caught: unknown;
  try {
    tokens.verify(token, type);
  } catch (error) {
    caught = error;
  }
  expect(caught, `expected TokenError(${reason})`).to.be.instanceOf(TokenError);
  const error = caught as TokenError;
  expect(error.reason).to.equal(reason);
  expect(error.code).to.equal('invalid_token');
  if (token) expect(error.message).not.to.include(token);
  expect(error.message).not.to.include(secret);
};

describe('token service (JWT)', () => {
  beforeEach(() => {
    clock = T0;
  });

  it('an access token verifies back to its account and session, and carries no role', () => {
    const issued = tokens.issueAccessToken(user);
    expect(issued).to.include({ expiresIn: 900, expiresAt: new Date(T0 + 900_000).toISOString() });
    expect(tokens.verify(issued.token, 'access')).to.deep.equal({
      type: 'access',
      accountId: ACC,
      sessionId: SESS,
      jti: issued.jti,
      issuedAt: iat,
      expiresAt: iat + 900,
    });
    const { header } = jwt.decode(issued.token, { complete: true })!;
    expect(header).to.include({ alg: 'HS256', typ: 'at+jwt' });
  });

  it('a refresh token carries its token id as jti and its session', () => {
    const issued = tokens.issueRefreshToken({ accountId: ACC, sessionId: SESS, tokenId: RT });
    expect(issued).to.include({ jti: RT, expiresIn: 86_400 });
    expect(tokens.verify(issued.token, 'refresh')).to.include({
      type: 'refresh',
      accountId: ACC,
      sessionId: SESS,
      jti: RT,
    });
  });

  it('a ws token carries its scope and lives 30 s', () => {
    const issued = tokens.issueWsToken({ accountId: ACC, sessionId: SESS, scope: 'metrics:read' });
    expect(tokens.verify(issued.token, 'ws', { scope: 'metrics:read' })).to.include({
      type: 'ws',
      scope: 'metrics:read',
      jti: issued.jti,
    });
    clock = T0 + 29_000;
    expect(() => tokens.verify(issued.token, 'ws')).not.to.throw();
    clock = T0 + 30_000;
    rejects(issued.token, 'ws', 'expired');
  });

  it('every access and ws token gets its own jti', () => {
    expect(tokens.issueAccessToken(user).jti).not.to.equal(tokens.issueAccessToken(user).jti);
    expect(tokens.issueWsToken({ accountId: ACC, sessionId: SESS, scope: 'metrics:read' }).jti).not.to.equal(
      tokens.issueWsToken({ accountId: ACC, sessionId: SESS, scope: 'metrics:read' }).jti,
    );
  });

  it('an access token is refused from the second its exp is reached', () => {
    const { token } = tokens.issueAccessToken(user);
    clock = T0 + 899_999;
    expect(tokens.verify(token, 'access').accountId).to.equal(ACC);
    clock = T0 + 900_000;
    rejects(token, 'access', 'expired');
  });

  it('"alg: none" is refused, with or without a signature part', () => {
    rejects(craft({ alg: 'none', typ: 'at+jwt' }, accessPayload, 'none'), 'access', 'invalid_signature');
    const withSig = craft({ alg: 'none', typ: 'at+jwt' }, accessPayload);
    rejects(withSig, 'access', 'invalid_signature');
    rejects(craft({ alg: 'None', typ: 'at+jwt' }, accessPayload, 'none'), 'access', 'invalid_signature');
  });

  it('HS512 with the same secret is refused: the algorithm is pinned', () => {
    const token = jwt.sign(accessPayload, secret, { algorithm: 'HS512', header: { alg: 'HS512', typ: 'at+jwt' } });
    rejects(token, 'access', 'invalid_signature');
  });

  it('an RS256 header HMAC-signed with the secret (key confusion) is refused', () => {
    rejects(craft({ alg: 'RS256', typ: 'at+jwt' }, accessPayload), 'access', 'invalid_signature');
  });

  it('a token signed with another secret is refused', () => {
    const other = createTokenService({ ...config, secret: randomBytes(32).toString('hex') });
    rejects(other.issueAccessToken(user).token, 'access', 'invalid_signature');
  });

  it('a tampered payload (another account slipped in) is refused', () => {
    const { token } = tokens.issueAccessToken(user);
    const [h, , s] = token.split('.');
    rejects(`${h}.${b64({ ...accessPayload, sub: RT })}.${s}`, 'access', 'invalid_signature');
  });

  it('a token from another issuer or for another audience is refused', () => {
    rejects(
      createTokenService({ ...config, issuer: 'someone-else' }).issueAccessToken(user).token,
      'access',
      'wrong_issuer',
    );
    rejects(
      createTokenService({ ...config, audience: 'another-app' }).issueAccessToken(user).token,
      'access',
      'wrong_audience',
    );
  });

  it('a token without exp is refused even though its signature is right', () => {
    const { exp: _exp, ...noExp } = accessPayload;
    rejects(craft({ alg: 'HS256', typ: 'at+jwt' }, noExp), 'access', 'malformed');
  });

  it('a token of one kind is refused where another kind is expected', () => {
    const access = tokens.issueAccessToken(user).token;
    const refresh = tokens.issueRefreshToken({ accountId: ACC, sessionId: SESS, tokenId: RT }).token;
    const ws = tokens.issueWsToken({ accountId: ACC, sessionId: SESS, scope: 'metrics:read' }).token;
    rejects(ws, 'access', 'wrong_type');
    rejects(access, 'ws', 'wrong_type');
    rejects(refresh, 'access', 'wrong_type');
    rejects(access, 'refresh', 'wrong_type');
    rejects(refresh, 'ws', 'wrong_type');
  });

  it('a generic "JWT" typ, or none at all, is refused as the wrong type', () => {
    rejects(craft({ alg: 'HS256', typ: 'JWT' }, accessPayload), 'access', 'wrong_type');
    rejects(craft({ alg: 'HS256' }, accessPayload), 'access', 'wrong_type');
  });

  it('a ws token with an unknown scope is refused', () => {
    const payload = {
      sub: ACC,
      sid: SESS,
      scope: 'admin:all',
      jti: RT,
      iss: 'chatbot',
      aud: 'chatbot-console',
      iat,
      exp: iat + 30,
    };
    rejects(craft({ alg: 'HS256', typ: 'ws+jwt' }, payload), 'ws', 'wrong_scope');
  });

  it('a correctly signed access token with missing claims is refused', () => {
    const { sid: _sid, ...noSession } = accessPayload;
    rejects(craft({ alg: 'HS256', typ: 'at+jwt' }, noSession), 'access', 'malformed');
    rejects(craft({ alg: 'HS256', typ: 'at+jwt' }, { ...accessPayload, sub: 'admin' }), 'access', 'malformed');
  });

  it('a signed token issued in the future beyond the skew, or living longer than configured, is refused', () => {
    const header = { alg: 'HS256', typ: 'at+jwt' };
    rejects(craft(header, { ...accessPayload, iat: iat + 31, exp: iat + 931 }), 'access', 'malformed');
    expect(() =>
      tokens.verify(craft(header, { ...accessPayload, iat: iat + 30, exp: iat + 930 }), 'access'),
    ).not.to.throw();
    rejects(craft(header, { ...accessPayload, exp: iat + 901 }), 'access', 'malformed');
    rejects(craft(header, { ...accessPayload, iat: iat - 10_000, exp: iat + 900 }), 'access', 'malformed');
  });

  it('missing and garbage tokens are refused', () => {
    rejects(undefined, 'access', 'missing');
    rejects(null, 'access', 'missing');
    rejects('', 'access', 'missing');
    rejects('garbage', 'access', 'malformed');
    rejects('a.b.c', 'access', 'malformed');
    rejects('a.b.c.d', 'access', 'malformed');
    rejects(`${b64({ alg: 'HS256' })}.not-json.sig`, 'access', 'malformed');
  });

  it('a short secret or a bad ttl is a configuration error at startup', () => {
    expect(() => createTokenService({ ...config, secret: 'short' })).to.throw(TokenConfigError);
    expect(() => createTokenService({ ...config, accessTtlSeconds: 0 })).to.throw(TokenConfigError);
    expect(() => createTokenService({ ...config, issuer: '' })).to.throw(TokenConfigError);
  });
});
