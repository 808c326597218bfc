#!/usr/bin/env node
// skiff's command line as users run it: final/cli.ts bundled by esbuild
// (a dependency in package.json) into plain JavaScript under .cache/cli/, so a
// command costs node's start-up and its requests to the daemon, not tsx
// compiling TypeScript at every start (≈60 ms against ≈320 ms idle).
//
//   sudo final/skiff.mjs run --rm -it busybox sh
//
// Built on first use and again once a source it was made from changes:
// the check is one stat(2) per source. Plain JavaScript, since node
// alone cannot load TypeScript.
//
// final/skiff.mjs, the name users type, is a symbolic link to this
// file. node resolves the link and picks the loader by the real file's
// extension, and a CommonJS main starts ≈6 ms sooner: an ES module
// main first loads node's ESM loader (and fs/promises, readline...).
'use strict';
const {
  existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync,
} = require('node:fs');
const { createRequire } = require('node:module');
const { dirname, join, relative } = require('node:path');
const { pathToFileURL } = require('node:url');
const vm = require('node:vm');

const REPO = join(__dirname, '..');
/**
 * What is bundled: final/cli.ts into .cache/cli/ here;
 * final/skiff-runtime.cjs asks for final/runtime.ts (see `launch`).
 */
let target = { source: 'final/cli.ts', out: join(REPO, '.cache', 'cli'),
  plugins: () => [daemonFromSources, requireBuiltins] };
// Not manifest.json: that one, an older skiff.mjs's, names an ES module.
const manifest = () => join(target.out, 'bundle.json');

/** The bundle's entry file, if no source changed since it was built. */
function fresh() {
  try {
    const { entry, builtAt, inputs } = JSON.parse(
      readFileSync(manifest(), 'utf8'));
    const changed = inputs.some((f) =>
      statSync(join(REPO, f)).mtimeMs > builtAt);
    return changed ? undefined : join(target.out, entry);
  } catch {
    return undefined;
  }
}

// The daemon stays TypeScript, run through tsx's API: it finds its C
// trampoline, its init and .cache/ from its sources' location, and it
// starts once, not at every command. The bundle runs as a vm script,
// which has no import() of its own (and node 20 loses the callback that
// would give it one once the script comes from a code cache):
// `importModule` is this module's (see `load`).
const daemonFromSources = {
  name: 'daemon-from-sources',
  setup(build) {
    build.onResolve({ filter: /\/daemon\/main\.ts$/ }, (args) => ({
      path: join(args.resolveDir, args.path), namespace: 'source',
    }));
    build.onLoad({ filter: /.*/, namespace: 'source' }, (args) => ({
      contents: `
        const source = ${JSON.stringify(pathToFileURL(args.path).href)};
        export async function runDaemon(opts) {
          (await importModule('tsx/esm/api')).register();
          return (await importModule(source)).runDaemon(opts);
        }`,
    }));
  },
};

// Likewise an import() of node's own modules becomes a require().
const requireBuiltins = {
  name: 'require-builtins',
  setup(build) {
    build.onResolve({ filter: /^node:/ }, (args) =>
      args.kind === 'dynamic-import'
        ? { path: args.path, namespace: 'builtin' } : undefined);
    build.onLoad({ filter: /.*/, namespace: 'builtin' }, (args) => ({
      contents: `module.exports = require(${JSON.stringify(args.path)});`,
    }));
  },
};

/**
 * Two first runs at once build the same files: each is written under a
 * temporary name and renamed, so a reader never loads a half-written one
 * (a name is its content's hash: an existing file is already right,
 * unless `replace` says it was found wrong).
 */
function publish(path, contents, replace = false) {
  if (!replace && existsSync(path)) return;
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, contents);
  renameSync(tmp, path);
}

/**
 * The CLI in one CommonJS file, its name hashed so that a build never
 * changes a file a running CLI may load. One file, not a chunk per
 * command: node's ESM loader costs about a millisecond per file, and
 * `run` needed ten. A lazily imported module stays lazy in it (its
 * code and its require() of node's modules and koffi run on first
 * import: `ps` loads neither koffi nor the image code). CommonJS, as
 * only a script can be compiled from V8's code cache (see `load`).
 */
async function build() {
  const builtAt = Date.now();
  const { build: esbuild } = await import('esbuild');
  const r = await esbuild({
    entryPoints: [join(REPO, target.source)], bundle: true,
    platform: 'node', format: 'cjs', target: 'node20',
    outdir: target.out, entryNames: '[name]-[hash]',
    outExtension: { '.js': '.cjs' }, external: ['koffi'],
    define: { 'import.meta.url': 'importMetaUrl' },
    plugins: target.plugins(),
    metafile: true, logLevel: 'error', write: false,
  });
  mkdirSync(target.out, { recursive: true });
  for (const f of r.outputFiles) publish(f.path, f.contents);
  // One output file, with an absolute path (the metafile's are relative
  // to the cwd, where final/cli.ts may well be just "cli.ts").
  const [{ path: entry }] = r.outputFiles;
  // This file too: a change to how the bundle is made remakes it.
  const inputs = Object.keys(r.metafile.inputs)
    .filter((f) => !f.includes(':'))
    .map((f) => relative(REPO, join(process.cwd(), f)))
    .concat(relative(REPO, __filename));
  const tmp = `${manifest()}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify({ entry: relative(target.out, entry),
    builtAt, inputs }));
  renameSync(tmp, manifest());
  return entry;
}

/**
 * Runs the bundle as node runs a CommonJS module, but compiled from
 * V8's code cache where there is one: node 20 keeps no compiled code
 * between runs (module.enableCompileCache came in 22), and compiling
 * the bundle cost ≈10 ms of each start. The first run writes the
 * cache at its exit. It holds the functions that run compiled, but
 * what counts is the file's own parse: a cache made by `run --help`
 * serves `run` as well as one made by `run`. V8 rejects a cache made
 * by another node or with other flags; it is made again.
 */
function load(file) {
  const cache = `${file}.v8cache`;
  const cachedData = existsSync(cache) ? readFileSync(cache) : undefined;
  const script = new vm.Script(wrap(readFileSync(file, 'utf8')),
    { filename: file, cachedData });
  if (!cachedData || script.cachedDataRejected) {
    process.on('exit', () => saveCache(cache, script));
  }
  const module = { exports: {} };
  script.runInThisContext()(module.exports, createRequire(file), module,
    file, dirname(file), pathToFileURL(file).href, (m) => import(m));
  return module.exports;
}

function saveCache(path, script) {
  try {
    publish(path, script.createCachedData(), true);
  } catch { /* no cache: the next run compiles, as this one did */ }
}

/** CommonJS's function around a module, plus import.meta.url and import. */
function wrap(source) {
  return '(function (exports, require, module, __filename, __dirname, ' +
    `importMetaUrl, importModule) { 'use strict'; ${source}\n})`;
}

/**
 * Where a bundle's code needs its sources' own place (chapter 02's
 * build.ts finds the trampoline and the init beside itself): each
 * file's import.meta.url stays the URL of its source, not the bundle's.
 */
const sourceUrls = {
  name: 'source-urls',
  setup(build) {
    build.onLoad({ filter: /\.ts$/ }, (args) => ({
      loader: 'ts',
      contents: readFileSync(args.path, 'utf8').replaceAll(
        'import.meta.url', JSON.stringify(pathToFileURL(args.path).href)),
    }));
  },
};

/** Runs another entry's bundle (its exports to `then`). */
async function launch(source, name, then) {
  target = { source, out: join(REPO, '.cache', name),
    plugins: () => [sourceUrls, requireBuiltins] };
  return then(load(fresh() ?? await build()));
}

if (require.main === module) {
  (async () => load(fresh() ?? await build()))();
} else {
  module.exports = { launch };
}
