// The two programs a container start runs before the user's command,
// built on first use into .cache/ and rebuilt when their sources change:
// the C trampoline (nsexec.c, compiled static so it also runs inside any
// rootfs as `--init`) and the init, bundled into one JavaScript file so
// that it starts with plain `node` (≈60 ms) instead of tsx (≈320 ms).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CACHE_DIR } from '../01-chroot/rootfs.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(HERE, '../..');

function hashOf(...parts: (string | Buffer)[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest('hex').slice(0, 16);
}

/** Writes via a temporary name and rename(2): concurrent builders are safe. */
function publish(path: string, write: (tmp: string) => void): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    write(tmp);
    renameSync(tmp, path);
  } finally {
    rmSync(tmp, { force: true });
  }
}

const compiled = new Map<string, string>();

// #region compile-nsexec
/**
 * Compiles a C file (of this chapter, unless `dir` says) with
 * `cc -static` into .cache/, named by a hash of its source, and returns
 * the binary's path.
 */
export function compileStatic(file: string, dir = HERE): string {
  const src = join(dir, file);
  const known = compiled.get(src);
  if (known) return known;
  const name = file.replace(/\.c$/, '');
  const out = join(CACHE_DIR, `${name}-${hashOf(readFileSync(src))}`);
  if (!existsSync(out)) {
    publish(out, (tmp) => {
      try {
        execFileSync('cc', ['-static', '-O2', '-Wall', '-o', tmp, src],
          { stdio: ['ignore', 'ignore', 'pipe'] });
      } catch (err) {
        const e = err as NodeJS.ErrnoException & { stderr?: Buffer };
        const why = e.code === 'ENOENT'
          ? 'cc not found: install gcc and libc6-dev (sudo npm run setup)'
          : String(e.stderr ?? e.message).trim().split('\n')[0];
        throw new Error(`compile ${relative(REPO, src)}: ${why}`,
          { cause: err });
      }
      chmodSync(tmp, 0o755);
    });
  }
  compiled.set(src, out);
  return out;
}
// #endregion

/** The trampoline (and `--init`), compiled if needed. */
export const nsexecPath = (): string => compileStatic('nsexec.c');

const bundles = new Map<string, string>();

/** This chapter's init: the entry a start uses unless told another. */
export const INIT_ENTRY = join(HERE, 'init-main.ts');

/**
 * The path of the bundled init whose entry is `entry` (a later chapter
 * adds its layers with an entry of its own), named by a hash of the
 * sources that went in (listed in a manifest beside it), so a changed
 * source rebuilds it under a new name: an engine started earlier keeps
 * the init it was built with, never one that speaks a newer protocol.
 */
export function initBundlePath(entry = INIT_ENTRY): string {
  const known = bundles.get(entry);
  if (known) return known;
  const dir = join(CACHE_DIR, 'init');
  const manifest = join(dir,
    `${hashOf(relative(REPO, entry))}.inputs.json`);
  const path = current(dir, manifest) ?? bundleInit(entry, dir, manifest);
  bundles.set(entry, path);
  return path;
}

/** The bundle the manifest names, if its sources have not changed. */
function current(dir: string, manifest: string): string | undefined {
  try {
    const { inputs, hash } = JSON.parse(readFileSync(manifest, 'utf8'));
    const out = join(dir, `init-${hash}.mjs`);
    return existsSync(out) && hash === hashInputs(inputs) ? out : undefined;
  } catch {
    return undefined;
  }
}

function hashInputs(inputs: string[]): string {
  return hashOf(...inputs.flatMap((f) => [f, readFileSync(join(REPO, f))]));
}

// esbuild runs in a child process so that its API is not loaded into
// every engine; the build takes a fraction of a second, once.
function bundleInit(entry: string, dir: string, manifest: string)
  : string {
  const built = join(dir, `init.${process.pid}.mjs`);
  const meta = `${built}.meta.json`;
  const script = `const r = require('esbuild').buildSync({
    entryPoints: [${JSON.stringify(entry)}],
    bundle: true, platform: 'node', format: 'esm', target: 'node20',
    external: ['koffi'], outfile: process.argv[1], metafile: true,
    logLevel: 'error',
  });
  require('fs').writeFileSync(process.argv[2],
    JSON.stringify(Object.keys(r.metafile.inputs)));`;
  try {
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    execFileSync(process.execPath, ['-e', script, built, meta],
      { cwd: REPO, stdio: ['ignore', 'ignore', 'pipe'] });
    const inputs: string[] = JSON.parse(readFileSync(meta, 'utf8'));
    const hash = hashInputs(inputs);
    const out = join(dir, `init-${hash}.mjs`);
    chmodSync(built, 0o644);
    renameSync(built, out);
    publish(manifest, (tmp) => writeFileSync(tmp,
      JSON.stringify({ inputs, hash })));
    return out;
  } catch (err) {
    const e = err as { stderr?: Buffer; message: string };
    const why = String(e.stderr ?? e.message).trim().split('\n')[0];
    throw new Error(`bundle the container init: ${why}`, { cause: err });
  } finally {
    rmSync(meta, { force: true });
    rmSync(built, { force: true });
  }
}
