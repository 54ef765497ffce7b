import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { ESLint } from 'eslint';
import tseslint from 'typescript-eslint';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/**
 * The repository's own eslint.config.js, run through ESLint's Node API on planted files (text only,
 * nothing is written). Type-aware rules are switched off: the planted files are in no tsconfig program,
 * and layering does not depend on types.
 */
const eslint = new ESLint({
  cwd: root,
  overrideConfig: [{ files: ['**/*.ts'], ...tseslint.configs.disableTypeChecked }],
});

/** The layering messages ESLint reports for `code` as if it were the file `file`. */
const layering = async (file: string, code: string): Promise<string[]> => {
  const [result] = await eslint.lintText(code, { filePath: path.join(root, file) });
  return result!.messages.filter((m) => m.ruleId === 'layering/allowed-imports').map((m) => m.message);
};

describe('lint: what each layer may import', function () {
  this.timeout(60_000);

  it('domain/ imports nothing from other layers, by alias or by relative path, and no package', async () => {
    const messages = await layering(
      'domain/secrets/planted.ts',
      [
        "import type { Database } from '../../infrastructure/sql/database.js';",
        "import type { Runtime } from '#application/shared/runtime.js';",
        "import { createHash } from 'node:crypto';",
        "import { z } from 'zod';",
        "import type { Event } from '../shared/event.js';",
        "import type { IdentityEvent } from '#domain/identity/events.js';",
        'export type T = [Database, Runtime, Event, IdentityEvent, typeof createHash, typeof z];',
      ].join('\n'),
    );
    expect(messages).to.deep.equal([
      'domain/ may not import infrastructure/sql/database.js (it may import: domain).',
      'domain/ may not import application/shared/runtime.js (it may import: domain).',
      'domain/ may not import the package node:crypto (it may import: no package).',
      'domain/ may not import the package zod (it may import: no package).',
    ]);
  });

  it('application/ may not import express, infrastructure or interfaces', async () => {
    const messages = await layering(
      'application/secrets/planted.ts',
      [
        "import { Router } from 'express';",
        "import type { Request } from 'express';",
        "import { systemRuntime } from '../../infrastructure/shared/runtime.js';",
        "export { createHttpApp } from '#interfaces/http/app.js';",
        "import { secretDecider } from '#domain/secrets/secret.js';",
        'export const planted = [Router, systemRuntime, secretDecider] as unknown as Request;',
      ].join('\n'),
    );
    expect(messages).to.have.length(4);
    expect(messages[0]).to.equal('application/ may not import the package express (it may import: rxjs, node:crypto).');
    expect(messages[1]).to.include('the package express');
    expect(messages[2]).to.include('may not import infrastructure/shared/runtime.js');
    expect(messages[3]).to.include('may not import interfaces/http/app.js');
  });

  it('projections/ may use the database handle and locks, but not other infrastructure, interfaces or express', async () => {
    const messages = await layering(
      'projections/metrics/planted.ts',
      [
        "import type { Database } from '#infrastructure/sql/database.js';",
        "import { Signal } from '../../infrastructure/shared/signal.js';",
        "import { Fernet } from '../../infrastructure/secrets/fernet.js';",
        "import type { AppProcess } from '#interfaces/process/app.js';",
        "import type { Router } from 'express';",
        'export type T = [Database, Signal, Fernet, AppProcess, Router];',
      ].join('\n'),
    );
    expect(messages.map((m) => m.replace(/ \(it may import: .*\)\.$/, ''))).to.deep.equal([
      'projections/ may not import infrastructure/secrets/fernet.js',
      'projections/ may not import interfaces/process/app.js',
      'projections/ may not import the package express',
    ]);
  });

  it('infrastructure/ may not import projections, interfaces or HTTP packages, not even lazily', async () => {
    const messages = await layering(
      'infrastructure/metrics/planted.ts',
      [
        "import { Router } from 'express';",
        "import { allProjections } from '../../projections/registry.js';",
        "export * from '#projections/metrics/model.js';",
        "export const later = () => import('../../interfaces/http/app.js');",
        "import { Redis } from 'ioredis';",
        "import type { EventStore } from '#application/shared/eventStore.js';",
        'export type T = [typeof Router, typeof allProjections, Redis, EventStore];',
      ].join('\n'),
    );
    expect(messages.map((m) => m.replace(/ \(it may import: .*\)\.$/, ''))).to.deep.equal([
      'infrastructure/ may not import the package express',
      'infrastructure/ may not import projections/registry.js',
      'infrastructure/ may not import projections/metrics/model.js',
      'infrastructure/ may not import interfaces/http/app.js',
    ]);
  });

  it('interfaces/ wires everything: it is not restricted', async () => {
    expect(
      await layering(
        'interfaces/http/planted.ts',
        "import { Router } from 'express';\nimport { allProjections } from '#projections/registry.js';\nexport const x = [Router, allProjections];",
      ),
    ).to.deep.equal([]);
  });
});
