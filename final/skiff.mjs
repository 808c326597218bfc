#!/usr/bin/env node
// skiff's command line as users run it: final/cli.ts bundled by esbuild
// (tsx's own dependency) into plain JavaScript under .cache/cli/, so a
// command costs node's start-up and its requests to the daemon, not tsx
// compiling TypeScript at every start (≈60 ms against ≈320 ms idle).
//
//   sudo final/skiff.mjs run --rm -it busybox sh
//
// Built on first use and again once a source it was made from changes:
// the check is one stat(2) per source. Plain JavaScript, since node
// alone cannot load TypeScript.
import {
  existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync,
} from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const OUT = join(REPO, '.cache', 'cli');
const MANIFEST = join(OUT, 'manifest.json');

/** The bundle's entry file, if no source changed since it was built. */
function fresh() {
  try {
    const { entry, builtAt, inputs } = JSON.parse(
      readFileSync(MANIFEST, 'utf8'));
    const changed = inputs.some((f) =>
      statSync(join(REPO, f)).mtimeMs > builtAt);
    return changed ? undefined : join(OUT, entry);
  } catch {
    return undefined;
  }
}

// The daemon stays TypeScript, run through tsx's API: it finds its C
// trampoline, its init and .cache/ from its sources' location, and it
// starts once, not at every command.
const daemonFromSources = {
  name: 'daemon-from-sources',
  setup(build) {
    build.onResolve({ filter: /\/daemon\/main\.ts$/ }, (args) => ({
      path: join(args.resolveDir, args.path), namespace: 'source',
    }));
    build.onLoad({ filter: /.*/, namespace: 'source' }, (args) => ({
      contents: `import { register } from 'tsx/esm/api';
        const source = ${JSON.stringify(pathToFileURL(args.path).href)};
        export async function runDaemon(opts) {
          register();
          return (await import(source)).runDaemon(opts);
        }`,
      resolveDir: REPO,
    }));
  },
};

/**
 * Two first runs at once build the same files: each is written under a
 * temporary name and renamed, so a reader never loads a half-written one
 * (a name is its content's hash: an existing file is already right).
 */
function publish(path, contents) {
  if (existsSync(path)) return;
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, contents);
  renameSync(tmp, path);
}

/**
 * One file per command (esbuild's splitting keeps the CLI's lazy
 * imports lazy: `ps` loads neither koffi nor the image code), names
 * hashed so that a build never changes a file a running CLI may load.
 */
async function build() {
  const builtAt = Date.now();
  const { build: esbuild } = await import('esbuild');
  const r = await esbuild({
    entryPoints: [join(REPO, 'final/cli.ts')], bundle: true,
    platform: 'node', format: 'esm', target: 'node20', splitting: true,
    outdir: OUT, entryNames: '[name]-[hash]', chunkNames: 'chunk-[hash]',
    outExtension: { '.js': '.mjs' },
    external: ['koffi', 'tsx'], plugins: [daemonFromSources],
    metafile: true, logLevel: 'error', write: false,
  });
  mkdirSync(OUT, { recursive: true });
  for (const f of r.outputFiles) publish(f.path, f.contents);
  const entry = Object.entries(r.metafile.outputs)
    .find(([, o]) => o.entryPoint?.endsWith('final/cli.ts'))[0];
  const inputs = Object.keys(r.metafile.inputs)
    .filter((f) => !f.includes(':'))
    .map((f) => relative(REPO, join(process.cwd(), f)));
  const tmp = `${MANIFEST}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify({ entry: relative(OUT,
    join(process.cwd(), entry)), builtAt, inputs }));
  renameSync(tmp, MANIFEST);
  return join(process.cwd(), entry);
}

await import(pathToFileURL(fresh() ?? await build()).href);
