import { builtinModules } from 'node:module';
import path from 'node:path';

// ---------- layering: what each layer may import, by alias, relative path or package ----------

const LAYERS = ['domain', 'application', 'infrastructure', 'projections', 'interfaces'];

/**
 * What an import names: a place in the repository (`#application/x.js`, `../../infrastructure/x.js`,
 * resolved against the importing file) or a package (`node:*` for Node's own modules).
 */
const importTarget = (source, filename, root) => {
  const alias = /^#([a-z]+)\/(.*)$/.exec(source);
  if (alias) return { place: `${alias[1]}/${alias[2]}` };
  if (source.startsWith('.')) {
    const place = path
      .relative(root, path.resolve(path.dirname(filename), source))
      .split(path.sep)
      .join('/');
    return { place };
  }
  if (source.startsWith('node:')) return { pkg: source.split('/')[0] };
  if (builtinModules.includes(source.split('/')[0])) return { pkg: `node:${source.split('/')[0]}` };
  const parts = source.split('/');
  return { pkg: source.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0] };
};

/** `infrastructure/sql` allows `infrastructure/sql/...`; a package entry allows its subpaths too. */
const placeAllowed = (place, allowed) => allowed.some((entry) => place === entry || place.startsWith(`${entry}/`));

const layering = {
  rules: {
    'allowed-imports': {
      meta: {
        type: 'problem',
        docs: { description: 'a layer imports only what its allowlist names (docs/architecture.md, Layers)' },
        schema: [
          {
            type: 'object',
            properties: {
              layer: { type: 'string' },
              places: { type: 'array', items: { type: 'string' } },
              packages: { type: 'array', items: { type: 'string' } },
            },
            required: ['layer', 'places', 'packages'],
            additionalProperties: false,
          },
        ],
        messages: {
          place: '{{layer}}/ may not import {{place}} (it may import: {{allowed}}).',
          package: '{{layer}}/ may not import the package {{pkg}} (it may import: {{allowed}}).',
        },
      },
      create(context) {
        const { layer, places, packages } = context.options[0];
        const root = context.cwd;
        const check = (node) => {
          if (!node || node.type !== 'Literal' || typeof node.value !== 'string') return;
          const target = importTarget(node.value, context.filename, root);
          if (target.place !== undefined) {
            // Outside the layer folders (e.g. package.json) is not a layer question.
            if (!LAYERS.includes(target.place.split('/')[0])) return;
            if (!placeAllowed(target.place, places))
              context.report({
                node,
                messageId: 'place',
                data: { layer, place: target.place, allowed: places.join(', ') },
              });
          } else if (
            !packages.includes(target.pkg) &&
            !(target.pkg.startsWith('node:') && packages.includes('node:*'))
          ) {
            context.report({
              node,
              messageId: 'package',
              data: { layer, pkg: target.pkg, allowed: packages.length > 0 ? packages.join(', ') : 'no package' },
            });
          }
        };
        return {
          ImportDeclaration: (node) => check(node.source),
          ExportNamedDeclaration: (node) => check(node.source),
          ExportAllDeclaration: (node) => check(node.source),
          ImportExpression: (node) => check(node.source),
          TSImportType: (node) =>
            check(node.argument?.type === 'TSLiteralType' ? node.argument.literal : node.argument),
        };
      },
    },
  },
};

/**
 * The allowlists. Dependencies point inward (interfaces -> application -> domain); infrastructure
 * implements application's ports; projections fold domain events into read models with knex/Redis.
 * interfaces/ wires everything and is not restricted.
 */
const ALLOWED = {
  domain: { places: ['domain'], packages: [] },
  application: {
    places: ['domain', 'application'],
    // rxjs: the live-feed port is an Observable; node:crypto: name-based account ids (UUID v5)
    packages: ['rxjs', 'node:crypto'],
  },
  projections: {
    // the runner's database handle, advisory locks and wake-up signal
    places: ['domain', 'application', 'projections', 'infrastructure/sql', 'infrastructure/shared'],
    packages: ['knex', 'pg', 'ioredis', 'rxjs', 'node:crypto'],
  },
  infrastructure: {
    places: ['domain', 'application', 'infrastructure'],
    packages: [
      'node:*',
      'knex',
      'knex-pglite',
      'pg',
      '@electric-sql/pglite',
      '@eventstore/db-client',
      'ioredis',
      'rate-limiter-flexible',
      // LLM providers: the official SDK and the circuit breaker (infrastructure/llm)
      'openai',
      'cockatiel',
      'rxjs',
      'winston',
      'prom-client',
      'argon2',
      'jsonwebtoken',
      'zod',
      'dotenv',
      // the WhatsApp Web channel (infrastructure/channels/web): the client and its QR rendering
      'baileys',
      'qrcode',
    ],
  },
};

export const layerConfigs = Object.entries(ALLOWED).map(([layer, allowed]) => ({
  files: [`${layer}/**/*.ts`],
  plugins: { layering },
  rules: { 'layering/allowed-imports': ['error', { layer, ...allowed }] },
}));
