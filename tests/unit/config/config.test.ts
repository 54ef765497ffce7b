import { inspect } from 'node:util';
import { expect } from 'chai';
import { ConfigError, loadConfig, redactedConfigSummary } from '#infrastructure/config/config.js';
import type { Config } from '#infrastructure/config/config.js';

const JWT_SECRET = 'jwt-secret-value-that-is-long-enough-0123456789';
const ADMIN_PASSWORD = 'admin-password-value';
const FERNET_A = 'cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=';
const FERNET_B = 'Mvz2Ue3rhLGjTpcRWmRMdBfE5bxQ9EGVHSHudpsmqh8=';
const minimal = { JWT_SECRET, ADMIN_PASSWORD };

const configError = (env: Record<string, string | undefined>): ConfigError => {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).to.be.instanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected loadConfig to throw ConfigError');
};
const variables = (error: ConfigError) => error.issues.map((issue) => issue.variable);
const expectNoLeak = (error: ConfigError, ...secrets: string[]) => {
  const everything = `${error.message}\n${JSON.stringify(error.issues)}\n${inspect(error)}`;
  for (const secret of secrets) expect(everything).not.to.include(secret);
};

describe('configuration', () => {
  it('with only the two required secrets, every other setting takes its documented default', () => {
    const config = loadConfig(minimal);
    expect(config.nodeEnv).to.equal('development');
    expect(config.http).to.deep.equal({
      host: '0.0.0.0',
      port: 8003,
      bodyLimit: '100kb',
      corsOrigins: [],
      trustProxy: false,
    });
    expect(config.dataDir).to.equal('./data');
    expect(config.logLevel).to.equal('info');
    expect(config.jwt).to.deep.equal({
      secret: JWT_SECRET,
      issuer: 'chatbot',
      audience: 'chatbot-api',
      accessTokenTtlSeconds: 900,
      refreshTokenTtlSeconds: 1209600,
      wsTokenTtlSeconds: 60,
    });
    expect(config.admin).to.deep.equal({ username: 'admin', password: ADMIN_PASSWORD });
    expect(config.whatsapp.mode).to.equal('web');
    expect(config.whatsapp.graphUrl).to.equal('https://graph.facebook.com');
    expect(config.whatsapp.graphApiVersion).to.equal('v21.0');
    expect(config.eventStore).to.deep.equal({ kind: 'pglite', dataDir: './data' });
    expect(config.database).to.deep.equal({ kind: 'pglite', dataDir: './data' });
    expect(config.redis).to.equal(null);
    expect(config.fernetKeys).to.deep.equal([]);
    expect(config.login).to.deep.equal({
      maxFailures: 5,
      accountMaxFailures: 50,
      failureWindowSeconds: 900,
      lockoutBaseSeconds: 60,
      lockoutMaxSeconds: 3600,
      lockoutMultiplier: 2,
    });
    expect(config.rateLimits).to.deep.equal({ loginPerMinute: 20, apiPerMinute: 600 });
    expect(config.metrics).to.deep.equal({ token: null, bind: null });
    expect(config.llm).to.deep.equal({ openaiApiKey: null, openaiBaseUrl: null, openaiModel: null, providers: [] });
  });

  it('a missing JWT_SECRET and ADMIN_PASSWORD are both reported, each with how to fix it', () => {
    const error = configError({});
    expect(error.code).to.equal('invalid_config');
    expect(variables(error)).to.deep.equal(['JWT_SECRET', 'ADMIN_PASSWORD']);
    expect(error.message).to.include(
      'JWT_SECRET: missing. Set it to at least 32 random bytes, e.g. `openssl rand -base64 48`',
    );
    expect(error.message).to.match(/ADMIN_PASSWORD: missing\. .*at least 8 characters/);
  });

  it('every invalid variable is listed in one error, not just the first', () => {
    const error = configError({
      ...minimal,
      PORT: 'abc',
      LOG_LEVEL: 'verbose',
      WHATSAPP_MODE: 'cloud',
      LOGIN_MAX_FAILURES: '2.5',
      TRUST_PROXY: 'maybe',
      CORS_ORIGINS: 'https://ok.example,*',
    });
    expect(variables(error)).to.have.members([
      'PORT',
      'LOG_LEVEL',
      'WHATSAPP_APP_SECRET',
      'LOGIN_MAX_FAILURES',
      'TRUST_PROXY',
      'CORS_ORIGINS',
    ]);
    expect(error.message.split('\n')).to.have.length(1 + 6);
    for (const issue of error.issues) expect(issue.fix, issue.variable).to.match(/\S/);
  });

  it('empty values count as unset, so defaults apply and required secrets are reported missing', () => {
    expect(loadConfig({ ...minimal, PORT: '', LOG_LEVEL: '  ' }).http.port).to.equal(8003);
    expect(configError({ ...minimal, JWT_SECRET: '' }).issues[0]).to.include({
      variable: 'JWT_SECRET',
      problem: 'missing',
    });
  });

  it('numbers must be whole numbers within range', () => {
    for (const bad of ['12.5', '1e3', '0x1F', 'eighty']) {
      expect(configError({ ...minimal, PORT: bad }).issues[0]!.problem, bad).to.include('is not a whole number');
    }
    expect(configError({ ...minimal, PORT: '0' }).issues[0]!.problem).to.include('out of range');
    expect(configError({ ...minimal, PORT: '65536' }).issues[0]!.fix).to.include('from 1 to 65535');
    expect(loadConfig({ ...minimal, PORT: ' 9000 ', RATE_LIMIT_API_PER_MINUTE: '1200' })).to.deep.include({
      http: { ...loadConfig(minimal).http, port: 9000 },
    });
  });

  it('booleans accept true/false, 1/0, yes/no and on/off', () => {
    expect(loadConfig({ ...minimal, TRUST_PROXY: 'yes' }).http.trustProxy).to.equal(true);
    expect(loadConfig({ ...minimal, TRUST_PROXY: 'FALSE' }).http.trustProxy).to.equal(false);
    expect(configError({ ...minimal, TRUST_PROXY: 'maybe' }).issues[0]!.problem).to.include('not a boolean');
  });

  it('JWT_SECRET is measured in UTF-8 bytes, not characters', () => {
    expect(loadConfig({ ...minimal, JWT_SECRET: 'é'.repeat(16) }).jwt.secret).to.equal('é'.repeat(16));
    const error = configError({ ...minimal, JWT_SECRET: 'a'.repeat(31) });
    expect(error.issues).to.have.length(1);
    expect(error.issues[0]).to.include({ variable: 'JWT_SECRET', problem: 'shorter than 32 bytes' });
  });

  it('no error message contains the value of a secret, even an invalid one', () => {
    const secrets = {
      JWT_SECRET: 'too-short-jwt-secret',
      ADMIN_PASSWORD: 'pw12345',
      FERNET_KEYS: `${FERNET_A},not-a-real-fernet-key-but-secret`,
      DATABASE_URL: 'mysql://user:hunter2hunter2@db/x',
      REDIS_URL: 'http://:redispass99@r',
      EVENTSTORE_URL: 'https://esdbpass77@es',
    };
    const error = configError(secrets);
    expect(variables(error)).to.have.members([
      'JWT_SECRET',
      'ADMIN_PASSWORD',
      'FERNET_KEYS',
      'DATABASE_URL',
      'REDIS_URL',
      'EVENTSTORE_URL',
    ]);
    expectNoLeak(
      error,
      ...Object.values(secrets),
      'hunter2hunter2',
      'redispass99',
      'esdbpass77',
      'not-a-real-fernet-key-but-secret',
    );
  });

  it('WHATSAPP_MODE cloud and both require WHATSAPP_APP_SECRET; web does not', () => {
    for (const mode of ['cloud', 'both']) {
      const error = configError({ ...minimal, WHATSAPP_MODE: mode });
      expect(error.issues).to.have.length(1);
      expect(error.issues[0]).to.include({
        variable: 'WHATSAPP_APP_SECRET',
        problem: `missing (required because WHATSAPP_MODE=${mode})`,
      });
    }
    expect(loadConfig({ ...minimal, WHATSAPP_MODE: 'web' }).whatsapp.appSecret).to.equal(null);
    const cloud = loadConfig({
      ...minimal,
      WHATSAPP_MODE: 'cloud',
      WHATSAPP_APP_SECRET: 'app-secret',
      WHATSAPP_GRAPH_URL: 'http://127.0.0.1:9999/graph/',
      WHATSAPP_GRAPH_API_VERSION: 'v22.0',
    });
    expect(cloud.whatsapp).to.include({
      mode: 'cloud',
      appSecret: 'app-secret',
      graphUrl: 'http://127.0.0.1:9999/graph',
      graphApiVersion: 'v22.0',
    });
    // The default number's id and token come as a pair.
    expect(
      configError({ ...minimal, WHATSAPP_PHONE_NUMBER_ID: '106540352242922' }).issues.map((i) => [
        i.variable,
        i.problem,
      ]),
    ).to.deep.equal([['WHATSAPP_ACCESS_TOKEN', 'missing (required because WHATSAPP_PHONE_NUMBER_ID is set)']]);
    expect(variables(configError({ ...minimal, WHATSAPP_ACCESS_TOKEN: 'EAAG-token' }))).to.deep.equal([
      'WHATSAPP_PHONE_NUMBER_ID',
    ]);
    expect(
      loadConfig({ ...minimal, WHATSAPP_PHONE_NUMBER_ID: '106540352242922', WHATSAPP_ACCESS_TOKEN: 'EAAG-token' })
        .whatsapp,
    ).to.include({ phoneNumberId: '106540352242922', accessToken: 'EAAG-token' });
    // The version has its own variable: a URL carrying one would double it in every request path.
    const versioned = configError({ ...minimal, WHATSAPP_GRAPH_URL: 'https://graph.facebook.com/v21.0' });
    expect(versioned.issues).to.have.length(1);
    expect(versioned.issues[0]).to.include({ variable: 'WHATSAPP_GRAPH_URL' });
    expect(versioned.issues[0]!.problem).to.include('includes an API version');
    expect(variables(configError({ ...minimal, WHATSAPP_GRAPH_API_VERSION: '21' }))).to.deep.equal([
      'WHATSAPP_GRAPH_API_VERSION',
    ]);
    expect(variables(configError({ ...minimal, WHATSAPP_MODE: 'sms' }))).to.deep.equal(['WHATSAPP_MODE']);
  });

  describe('event store and read model selection', () => {
    const pg = 'postgres://chatbot:pw@postgres:5432/chatbot';
    const esdb = 'esdb://eventstore:2113?tls=false';

    it('EVENTSTORE_URL selects EventStoreDB', () => {
      expect(loadConfig({ ...minimal, EVENTSTORE_URL: esdb }).eventStore).to.deep.equal({
        kind: 'eventstoredb',
        url: esdb,
      });
      expect(loadConfig({ ...minimal, EVENTSTORE_URL: esdb, EVENT_STORE: 'eventstoredb' }).eventStore.kind).to.equal(
        'eventstoredb',
      );
    });

    it('EVENT_STORE=postgres uses DATABASE_URL and requires it', () => {
      expect(loadConfig({ ...minimal, EVENT_STORE: 'postgres', DATABASE_URL: pg }).eventStore).to.deep.equal({
        kind: 'postgres',
        url: pg,
      });
      expect(configError({ ...minimal, EVENT_STORE: 'postgres' }).issues[0]).to.include({
        variable: 'DATABASE_URL',
        problem: 'missing (required because EVENT_STORE=postgres)',
      });
    });

    it('EVENT_STORE=eventstoredb requires EVENTSTORE_URL', () => {
      expect(variables(configError({ ...minimal, EVENT_STORE: 'eventstoredb' }))).to.deep.equal(['EVENTSTORE_URL']);
    });

    it('EVENT_STORE that contradicts EVENTSTORE_URL is refused rather than silently ignored', () => {
      expect(
        configError({ ...minimal, EVENT_STORE: 'postgres', DATABASE_URL: pg, EVENTSTORE_URL: esdb }).issues[0]!
          .variable,
      ).to.equal('EVENT_STORE');
    });

    it('without service URLs both the events and the read models are embedded in DATA_DIR', () => {
      const config = loadConfig({ ...minimal, DATA_DIR: '/var/lib/chatbot', EVENT_STORE: 'pglite' });
      expect(config.eventStore).to.deep.equal({ kind: 'pglite', dataDir: '/var/lib/chatbot' });
      expect(config.database).to.deep.equal({ kind: 'pglite', dataDir: '/var/lib/chatbot' });
    });

    it('DATABASE_URL alone puts both the read models and the events on Postgres (a service URL means not embedded)', () => {
      const config = loadConfig({ ...minimal, DATABASE_URL: pg });
      expect(config.database).to.deep.equal({ kind: 'postgres', url: pg });
      expect(config.eventStore).to.deep.equal({ kind: 'postgres', url: pg });
    });

    it('EVENT_STORE=pglite keeps the events embedded even with DATABASE_URL set', () => {
      const config = loadConfig({ ...minimal, DATABASE_URL: pg, EVENT_STORE: 'pglite' });
      expect(config.database.kind).to.equal('postgres');
      expect(config.eventStore.kind).to.equal('pglite');
    });
  });

  it('REDIS_PASSWORD is applied to a REDIS_URL that has none, and never replaces one it has', () => {
    expect(
      loadConfig({ ...minimal, REDIS_URL: 'redis://redis:6379', REDIS_PASSWORD: 'p@ss/word' }).redis,
    ).to.deep.equal({ url: 'redis://:p%40ss%2Fword@redis:6379', password: 'p@ss/word' });
    expect(
      loadConfig({ ...minimal, REDIS_URL: 'redis://:own@redis:6379', REDIS_PASSWORD: 'other' }).redis,
    ).to.deep.equal({ url: 'redis://:own@redis:6379', password: 'own' });
    expect(loadConfig({ ...minimal, REDIS_URL: 'redis://127.0.0.1:6379' }).redis).to.deep.equal({
      url: 'redis://127.0.0.1:6379',
      password: null,
    });
    expect(loadConfig({ ...minimal, REDIS_PASSWORD: 'orphan' }).redis).to.equal(null);
  });

  it('CORS_ORIGINS keeps exact origins and refuses wildcards, paths and other schemes', () => {
    expect(
      loadConfig({ ...minimal, CORS_ORIGINS: ' https://Admin.Example.com , http://localhost:5173/ ,' }).http
        .corsOrigins,
    ).to.deep.equal(['https://admin.example.com', 'http://localhost:5173']);
    const error = configError({
      ...minimal,
      CORS_ORIGINS: '*,https://a.example/app,ftp://files.example,https://ok.example',
    });
    expect(error.issues.map((issue) => issue.problem)).to.deep.equal([
      '"*" is not an exact http(s) origin',
      '"https://a.example/app" is not an exact http(s) origin',
      '"ftp://files.example" is not an exact http(s) origin',
    ]);
  });

  describe('FERNET_KEYS', () => {
    it('is required in production', () => {
      const error = configError({ ...minimal, NODE_ENV: 'production' });
      expect(error.issues).to.have.length(1);
      expect(error.issues[0]).to.include({
        variable: 'FERNET_KEYS',
        problem: 'missing (required when NODE_ENV=production)',
      });
    });

    it('is optional in development and keeps the keys newest first', () => {
      expect(loadConfig(minimal).fernetKeys).to.deep.equal([]);
      expect(loadConfig({ ...minimal, FERNET_KEYS: `${FERNET_B}, ${FERNET_A}` }).fernetKeys).to.deep.equal([
        FERNET_B,
        FERNET_A,
      ]);
    });

    it('names a bad key by its 1-based position, never by its value', () => {
      const wrongLength = Buffer.alloc(31, 7).toString('base64url');
      const error = configError({ ...minimal, FERNET_KEYS: `${FERNET_A},${wrongLength},,${FERNET_B}` });
      expect(error.issues.map((issue) => issue.problem)).to.deep.equal([
        'key #2 is not 32 bytes of url-safe base64 (Fernet format, with "=" padding)',
        'key #3 is empty',
      ]);
      expectNoLeak(error, wrongLength, FERNET_A, FERNET_B);
    });
  });

  it('in production a well-known placeholder admin password is refused', () => {
    const error = configError({
      ...minimal,
      NODE_ENV: 'production',
      FERNET_KEYS: FERNET_A,
      ADMIN_PASSWORD: 'changeme',
    });
    expect(variables(error)).to.deep.equal(['ADMIN_PASSWORD']);
    expect(loadConfig({ ...minimal, ADMIN_PASSWORD: 'changeme' }).admin.password).to.equal('changeme');
  });

  it('process liveness and runtime control timings: defaults are the former constants; set, validated, derived', () => {
    expect(loadConfig(minimal).processes).to.deep.equal({
      heartbeatMs: 5_000,
      crashMissedHeartbeats: 6,
      crashAfterMs: 30_000,
      runtimeRequestTimeoutMs: 30_000,
    });
    expect(
      loadConfig({
        ...minimal,
        PROCESS_HEARTBEAT_MS: '300',
        PROCESS_CRASH_MISSED_HEARTBEATS: '5',
        RUNTIME_REQUEST_TIMEOUT_MS: '500',
      }).processes,
    ).to.deep.equal({ heartbeatMs: 300, crashMissedHeartbeats: 5, crashAfterMs: 1_500, runtimeRequestTimeoutMs: 500 });
    const error = configError({
      ...minimal,
      PROCESS_HEARTBEAT_MS: '10',
      PROCESS_CRASH_MISSED_HEARTBEATS: '1',
      RUNTIME_REQUEST_TIMEOUT_MS: 'soon',
    });
    expect(variables(error)).to.have.members([
      'PROCESS_HEARTBEAT_MS',
      'PROCESS_CRASH_MISSED_HEARTBEATS',
      'RUNTIME_REQUEST_TIMEOUT_MS',
    ]);
    expect(error.message).to.include('from 50 to 600000 ms (default 5000)');
    expect(error.message).to.include('from 2 to 1000 (default 6)');
  });

  it('LOCKOUT_MAX_SECONDS below LOCKOUT_BASE_SECONDS is refused', () => {
    expect(
      variables(configError({ ...minimal, LOCKOUT_BASE_SECONDS: '600', LOCKOUT_MAX_SECONDS: '300' })),
    ).to.deep.equal(['LOCKOUT_MAX_SECONDS']);
  });

  it('METRICS_BIND is parsed into host and port, IPv6 included', () => {
    expect(loadConfig({ ...minimal, METRICS_BIND: '127.0.0.1:9464' }).metrics.bind).to.deep.equal({
      host: '127.0.0.1',
      port: 9464,
    });
    expect(loadConfig({ ...minimal, METRICS_BIND: '[::1]:9100' }).metrics.bind).to.deep.equal({
      host: '::1',
      port: 9100,
    });
    for (const bad of ['9464', 'host:', 'host:99999', 'a:b:c'])
      expect(variables(configError({ ...minimal, METRICS_BIND: bad })), bad).to.deep.equal(['METRICS_BIND']);
  });

  it('BODY_LIMIT accepts byte sizes and refuses anything else', () => {
    expect(loadConfig({ ...minimal, BODY_LIMIT: '1MB' }).http.bodyLimit).to.equal('1mb');
    expect(variables(configError({ ...minimal, BODY_LIMIT: 'lots' }))).to.deep.equal(['BODY_LIMIT']);
  });

  it('LLM_PROVIDERS is the chain, primary first, with defaults filled in', () => {
    const providers = JSON.stringify([
      {
        name: 'primary',
        baseUrl: 'https://api.openai.com/v1/',
        model: 'gpt-4o-mini',
        apiKey: 'sk-abc',
        timeoutMs: 5000,
      },
      { name: 'local', baseUrl: 'http://ollama:11434/v1', model: 'llama3.1', maxRetries: 0 },
    ]);
    const llm = loadConfig({ ...minimal, LLM_PROVIDERS: providers }).llm;
    expect(llm.providers).to.deep.equal([
      {
        name: 'primary',
        baseUrl: 'https://api.openai.com/v1',
        model: 'gpt-4o-mini',
        apiKey: 'sk-abc',
        timeoutMs: 5000,
        maxRetries: 1,
        circuitThreshold: 5,
        halfOpenAfterMs: 30000,
      },
      {
        name: 'local',
        baseUrl: 'http://ollama:11434/v1',
        model: 'llama3.1',
        apiKey: null,
        timeoutMs: 8000,
        maxRetries: 0,
        circuitThreshold: 5,
        halfOpenAfterMs: 30000,
      },
    ]);
  });

  it('OPENAI_API_KEY / OPENAI_BASE_URL / OPENAI_MODEL alone make a one-provider chain', () => {
    const llm = loadConfig({
      ...minimal,
      OPENAI_API_KEY: 'sk-abc',
      OPENAI_BASE_URL: 'http://localhost:11434/v1',
      OPENAI_MODEL: 'llama3.1',
    }).llm;
    expect(llm.providers.map((p) => [p.name, p.baseUrl, p.model, p.apiKey])).to.deep.equal([
      ['openai', 'http://localhost:11434/v1', 'llama3.1', 'sk-abc'],
    ]);
    expect(loadConfig({ ...minimal, OPENAI_API_KEY: 'sk-abc' }).llm.providers[0]!.baseUrl).to.equal(
      'https://api.openai.com/v1',
    );
  });

  it('a bad LLM_PROVIDERS entry is named by number and name, without echoing its API key', () => {
    const error = configError({
      ...minimal,
      LLM_PROVIDERS: JSON.stringify([
        { name: 'primary', baseUrl: 'ftp://x', model: 'm', apiKey: 'sk-secret-value-123' },
        { name: 'local', baseUrl: 'http://ollama:11434/v1', model: '', timeoutMs: -1 },
        { name: 'primary', baseUrl: 'http://b/v1', model: 'm' },
      ]),
    });
    expect(new Set(variables(error))).to.deep.equal(new Set(['LLM_PROVIDERS']));
    expect(error.message).to.include('entry #1 (primary): baseUrl');
    expect(error.message).to.include('entry #2 (local): model');
    expect(error.message).to.include('entry #2 (local): timeoutMs');
    expect(error.message).to.include('entry #3 (primary): the name is used twice');
    expect(error.message).not.to.include('sk-secret-value-123');
    expect(configError({ ...minimal, LLM_PROVIDERS: 'openai:gpt' }).message).to.include(
      'LLM_PROVIDERS: is not valid JSON',
    );
  });

  it('the config is deeply frozen', () => {
    const config = loadConfig({ ...minimal, CORS_ORIGINS: 'https://a.example' });
    expect(() => {
      (config.http as { port: number }).port = 1;
    }).to.throw(TypeError);
    expect(() => {
      (config.http.corsOrigins as string[]).push('https://evil.example');
    }).to.throw(TypeError);
    expect(config.http.port).to.equal(8003);
  });

  describe('redacted summary', () => {
    const secrets = {
      ...minimal,
      FERNET_KEYS: FERNET_A,
      WHATSAPP_MODE: 'both',
      WHATSAPP_APP_SECRET: 'whatsapp-app-secret-value',
      WHATSAPP_ACCESS_TOKEN: 'EAAGwhatsapptoken',
      WHATSAPP_PHONE_NUMBER_ID: '106540352242922',
      DATABASE_URL: 'postgres://chatbot:dbpass123@postgres:5432/chatbot?password=qpass',
      REDIS_URL: 'redis://:redispass1@redis:6379',
      METRICS_TOKEN: 'metrics-token-value',
      OPENAI_API_KEY: 'sk-openai-key-value',
      LLM_PROVIDERS: JSON.stringify([
        { name: 'openai', baseUrl: 'https://api.openai.com/v1', model: 'm', apiKey: 'sk-other-key-value' },
      ]),
    };
    const secretValues = [
      'jwt-secret-value',
      ADMIN_PASSWORD,
      FERNET_A,
      'whatsapp-app-secret-value',
      'EAAGwhatsapptoken',
      'dbpass123',
      'qpass',
      'redispass1',
      'metrics-token-value',
      'sk-openai-key-value',
      'sk-other-key-value',
    ];
    let config: Config;
    before(() => {
      config = loadConfig(secrets);
    });

    it('says which secrets are set without their values', () => {
      const summary = redactedConfigSummary(config);
      expect(summary).to.include({
        JWT_SECRET: 'set',
        ADMIN_PASSWORD: 'set',
        WHATSAPP_APP_SECRET: 'set',
        METRICS_TOKEN: 'set',
        WHATSAPP_VERIFY_TOKEN: 'not set',
        PORT: 8003,
      });
      expect(summary).to.include({
        database: 'postgres (postgres://postgres:5432/chatbot)',
        REDIS_URL: 'redis://redis:6379',
      });
      const text = JSON.stringify(summary);
      for (const value of secretValues) expect(text).not.to.include(value);
    });

    it('printing or serialising the config shows the summary, not the secrets', () => {
      for (const text of [
        JSON.stringify(config),
        inspect(config, { depth: 5 }),
        `${inspect({ config }, { depth: 5 })}`,
      ]) {
        expect(text).to.include('JWT_SECRET');
        for (const value of secretValues) expect(text).not.to.include(value);
      }
    });
  });
});
