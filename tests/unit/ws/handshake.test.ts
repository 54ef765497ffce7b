import type { IncomingMessage } from 'node:http';
import { expect } from 'chai';
import { clientAddress, originAllowed, queryCarriesCredential } from '#interfaces/ws/handshake.js';

const req = (remoteAddress: string, forwardedFor?: string) =>
  ({
    socket: { remoteAddress },
    headers: forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor },
  }) as unknown as IncomingMessage;

describe('WebSocket handshake checks', () => {
  it('accepts listed origins, its own origin and no origin; refuses other sites and "null"', () => {
    const allowed = new Set(['https://console.example.com']);
    expect(originAllowed('https://console.example.com', 'api.example.com', allowed, true)).to.equal(true);
    expect(originAllowed('http://localhost:8003', 'localhost:8003', allowed, true)).to.equal(true);
    expect(originAllowed(undefined, 'localhost:8003', allowed, true)).to.equal(true);
    expect(originAllowed('http://localhost:8003', 'localhost:8003', allowed, false)).to.equal(false);
    expect(originAllowed('https://evil.example.net', 'localhost:8003', allowed, true)).to.equal(false);
    expect(originAllowed('http://localhost:9999', 'localhost:8003', allowed, true)).to.equal(false);
    expect(originAllowed('null', 'localhost:8003', allowed, true)).to.equal(false);
  });

  it('finds credentials in a query string by parameter name or JWT shape, and lets other parameters pass', () => {
    const q = (s: string) => queryCarriesCredential(new URLSearchParams(s));
    expect(q('token=abc')).to.equal(true);
    expect(q('access_token=abc')).to.equal(true);
    expect(q('Authorization=abc')).to.equal(true);
    expect(q('x=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.sig')).to.equal(true);
    expect(q('v=2&lang=es')).to.equal(false);
    expect(q('')).to.equal(false);
  });

  it('takes the client address from X-Forwarded-For only as far as the proxies are trusted', () => {
    expect(clientAddress(req('10.0.0.1', '1.1.1.1, 2.2.2.2'), false)).to.equal('10.0.0.1');
    expect(clientAddress(req('10.0.0.1', '1.1.1.1, 2.2.2.2'), 1)).to.equal('2.2.2.2');
    expect(clientAddress(req('10.0.0.1', '1.1.1.1, 2.2.2.2'), 2)).to.equal('1.1.1.1');
    expect(clientAddress(req('10.0.0.1', '1.1.1.1, 2.2.2.2'), 5)).to.equal('1.1.1.1');
    expect(clientAddress(req('10.0.0.1', '1.1.1.1, 2.2.2.2'), true)).to.equal('1.1.1.1');
    expect(clientAddress(req('10.0.0.1'), 1)).to.equal('10.0.0.1');
  });
});
