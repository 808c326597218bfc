// COPY and ADD: files of the build context (or of another image's
// root) into a container's root, by docker's rules. A directory source
// copies its contents, not itself; a destination ending in "/" (or an
// existing directory) receives files under their own names; several
// sources need such a destination. Files belong to root unless --chown
// says otherwise. Sources stay inside the context: "..", and symlinks
// that lead out of it, are refused. The destination is resolved inside
// the container's root (the image's symlinks cannot lead out of it).
import {
  closeSync, constants as C, copyFileSync, fchmodSync, fchownSync,
  futimesSync, lchownSync, lstatSync, openSync, readdirSync, readlinkSync,
  type Stats, symlinkSync, unlinkSync,
} from 'node:fs';
import { join, posix } from 'node:path';
import { mkdirInRoot, openInRoot } from
  '../../chapters/06-security/inroot.ts';
import { BuildError } from './builder.ts';
import {
  cleanPath, compilePattern, ignored, parseIgnore,
} from './ignore.ts';

export type Ignore = ReturnType<typeof parseIgnore>;

/** Where COPY puts things and as whom. */
export interface CopyTarget {
  /** The container's root directory on the host (mounted). */
  root: string;
  dest: string;
  workdir: string;
  uid: number;
  gid: number;
  mode?: number;
}

/**
 * The context paths a COPY source names: itself, or what its wildcards
 * match (Go's filepath.Match per path component). Ignored files do not
 * exist for the build.
 */
export function sources(context: string, src: string, ignore: Ignore)
  : string[] {
  const clean = cleanPath(src.replace(/^\/+/, ''));
  if (clean === '..' || clean.startsWith('../')) {
    throw new BuildError(`COPY failed: forbidden path outside the build ` +
      `context: ${src}`);
  }
  if (clean === '.') return ['.'];
  let found = ['.'];
  for (const part of clean.split('/')) {
    const re = /[*?[\\]/.test(part) ? compilePattern(part) : undefined;
    found = found.flatMap((dir) => {
      if (!re) return [join(dir, part)];
      try {
        return readdirSync(join(context, dir)).filter((n) => re.test(n))
          .sort().map((n) => join(dir, n));
      } catch {
        return [];
      }
    });
  }
  found = found.filter((p) => exists(context, p) &&
    !left(context, p, ignore));
  if (!found.length) {
    throw new BuildError(`COPY failed: file not found in build context ` +
      `or excluded by .dockerignore: stat ${clean}: file does not exist`);
  }
  for (const p of found) insideContext(context, p, src);
  return found;
}

/**
 * Whether .dockerignore leaves `rel` out of the build. An ignored
 * directory stays when it holds a `!` exception's file (`docs` and
 * `!docs/README.md`): docker's CLI sends that file, and its directory.
 */
export function left(context: string, rel: string, ignore: Ignore)
  : boolean {
  if (!ignored(ignore, rel)) return false;
  if (!ignore.some((p) => p.exclusion)) return true;
  const holds = (dir: string): boolean => {
    let names: string[];
    try {
      names = readdirSync(join(context, dir));
    } catch {
      return false; // not a directory
    }
    return names.some((n) => !ignored(ignore, `${dir}/${n}`) ||
      holds(`${dir}/${n}`));
  };
  return !holds(rel);
}

function exists(context: string, path: string): boolean {
  try {
    lstatSync(join(context, path));
    return true;
  } catch {
    return false;
  }
}

/** Refuses a source whose symlinks lead out of the context. */
function insideContext(context: string, path: string, src: string): void {
  let seen = '';
  for (const part of path.split('/')) {
    const next = seen ? `${seen}/${part}` : part;
    if (lstatSync(join(context, next)).isSymbolicLink()) {
      const target = readlinkSync(join(context, next));
      const lands = posix.normalize(posix.join(seen || '.', target));
      if (target.startsWith('/') || lands === '..' ||
        lands.startsWith('../')) {
        throw new BuildError('COPY failed: forbidden path outside the ' +
          `build context: ${src} (${next} -> ${target})`);
      }
    }
    seen = next;
  }
}

/** Copies the sources by docker's rules into the target. */
export function copyInto(context: string, paths: string[],
  t: CopyTarget, ignore: Ignore): void {
  const dest = t.dest.startsWith('/') ? t.dest
    : posix.join(t.workdir || '/', t.dest);
  const intoDir = t.dest.endsWith('/') || t.dest === '.' ||
    isDirInRoot(t.root, dest);
  if (paths.length > 1 && !intoDir) {
    throw new BuildError('When using COPY with more than one source file, ' +
      'the destination must be a directory and end with a /');
  }
  for (const p of paths) {
    const dir = lstatSync(join(context, p)).isDirectory();
    const to = !dir && intoDir ? posix.join(dest, posix.basename(p)) : dest;
    mkdirInRoot(t.root, dir ? to : posix.dirname(to), 0o755);
    copyTree(context, p, to, t, ignore);
  }
}

function isDirInRoot(root: string, path: string): boolean {
  try {
    closeSync(openInRoot(root, path, C.O_RDONLY | C.O_DIRECTORY));
    return true;
  } catch {
    return false;
  }
}

// #region copy-tree
/**
 * One context entry to `to`, a path inside the root. Every directory is
 * opened inside the root (openat2 RESOLVE_IN_ROOT): an image's symlink
 * `/app -> /etc` leads to the container's /etc, never the host's; a
 * symlink where a file goes is replaced, not followed.
 */
function copyTree(context: string, rel: string, to: string, t: CopyTarget,
  ignore: Ignore): void {
  const from = join(context, rel);
  const st = lstatSync(from);
  if (st.isDirectory()) {
    mkdirInRoot(t.root, to, 0o755);
    const fd = openInRoot(t.root, to, C.O_RDONLY | C.O_DIRECTORY);
    try { own(fd, st, t); } finally { closeSync(fd); }
    for (const name of readdirSync(from).sort()) {
      const child = rel === '.' ? name : `${rel}/${name}`;
      if (!left(context, child, ignore)) {
        copyTree(context, child, posix.join(to, name), t, ignore);
      }
    }
    return;
  }
  if (!st.isFile() && !st.isSymbolicLink()) return; // as docker: skipped
  const dir = openInRoot(t.root, posix.dirname(to), C.O_RDONLY |
    C.O_DIRECTORY);
  try {
    const target = `/proc/self/fd/${dir}/${posix.basename(to)}`;
    try { unlinkSync(target); } catch { /* nothing there */ }
    if (st.isSymbolicLink()) {
      symlinkSync(readlinkSync(from), target);
      lchownSync(target, t.uid, t.gid);
      return;
    }
    copyFileSync(from, target, C.COPYFILE_EXCL);
    const fd = openSync(target, C.O_RDONLY | C.O_NOFOLLOW);
    try { own(fd, st, t); } finally { closeSync(fd); }
  } finally {
    closeSync(dir);
  }
}
// #endregion

/** Owner, mode and times of a copied file, through its open fd. */
function own(fd: number, st: Stats, t: CopyTarget): void {
  fchownSync(fd, t.uid, t.gid);
  fchmodSync(fd, t.mode ?? st.mode & 0o7777);
  futimesSync(fd, st.atime, st.mtime);
}
