// Compiles the app's TypeScript to JavaScript for `npm start` (scripts/start.js), with the esbuild
// that tsx itself uses and tsx's own transform options, so the code that runs is what `tsx` would run,
// without a TypeScript loader in the server process. One build per content of the sources, in
// node_modules/.cache/chatbot-start/<stamp>/ (or $CHATBOT_BUILD_DIR/<stamp>/):
//
//   node scripts/compile.js            prints the build directory, building it when the sources changed
//   import { sourceStamp } from './compile.js'   (the launcher compares stamps without loading esbuild)
/* global process, console, performance, URL */
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** The layers package.json "imports" maps (#domain/* -> ./domain/*): everything the processes load. */
const LAYERS = ['domain', 'application', 'infrastructure', 'projections', 'interfaces'];
/** Builds kept besides the current one: a server still running from an older build may load a module lazily. */
const KEEP_OLDER = 3;

export const buildRoot = () =>
  process.env.CHATBOT_BUILD_DIR
    ? path.resolve(process.env.CHATBOT_BUILD_DIR)
    : path.join(ROOT, 'node_modules', '.cache', 'chatbot-start');

/** Every file under the layers, relative to ROOT, sorted. */
const layerFiles = () => {
  /** @type {string[]} */
  const found = [];
  /** @param {string} dir */
  const walk = (dir) => {
    // eslint-disable-next-line security/detect-non-literal-fs-filename -- directories under the checkout
    for (const entry of readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
      const rel = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(rel);
      else if (entry.isFile()) found.push(rel);
    }
  };
  // eslint-disable-next-line security/detect-non-literal-fs-filename -- a fixed list of directories
  for (const layer of LAYERS) if (existsSync(path.join(ROOT, layer))) walk(layer);
  return found.sort();
};

/**
 * @param {string} file
 * @returns {Record<string, unknown>}
 */
const readJson = (file) =>
  // Plain JS: JSON.parse is `any` to the type-aware rules whatever the JSDoc says.
  // eslint-disable-next-line @typescript-eslint/no-unsafe-return, security/detect-non-literal-fs-filename -- package.json and tsconfig.json files of the checkout
  /** @type {Record<string, unknown>} */ (JSON.parse(readFileSync(file, 'utf8')));

/** esbuild as tsx resolves it: tsx is a dependency of the product, esbuild one of tsx. */
const requireFromTsx = createRequire(createRequire(import.meta.url).resolve('tsx/package.json'));
const esbuildVersion = () => String(readJson(requireFromTsx.resolve('esbuild/package.json')).version);
/** @returns {{ build(options: Record<string, unknown>): Promise<unknown> }} */
const loadEsbuild = () =>
  // eslint-disable-next-line @typescript-eslint/no-unsafe-return -- require() is `any` to the type-aware rules
  /** @type {{ build(options: Record<string, unknown>): Promise<unknown> }} */ (requireFromTsx('esbuild'));
const packageImports = () => readJson(path.join(ROOT, 'package.json')).imports;

/**
 * What a build depends on: this file, the Node and esbuild versions, tsconfig.json, package.json's
 * "imports", the list of files under the layers and the content of every .ts file among them (the
 * other files, the console's static files, are linked, not copied: they are read from the sources).
 */
export const sourceStamp = () => {
  const hash = createHash('sha256');
  const add = (/** @type {string} */ label, /** @type {string | Buffer} */ data) => {
    hash.update(`${label}\0${data.length}\0`);
    hash.update(data);
  };
  add('compile.js', readFileSync(fileURLToPath(import.meta.url)));
  add('root', ROOT);
  add('node', process.versions.node);
  add('esbuild', esbuildVersion());
  add('tsconfig', JSON.stringify(readJson(path.join(ROOT, 'tsconfig.json')).compilerOptions));
  add('imports', JSON.stringify(packageImports()));
  for (const file of layerFiles()) {
    add('file', file);
    // eslint-disable-next-line security/detect-non-literal-fs-filename -- a file found under the layers
    if (file.endsWith('.ts')) add('content', readFileSync(path.join(ROOT, file)));
  }
  return hash.digest('hex').slice(0, 16);
};

/** The build directory for the current sources, made when missing. */
export const compile = async () => {
  const stamp = sourceStamp();
  const root = buildRoot();
  const dir = path.join(root, stamp);
  // eslint-disable-next-line security/detect-non-literal-fs-filename -- the build directory
  if (existsSync(path.join(dir, 'package.json'))) return dir;
  const started = performance.now();
  // Built aside and renamed into place: a build stopped half-way is never used.
  const tmp = path.join(root, `${stamp}.tmp-${process.pid}`);
  // eslint-disable-next-line security/detect-non-literal-fs-filename -- the build directory
  mkdirSync(tmp, { recursive: true });
  try {
    const files = layerFiles();
    const compilerOptions = readJson(path.join(ROOT, 'tsconfig.json')).compilerOptions;
    const esbuild = loadEsbuild();
    // tsx's options (its transform of each file at load): target this Node, inline-free source maps
    // without the sources' text, whitespace minified, function and class names kept.
    await esbuild.build({
      entryPoints: files.filter((f) => f.endsWith('.ts')).map((f) => path.join(ROOT, f)),
      outdir: tmp,
      outbase: ROOT,
      bundle: false,
      platform: 'node',
      format: 'esm',
      target: `node${process.versions.node}`,
      loader: { '.ts': 'ts' },
      sourcemap: 'linked',
      sourcesContent: false,
      minifyWhitespace: true,
      keepNames: true,
      tsconfigRaw: { compilerOptions },
      logLevel: 'error',
    });
    // The other files (the console's static files) are linked to the sources: the server reads them
    // beside its code (import.meta.url), and an edit shows without a rebuild.
    for (const file of files.filter((f) => !f.endsWith('.ts'))) {
      const target = path.join(tmp, file);
      // eslint-disable-next-line security/detect-non-literal-fs-filename -- inside the build directory
      mkdirSync(path.dirname(target), { recursive: true });
      // eslint-disable-next-line security/detect-non-literal-fs-filename -- inside the build directory
      symlinkSync(path.join(ROOT, file), target);
    }
    // Its own package scope: ESM, and the #layer/* aliases resolving inside the build.
    const manifest = { name: 'chatbot-start', private: true, type: 'module', imports: packageImports() };
    // eslint-disable-next-line security/detect-non-literal-fs-filename -- inside the build directory
    writeFileSync(path.join(tmp, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    try {
      // eslint-disable-next-line security/detect-non-literal-fs-filename -- inside the build root
      renameSync(tmp, dir);
    } catch (error) {
      // another start built the same sources at the same time: theirs is as good
      // eslint-disable-next-line security/detect-non-literal-fs-filename -- the build directory
      if (!existsSync(path.join(dir, 'package.json'))) throw error;
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  pruneOlder(root, stamp);
  console.error(`compiled ${stamp} in ${Math.round(performance.now() - started)} ms (${dir})`);
  return dir;
};

/** Removes all but the newest KEEP_OLDER builds besides `current`. */
const pruneOlder = (/** @type {string} */ root, /** @type {string} */ current) => {
  // eslint-disable-next-line security/detect-non-literal-fs-filename -- the build root
  const older = readdirSync(root)
    .filter((name) => /^[0-9a-f]{16}$/.test(name) && name !== current)
    // eslint-disable-next-line security/detect-non-literal-fs-filename -- a build directory
    .map((name) => ({ name, mtime: statSync(path.join(root, name)).mtimeMs }))
    .sort((a, b) => b.mtime - a.mtime);
  for (const { name } of older.slice(KEEP_OLDER)) rmSync(path.join(root, name), { recursive: true, force: true });
};

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  console.log(await compile());
}
