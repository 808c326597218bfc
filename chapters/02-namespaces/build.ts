// The two programs a container start runs before the user's command,
// built on first use into .cache/ and rebuilt when their sources change:
// the C trampoline (nsexec.c, compiled static so it also runs inside any
// rootfs as `--init`) and the init, bundled into one JavaScript file so
// that it starts with plain `node` (≈60 ms) instead of tsx (≈320 ms).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync, copyFileSync, existsSync, lstatSync, mkdirSync, readFileSync,
  renameSync, rmSync, statSync, utimesSync, writeFileSync,
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
    if (!existsSync(out)) return undefined;
    // One stat(2) per source, as final/skiff.cjs does: none changed
    // since the manifest was written, so none need hashing (every
    // start paid ≈20 ms for it).
    const made = statSync(manifest).mtimeMs;
    const older = (f: string) => statSync(join(REPO, f)).mtimeMs < made;
    if (inputs.every(older)) return out;
    if (hash !== hashInputs(inputs)) return undefined;
    const now = new Date();
    utimesSync(manifest, now, now); // touched, not changed
    return out;
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

/**
 * Where inits are published: a root-owned 0755 directory outside the
 * checkout. The init of a user-namespaced container runs as root of its
 * namespace, an unprivileged uid on the host, which cannot traverse a
 * checkout under a 0700 directory (root's home, `mktemp -d`, nvm). So
 * we copy what `node init.mjs` reads at run time (the bundle, koffi's
 * JavaScript and its one native module for this platform) into
 * PUBLISHED/<hash>/. The node binary itself is not copied: the
 * trampoline opens it while still the host's root and executes it by
 * fd (execveat(2)), which needs no search permission on its path.
 * The directory doubles as the empty mount point (ROOT_STAGE in
 * mounts.ts) where an init attaches a rootfs handed to it as a tree.
 */
export const PUBLISHED = '/run/skiff-init';

const published = new Map<string, string>();

// #region publish-init
/** The init bundle for `entry`, published; its path there. */
export function publishedInitPath(entry = INIT_ENTRY): string {
  const known = published.get(entry);
  if (known) return known;
  const bundle = initBundlePath(entry);
  const koffi = koffiFiles();
  const hash = publishedHash(bundle, koffi);
  safeDir(PUBLISHED);
  safeDir(join(PUBLISHED, 'rootfs'));
  const dir = join(PUBLISHED, hash);
  if (!existsSync(join(dir, 'init.mjs'))) publishDir(dir, bundle, koffi);
  const path = join(dir, 'init.mjs');
  published.set(entry, path);
  return path;
}
// #endregion

const KOFFI = resolve(REPO, 'node_modules/koffi');

/**
 * The hash naming a published init: of the bundle and koffi's files
 * (1.6 MB, ≈15 ms to read and hash), remembered beside the bundle by
 * the bundle's name (itself a hash of its content) and koffi's files'
 * sizes and mtimes, so an unchanged pair is not hashed again.
 */
function publishedHash(bundle: string, koffi: string[]): string {
  const memo = `${bundle}.published.json`;
  const sig = koffi.map((f) => {
    const st = statSync(join(KOFFI, f));
    return `${f}:${st.size}:${st.mtimeMs}`;
  }).join(',');
  try {
    const m = JSON.parse(readFileSync(memo, 'utf8'));
    if (m.sig === sig && /^[0-9a-f]+$/.test(m.hash)) return m.hash;
  } catch { /* none yet */ }
  const hash = hashOf(readFileSync(bundle),
    ...koffi.flatMap((f) => [f, readFileSync(join(KOFFI, f))]));
  publish(memo, (tmp) => writeFileSync(tmp, JSON.stringify({ sig, hash })));
  return hash;
}

/** What `import koffi` loads: its entry and this platform's module. */
function koffiFiles(): string[] {
  const triplets = [`${process.platform}_${process.arch}`,
    `musl_${process.arch}`];
  const native = triplets.map((t) => `build/koffi/${t}/koffi.node`)
    .find((f) => existsSync(join(KOFFI, f)));
  if (!native) {
    throw new Error(`publish the container init: no koffi.node for ${
      triplets[0]} in ${KOFFI}`);
  }
  return ['package.json', 'index.js', native];
}

/**
 * Makes `path` a directory only root can change, or checks that it is
 * one: a directory planted by someone else would let them swap what
 * every container's init runs.
 */
function safeDir(path: string): void {
  try {
    mkdirSync(path, { mode: 0o755 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw new Error(`publish the container init: mkdir ${path}: ${
        (err as NodeJS.ErrnoException).code}`, { cause: err });
    }
  }
  const st = lstatSync(path);
  if (!st.isDirectory() || st.uid !== 0 || (st.mode & 0o022) !== 0) {
    throw new Error(`publish the container init: ${path}: not a ` +
      'directory owned by root and writable only by it');
  }
  chmodSync(path, 0o755);
}

/** Fills a temporary directory, then renames it into place at once. */
function publishDir(dir: string, bundle: string, koffi: string[]): void {
  const tmp = `${dir}.${process.pid}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  try {
    const copy = (from: string, to: string) => {
      mkdirSync(dirname(join(tmp, to)), { recursive: true });
      copyFileSync(from, join(tmp, to));
      chmodSync(join(tmp, to), 0o644);
      // 0755 whatever our umask: every uid must read it.
      for (let d = dirname(to); d !== '.'; d = dirname(d)) {
        chmodSync(join(tmp, d), 0o755);
      }
    };
    copy(bundle, 'init.mjs');
    for (const f of koffi) copy(join(KOFFI, f), `node_modules/koffi/${f}`);
    chmodSync(tmp, 0o755);
    renameSync(tmp, dir);
  } catch (err) {
    // Another engine published the same hash first: theirs will do.
    if (!existsSync(join(dir, 'init.mjs'))) {
      throw new Error(`publish the container init in ${dir}: ${
        (err as NodeJS.ErrnoException).code ?? err}`, { cause: err });
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
