import { expect } from 'chai';
import { InvalidRole, InvalidUsername, WeakPassword } from '#domain/identity/errors.js';
import {
  checkPassword,
  checkRole,
  checkUsername,
  PASSWORD_MAX_LENGTH,
  printable,
  USERNAME_MAX_LENGTH,
} from '#domain/identity/rules.js';
import { textProblem } from '#interfaces/http/shared/text.js';

describe('identity input rules (one source each)', () => {
  it('usernames: 2 to 64 of [a-z0-9._-], case-insensitive', () => {
    expect(checkUsername('  Alice.B ')).to.equal('alice.b');
    expect(() => checkUsername('a')).to.throw(InvalidUsername);
    expect(() => checkUsername('x'.repeat(USERNAME_MAX_LENGTH + 1))).to.throw(InvalidUsername);
    expect(() => checkUsername('adm\u202ein')).to.throw(InvalidUsername);
  });

  it('passwords: 8 to 1024 characters; roles: admin, operator, viewer', () => {
    expect(() => checkPassword('short')).to.throw(WeakPassword);
    expect(() => checkPassword('x'.repeat(PASSWORD_MAX_LENGTH + 1))).to.throw(WeakPassword);
    expect(checkPassword('long-enough')).to.equal('long-enough');
    expect(checkRole('viewer')).to.equal('viewer');
    expect(() => checkRole('root')).to.throw(InvalidRole);
  });

  it('a name shown to people has its control, bidi and lone-surrogate characters escaped, and nothing else', () => {
    expect(printable('adm\u202ein\u0000\ud800x')).to.equal('adm\\u202ein\\u0000\\ud800x');
    expect(printable('José 😀 مرحبا')).to.equal('José 😀 مرحبا');
  });

  it('text inputs: NUL and lone surrogates never, control characters never, bidi controls not in query parameters', () => {
    expect(textProblem('a\u0000b', { bidi: true })).to.equal('unstorable');
    expect(textProblem('\udc00', { bidi: true })).to.equal('unstorable');
    expect(textProblem('😀', { bidi: true })).to.equal(null);
    expect(textProblem('line\nbreak\ttab', { bidi: true })).to.equal(null);
    expect(textProblem('bell\u0007', { bidi: true })).to.equal('control');
    expect(textProblem('a\u202eb', { bidi: false })).to.equal('bidi');
    expect(textProblem('a\u202eb', { bidi: true })).to.equal(null);
  });
});
