// The runbooks are what on-call engineers run at 3 a.m.: this keeps them from drifting away from the
// product (endpoints, service names, variables, log markers, CLI commands, the config error text).
import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import type { Command } from 'commander';
import { ConfigError, loadConfig } from '#infrastructure/config/config.js';
import { buildProgram } from '#interfaces/cli/main.js';
import type { CliContext } from '#interfaces/cli/context.js';
import { STATUS_NUMBER_FIELDS, STATUS_WORKER_FIELDS } from '#interfaces/http/messaging/status.js';
import { runtimePaths } from '#interfaces/http/runtime/openapi.js';

const read = (path: string) => readFileSync(new URL(`../../../${path}`, import.meta.url), 'utf8');
const RUNBOOKS = ['docs/runbook.es.md', 'docs/runbook.en.md'] as const;

const ENDPOINTS = ['/healthz', '/api/auth/me', '/api/auth/ws-token', '/api/whatsapp/send', '/api/whatsapp/status'];
const SERVICES = ['app', 'worker-web', 'scheduler', 'postgres', 'redis'];
const VARIABLES = [
  'JWT_SECRET',
  'ADMIN_PASSWORD',
  'WHATSAPP_MODE',
  'WHATSAPP_APP_SECRET',
  'CORS_ORIGINS',
  'DATABASE_URL',
  'REDIS_PASSWORD',
];
const MARKERS = ['SECURITY_LOGIN_FAILED', 'lockout', 'rate limit', 'provider', 'fallback', 'timeout', 'circuit'];
// The seed runbook's own grep lines, which operators already know by heart.
const GREPS = [
  'grep -i "SECURITY_LOGIN_FAILED\\|lockout\\|rate limit"',
  'grep -i "provider\\|fallback\\|timeout\\|circuit"',
];

const unusable = () => {
  throw new Error('the docs test only inspects the command tree');
};
const dummyContext: CliContext = {
  io: { out: () => undefined, err: () => undefined, interactive: false, errStream: process.stderr },
  config: unusable,
  projections: () => [],
  withDatabase: unusable,
  withInfrastructure: unusable,
  withReadModels: unusable,
};

const namesOf = (command: Command): string[] => [command.name(), ...command.aliases()];
const cliTree = (): Map<string, Set<string>> => {
  const tree = new Map<string, Set<string>>();
  for (const top of buildProgram(dummyContext).commands) {
    const subs = new Set(top.commands.flatMap(namesOf));
    for (const name of namesOf(top)) tree.set(name, subs);
  }
  return tree;
};

/** `chatbot <command> [<sub>]` (or the compiled `interfaces/cli/main.js ...`) inside code, never in prose. */
const cliMentions = (markdown: string): Array<{ command: string; sub: string | undefined }> => {
  const code = [...markdown.matchAll(/\x60{3}[^\n]*\n([\s\S]*?)\x60{3}|\x60([^\x60\n]+)\x60/g)].map(
    (m) => m[1] ?? m[2] ?? '',
  );
  // eslint-disable-next-line security/detect-unsafe-regex -- runs on our own docs
  const mention = /(?:\bchatbot|interfaces\/cli\/main\.[jt]s)\s+(?:--\s+)?([a-z][a-z-]*)(?:[ \t]+([a-z][a-z-]*))?/g;
  return code.flatMap((text) => [...text.matchAll(mention)].map((m) => ({ command: m[1]!, sub: m[2] })));
};

describe('operations runbooks (docs/runbook.es.md, docs/runbook.en.md)', () => {
  for (const path of RUNBOOKS) {
    describe(path, () => {
      // Read in a hook, not while mocha collects the tests: a missing file then fails one test, clearly.
      let text = '';
      before(() => {
        text = read(path);
      });

      it('names every endpoint the seed runbook relies on, on port 8003', () => {
        for (const endpoint of ENDPOINTS) expect(text, endpoint).to.include(`localhost:8003${endpoint}`);
      });

      it('runs a docker compose command against every service name of docker-compose.yml', () => {
        const compose = read('docker-compose.yml');
        for (const service of SERVICES) {
          expect(compose, `docker-compose.yml service ${service}`).to.match(new RegExp(`^  ${service}:`, 'm'));
          expect(text, `docker compose ... ${service}`).to.match(
            new RegExp(`docker compose [^\\n]*\\s${service}(\\s|$)`, 'm'),
          );
        }
      });

      it('mentions every variable and log marker, with the seed grep lines', () => {
        for (const variable of VARIABLES) expect(text, variable).to.include(variable);
        for (const marker of MARKERS) expect(text.toLowerCase(), marker).to.include(marker.toLowerCase());
        for (const grep of GREPS) expect(text, grep).to.include(grep);
      });

      it('only uses chatbot commands and subcommands that the CLI has', () => {
        const tree = cliTree();
        const mentions = cliMentions(text);
        expect(mentions.length, 'CLI mentions found').to.be.greaterThan(10);
        for (const { command, sub } of mentions) {
          const subs = tree.get(command);
          expect(subs, `chatbot ${command}`).to.not.equal(undefined);
          if (sub !== undefined && subs!.size > 0) expect([...subs!], `chatbot ${command} ${sub}`).to.include(sub);
        }
      });

      it('quotes the configuration error exactly as the app prints it', () => {
        let error: unknown;
        try {
          loadConfig({ NODE_ENV: 'production' });
        } catch (caught) {
          error = caught;
        }
        expect(error).to.be.instanceOf(ConfigError);
        for (const line of (error as ConfigError).message.split('\n')) expect(text, line).to.include(line);
      });
    });
  }
});

describe('configuration reference (docs/configuration.md)', () => {
  it('documents every variable that config.ts reads', () => {
    const doc = read('docs/configuration.md');
    const variables = [...read('infrastructure/config/config.ts').matchAll(/^ {4}([A-Z][A-Z0-9_]+): /gm)].map(
      (m) => m[1]!,
    );
    expect(variables.length).to.be.greaterThan(30);
    for (const variable of variables) expect(doc, variable).to.include(`\`${variable}\``);
  });
});

// Sections 8, 9 and 14 against the messaging code: the status fields they read, the log lines and error
// codes they quote, and the messaging variables' configuration errors, exactly as the product prints them.
describe('runbook sections 8, 9 and 14 (messaging)', () => {
  const section = (text: string, n: number) => text.slice(text.indexOf(`## ${n})`), text.indexOf(`## ${n + 1})`));
  const sources = [
    'application/messaging/dispatcher.ts',
    'interfaces/process/messaging.ts',
    'application/messaging/responder.ts',
    'application/runtime/processMonitor.ts',
  ]
    .map(read)
    .join('\n');
  const errorSources = ['domain/messaging/errors.ts', 'interfaces/http/messaging/messagingRoutes.ts']
    .map(read)
    .join('\n');

  for (const path of RUNBOOKS) {
    it(`${path}: section 8 names every status field and quotes only log lines the worker writes`, () => {
      const text = section(read(path), 8);
      for (const field of [...STATUS_WORKER_FIELDS, ...STATUS_NUMBER_FIELDS]) expect(text, field).to.include(field);
      const quoted = [...text.matchAll(/"message":"([^"]+)"/g), ...text.matchAll(/`"([a-z][a-z -]+[a-z])"`/g)].map(
        (m) => m[1]!,
      );
      expect(quoted.length).to.be.greaterThan(5);
      const known = [
        'configuration loaded',
        'shutting down',
        'lockout expired: account unlocked',
        'scheduler job failed',
        'start failed',
      ];
      for (const line of quoted) if (!known.includes(line)) expect(sources, line).to.include(`'${line}'`);
      for (const variable of [
        'WHATSAPP_NUMBER_LEASE_SECONDS',
        'WHATSAPP_SEND_CLAIM_SECONDS',
        'WHATSAPP_SEND_MAX_ATTEMPTS',
      ])
        expect(text, variable).to.include(variable);
    });

    it(`${path}: section 9 names the API's real error codes and routes`, () => {
      const text = section(read(path), 9);
      for (const code of [
        'invalid_recipient',
        'number_not_found',
        'number_disabled',
        'outside_customer_service_window',
      ]) {
        expect(text, code).to.include(code);
        expect(errorSources, code).to.include(`'${code}'`);
      }
      for (const route of ['/api/whatsapp/send', '/api/whatsapp/status', '/api/chats/']) expect(text).to.include(route);
    });

    it(`${path}: sections 8 and 9 use the runtime control and process routes the API serves`, () => {
      const eight = section(read(path), 8);
      const nine = section(read(path), 9);
      for (const route of [
        '/api/admin/processes',
        '/api/numbers/{id}/runtime/restart',
        '/api/numbers/{id}/runtime/logout',
      ])
        expect(runtimePaths, route).to.have.property(route);
      expect(eight).to.include('localhost:8003/api/admin/processes');
      expect(eight).to.include('/runtime/restart');
      expect(eight).to.include('/runtime/logout');
      expect(nine).to.include('localhost:8003/api/admin/runtime/start');
      expect(nine).to.include('localhost:8003/api/admin/runtime/requests/<requestId>');
      expect(runtimePaths).to.have.property('/api/admin/runtime/start');
      expect(runtimePaths).to.have.property('/api/admin/runtime/requests/{requestId}');
      for (const status of ['pending', 'completed', 'failed', 'timed_out']) expect(eight, status).to.include(status);
    });

    it(`${path}: section 14 quotes the messaging variables' errors as the app prints them`, () => {
      let error: unknown;
      try {
        loadConfig({
          JWT_SECRET: 'x'.repeat(40),
          ADMIN_PASSWORD: 'password123',
          WHATSAPP_SEND_MAX_ATTEMPTS: '0',
          WHATSAPP_SIMULATOR: 'maybe',
        });
      } catch (caught) {
        error = caught;
      }
      const text = section(read(path), 14);
      const lines = (error as ConfigError).message.split('\n').slice(1);
      expect(lines).to.have.length(2);
      for (const line of lines) expect(text, line).to.include(line);
    });
  }
});

describe('docs agree with docker-compose.yml', () => {
  /** The variables the x-app anchor passes to app, worker-web and scheduler, and those Compose requires (`:?`). */
  const composeEnvironment = () => {
    const compose = read('docker-compose.yml');
    const anchor = compose.slice(compose.indexOf('x-app:'), compose.indexOf('\nservices:'));
    const environment = anchor.slice(anchor.indexOf('environment:'), anchor.indexOf('depends_on:'));
    return {
      passed: new Set([...environment.matchAll(/^ {4}([A-Z][A-Z0-9_]+):/gm)].map((m) => m[1]!)),
      required: new Set([...environment.matchAll(/^ {4}([A-Z][A-Z0-9_]+): \$\{[A-Z0-9_]+:\?/gm)].map((m) => m[1]!)),
    };
  };

  it('configuration.md says "no" in its Compose column exactly for the variables Compose does not pass', () => {
    const { passed } = composeEnvironment();
    let composeTable = false;
    let rows = 0;
    for (const line of read('docs/configuration.md').split('\n')) {
      if (line.startsWith('| name |')) composeTable = line.trimEnd().endsWith('| Compose |');
      const row = /^\| `([A-Z][A-Z0-9_]+)` \|.*\| ([^|]*) \|$/.exec(line);
      if (!composeTable || row === null) continue;
      rows += 1;
      const [, name, column] = row;
      if (passed.has(name!)) expect(column, `${name} is passed by docker-compose.yml`).not.to.match(/^no\b/);
      else expect(column, `${name} is not passed by docker-compose.yml`).to.match(/^no\b/);
    }
    expect(rows).to.be.greaterThan(30);
  });

  it('the runbooks never say that a variable Compose passes is not passed to the container', () => {
    const { passed } = composeEnvironment();
    for (const path of RUNBOOKS) {
      const text = read(path);
      for (const name of passed)
        expect(text, `${path}: ${name}`).not.to.match(new RegExp(`\`${name}\` (is not passed|no se pasa)`));
    }
  });

  it('the README lists as checked by Compose exactly the variables Compose refuses to start without', () => {
    const { required } = composeEnvironment();
    const sentence = /Required variables \(([^)]*)\)\s+are\s+checked\s+by\s+Compose/.exec(read('README.md'));
    expect(sentence, 'the README sentence naming the required variables').to.not.equal(null);
    const listed = [...sentence![1]!.matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map((m) => m[1]!);
    expect(new Set(listed)).to.deep.equal(required);
  });
});
