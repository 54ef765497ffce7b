import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { ConfigError, loadConfig } from '#infrastructure/config/config.js';
import { prepareEnvironment, readablePassword } from '#infrastructure/config/dotenv.js';
import { Fernet } from '#infrastructure/secrets/fernet.js';

describe('first start environment (.env bootstrap)', () => {
  let cwd: string;
  let printed: string[];
  const print = (line: string) => {
    printed.push(line);
  };
  const envFile = () => join(cwd, '.env');

  beforeEach(() => {
    cwd = mkdtempSync(join(tmpdir(), 'chatbot-dotenv-'));
    printed = [];
  });
  afterEach(() => rmSync(cwd, { recursive: true, force: true }));

  it('on a first start writes a private .env whose random secrets pass validation, and prints how to log in', () => {
    const env = prepareEnvironment({ cwd, env: { PORT: '8010' }, print });

    expect(existsSync(envFile())).to.equal(true);
    expect(statSync(envFile()).mode & 0o777).to.equal(0o600);
    const config = loadConfig(env);
    expect(Buffer.from(config.jwt.secret, 'base64url')).to.have.length(48);
    expect(config.admin.username).to.equal('admin');
    expect(config.admin.password).to.match(/^[A-Za-z2-9]{20}$/);
    expect(config.fernetKeys).to.have.length(1);
    expect(() => new Fernet(config.fernetKeys[0]!)).not.to.throw();
    expect(config.fernetKeys[0]).to.match(/^[A-Za-z0-9_-]{43}=$/);

    const output = printed.join('\n');
    expect(output).to.include('http://localhost:8010/');
    expect(output).to.include('username: admin');
    expect(output).to.include(config.admin.password);
    expect(output).to.include(envFile());
    expect(readFileSync(envFile(), 'utf8')).to.match(/^# /);
  });

  it('two first starts generate different secrets', () => {
    const first = loadConfig(prepareEnvironment({ cwd, env: {}, print }));
    const other = mkdtempSync(join(tmpdir(), 'chatbot-dotenv-'));
    try {
      const second = loadConfig(prepareEnvironment({ cwd: other, env: {}, print }));
      expect(second.jwt.secret).not.to.equal(first.jwt.secret);
      expect(second.admin.password).not.to.equal(first.admin.password);
      expect(second.fernetKeys[0]).not.to.equal(first.fernetKeys[0]);
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
    expect(first.jwt.secret).not.to.equal(first.admin.password);
  });

  it('the second start reads the .env it wrote and prints nothing', () => {
    const first = prepareEnvironment({ cwd, env: {}, print });
    printed = [];
    const second = prepareEnvironment({ cwd, env: {}, print });
    expect(second).to.deep.equal(first);
    expect(printed).to.deep.equal([]);
  });

  it('does not touch an existing .env, and loads it', () => {
    writeFileSync(envFile(), 'JWT_SECRET=from-file-0123456789-0123456789-0123\nADMIN_PASSWORD=from-file-pw\n');
    const env = prepareEnvironment({ cwd, env: {}, print });
    expect(readFileSync(envFile(), 'utf8')).to.equal(
      'JWT_SECRET=from-file-0123456789-0123456789-0123\nADMIN_PASSWORD=from-file-pw\n',
    );
    expect(env).to.include({ JWT_SECRET: 'from-file-0123456789-0123456789-0123', ADMIN_PASSWORD: 'from-file-pw' });
    expect(printed).to.deep.equal([]);
  });

  it('does not write a file when the required secrets are already in the environment', () => {
    const given = { JWT_SECRET: 'x'.repeat(40), ADMIN_PASSWORD: 'given-password' };
    expect(prepareEnvironment({ cwd, env: given, print })).to.deep.equal(given);
    expect(existsSync(envFile())).to.equal(false);
    expect(printed).to.deep.equal([]);
  });

  it('never writes a file in production, even with the secrets missing', () => {
    const env = prepareEnvironment({ cwd, env: { NODE_ENV: 'production' }, print });
    expect(existsSync(envFile())).to.equal(false);
    expect(printed).to.deep.equal([]);
    expect(() => loadConfig(env)).to.throw(/JWT_SECRET: missing/);
  });

  it('variables already in the environment win over .env values; empty ones are filled from .env', () => {
    writeFileSync(
      envFile(),
      'JWT_SECRET=file-secret-0123456789-0123456789-0123\nADMIN_PASSWORD=file-password\nPORT=9000\nLOG_LEVEL=debug\n',
    );
    const env = prepareEnvironment({
      cwd,
      env: { PORT: '8003', ADMIN_PASSWORD: 'env-password', LOG_LEVEL: '' },
      print,
    });
    expect(env).to.include({
      PORT: '8003',
      ADMIN_PASSWORD: 'env-password',
      JWT_SECRET: 'file-secret-0123456789-0123456789-0123',
      LOG_LEVEL: 'debug',
    });
  });

  it('when only ADMIN_PASSWORD is given, the file is written but the printed login does not claim a password it does not use', () => {
    const env = prepareEnvironment({ cwd, env: { ADMIN_PASSWORD: 'mine-from-env' }, print });
    expect(env.ADMIN_PASSWORD).to.equal('mine-from-env');
    const generated = /ADMIN_PASSWORD=(\S+)/.exec(readFileSync(envFile(), 'utf8'))![1]!;
    expect(printed.join('\n')).not.to.include(generated);
    expect(printed.join('\n')).to.include('ADMIN_PASSWORD already set in your environment');
  });

  it('generated admin passwords avoid look-alike characters', () => {
    for (let i = 0; i < 50; i += 1) expect(readablePassword()).to.match(/^[^0O1lI]{20}$/);
  });

  describe('a missing .env over existing embedded data', () => {
    /** What an earlier start leaves in DATA_DIR: PGlite's cluster. */
    const plantData = (dir: string) => {
      mkdirSync(join(dir, 'pgdata'), { recursive: true });
      writeFileSync(join(dir, 'pgdata', 'PG_VERSION'), '17\n');
    };

    it('refuses to generate secrets that cannot open the data, writes and prints nothing, and says how to start over', () => {
      plantData(join(cwd, 'data'));
      let error: unknown;
      try {
        prepareEnvironment({ cwd, env: {}, print });
      } catch (caught) {
        error = caught;
      }
      expect(error).to.be.instanceOf(ConfigError);
      const message = (error as ConfigError).message;
      expect(message)
        .to.include(`${envFile()} is missing`)
        .and.include(join(cwd, 'data'))
        .and.include('admin password that does not work')
        .and.include('Put the old .env back')
        .and.include(`mv ${join(cwd, 'data')} ${join(cwd, 'data')}.old`);
      expect(existsSync(envFile())).to.equal(false);
      expect(printed).to.deep.equal([]);
    });

    it('looks in DATA_DIR when it is set, relative to the working directory', () => {
      plantData(join(cwd, 'elsewhere'));
      expect(() => prepareEnvironment({ cwd, env: { DATA_DIR: 'elsewhere' }, print })).to.throw(
        ConfigError,
        /elsewhere holds data/,
      );
      // The default ./data is empty: with DATA_DIR unset, a first start goes ahead.
      expect(() => prepareEnvironment({ cwd, env: {}, print })).not.to.throw();
    });

    it('after the data is moved away on purpose, a start writes fresh secrets again', () => {
      plantData(join(cwd, 'data'));
      expect(() => prepareEnvironment({ cwd, env: {}, print })).to.throw(ConfigError);
      renameSync(join(cwd, 'data'), join(cwd, 'data.old'));
      const config = loadConfig(prepareEnvironment({ cwd, env: {}, print }));
      expect(config.admin.password).to.match(/^[A-Za-z2-9]{20}$/);
      expect(printed.join('\n')).to.include(config.admin.password);
    });

    it('with the secrets in the environment there is nothing to generate, so existing data is fine', () => {
      plantData(join(cwd, 'data'));
      const given = { JWT_SECRET: 'x'.repeat(40), ADMIN_PASSWORD: 'given-password' };
      expect(prepareEnvironment({ cwd, env: given, print })).to.deep.equal(given);
    });

    it('the written .env no longer suggests deleting it to get fresh secrets', () => {
      prepareEnvironment({ cwd, env: {}, print });
      const content = readFileSync(envFile(), 'utf8');
      expect(content).not.to.match(/delete this file to get fresh secrets/i);
      expect(content).to.include('Do not delete this file while DATA_DIR holds data');
    });
  });
});
