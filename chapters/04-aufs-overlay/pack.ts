// Packing a directory tree into a tar: how a container's upper directory
// becomes a new layer (`docker commit`) and how its merged view becomes
// an export (`docker export`). The reverse of unpack.ts, whiteouts too.
import {
  closeSync, constants as C, lstatSync, openSync, readSync, readdirSync,
  readlinkSync, type Stats,
} from 'node:fs';
import { syscall } from '../01-chroot/kernel.ts';
import { type EntryType, TarWriter } from './tar.ts';
import {
  OPAQUE_XATTR, WH_META, WH_OPAQUE, WH_PREFIX,
} from './unpack.ts';

// #region declare-xattr
const llistxattr = syscall<[string, Buffer | null, number]>(
  'intptr_t llistxattr(const char *path, void *list, size_t size)');
const lgetxattr = syscall<[string, string, Buffer | null, number]>(
  'intptr_t lgetxattr(const char *path, const char *name, void *value, ' +
  'size_t size)');
// #endregion

/** All extended attributes of a path, without following a symlink. */
export function readXattrs(path: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  let size: number;
  try {
    size = llistxattr(path, null, 0);
  } catch {
    return out; // a filesystem without xattrs
  }
  if (size === 0) return out;
  const list = Buffer.alloc(size);
  const n = llistxattr(path, list, size);
  for (const name of list.toString('utf8', 0, n).split('\0')) {
    if (!name) continue;
    try {
      const len = lgetxattr(path, name, null, 0);
      const v = Buffer.alloc(len);
      lgetxattr(path, name, v, len);
      out.set(name, v);
    } catch {
      // removed meanwhile, or not readable (e.g. trusted.* in a userns)
    }
  }
  return out;
}

/** What the tree is: a plain filesystem, or an overlayfs/AUFS upper. */
export type TreeKind = 'plain' | 'upper' | 'aufs-upper';

// #region whiteout-back
/**
 * In an upper directory, a 0/0 character device means "deleted" and the
 * opaque xattr "nothing below shows through". A layer archive says the
 * same with AUFS's names: ".wh.<name>" and ".wh..wh..opq" entries.
 */
function isWhiteout(st: Stats): boolean {
  return st.isCharacterDevice() && st.rdev === 0;
}
// #endregion

/**
 * Writes `root`'s contents, sorted, to `tw` (names relative, without
 * "./"). Hard links within the tree stay hard links.
 */
export function packTree(root: string, tw: TarWriter,
  kind: TreeKind = 'plain'): void {
  const links = new Map<string, string>();
  const walk = (rel: string) => {
    const names = readdirSync(rel ? `${root}/${rel}` : root).sort();
    for (const name of names) {
      const r = rel ? `${rel}/${name}` : name;
      const p = `${root}/${r}`;
      if (kind === 'aufs-upper' && name.startsWith(WH_PREFIX)) {
        // Already ".wh." names, but hard links to one file AUFS keeps
        // under .wh..wh.aufs: write each as a plain empty file, and
        // skip AUFS's bookkeeping (.wh..wh.plnk, .wh..wh.orph, ...).
        if (name.startsWith(WH_META) && name !== WH_OPAQUE) continue;
        tw.header({ path: r, type: 'file', mode: 0o644,
          mtime: Math.floor(lstatSync(p).mtimeMs / 1000) });
        continue;
      }
      const st = lstatSync(p);
      if (kind === 'upper' && isWhiteout(st)) {
        tw.header({ path: whiteoutName(rel, name), type: 'file',
          mode: 0o644, mtime: Math.floor(st.mtimeMs / 1000) });
        continue;
      }
      if (!st.isDirectory() && st.nlink > 1) {
        const key = `${st.dev}:${st.ino}`;
        const first = links.get(key);
        if (first !== undefined) {
          const { opaque: _, ...m } = meta(st, p);
          tw.header({ ...m, path: r, type: 'link',
            linkpath: first, size: 0 });
          continue;
        }
        links.set(key, r);
      }
      packOne(tw, r, p, st, kind);
      if (st.isDirectory()) walk(r);
    }
  };
  walk('');
}

function whiteoutName(dir: string, name: string): string {
  return dir ? `${dir}/${WH_PREFIX}${name}` : `${WH_PREFIX}${name}`;
}

function packOne(tw: TarWriter, r: string, p: string, st: Stats,
  kind: TreeKind): void {
  const { opaque, ...m } = meta(st, p);
  if (st.isDirectory()) {
    tw.header({ ...m, path: `${r}/`, type: 'dir' });
    if (kind === 'upper' && opaque) {
      tw.header({ path: `${r}/${WH_OPAQUE}`, type: 'file', mode: 0o644,
        mtime: m.mtime });
    }
  } else if (st.isSymbolicLink()) {
    tw.header({ ...m, path: r, type: 'symlink', linkpath: readlinkSync(p) });
  } else if (st.isFile()) {
    tw.header({ ...m, path: r, type: 'file', size: st.size });
    copyFile(tw, p, st.size);
  } else {
    const type: EntryType = st.isCharacterDevice() ? 'char'
      : st.isBlockDevice() ? 'block' : 'fifo';
    if (st.isSocket()) return; // tar cannot hold sockets; Docker skips too
    tw.header({ ...m, path: r, type, devmajor: major(st.rdev),
      devminor: minor(st.rdev) });
  }
}

function meta(st: Stats, p: string) {
  const xattrs = readXattrs(p);
  const opaque = xattrs.get(OPAQUE_XATTR)?.toString() === 'y';
  for (const k of xattrs.keys()) {
    if (k.startsWith('trusted.overlay.')) xattrs.delete(k);
  }
  // Docker truncates times to seconds too: no pax record per file.
  return { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid,
    mtime: Math.floor(st.mtimeMs / 1000), xattrs, opaque };
}

/** Copies exactly `size` bytes (a file that shrank is padded). */
function copyFile(tw: TarWriter, p: string, size: number): void {
  // The tree may be a running container's: if a FIFO took the file's
  // place since lstat, O_NONBLOCK keeps the open from waiting on it.
  const fd = openSync(p, C.O_RDONLY | C.O_NOFOLLOW | C.O_NONBLOCK);
  const buf = Buffer.allocUnsafe(1 << 20);
  let left = size;
  try {
    while (left > 0) {
      const n = readSync(fd, buf, 0, Math.min(buf.length, left), null);
      if (n === 0) break;
      tw.write(buf.subarray(0, n));
      left -= n;
    }
  } finally {
    closeSync(fd);
  }
  if (left > 0) tw.write(Buffer.alloc(left));
  tw.pad(size);
}

// gnu_dev_major/minor(3), the inverse of makedev.
function major(dev: number): number {
  const d = BigInt(dev);
  return Number(((d >> 8n) & 0xfffn) | ((d >> 32n) & ~0xfffn));
}

function minor(dev: number): number {
  const d = BigInt(dev);
  return Number((d & 0xffn) | ((d >> 12n) & ~0xffn));
}
