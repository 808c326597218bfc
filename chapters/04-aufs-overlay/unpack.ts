// Unpacking a layer: a tar archive becomes a directory that overlayfs can
// stack. Two concerns: faithfulness (every mode bit, owner, time, xattr,
// device node and hard link as recorded) and safety (an image is input
// from strangers; nothing may land outside the layer directory).
import {
  closeSync, constants as C, createReadStream, fchmodSync, fchownSync,
  futimesSync, linkSync, lchownSync, lstatSync, lutimesSync, mkdirSync,
  openSync, readSync, rmSync, statSync, symlinkSync,
  unlinkSync, writeSync, chmodSync,
} from 'node:fs';
import { CopyFailed, type LayerDigest, layerDigest } from './digest.ts';
import * as zlib from 'node:zlib';
import type { Readable, Transform } from 'node:stream';
import { syscall } from '../01-chroot/kernel.ts';
import { procStatus } from '../02-namespaces/procfs.ts';
import { TarReader, type TarEntry, type TarSink } from './tar.ts';

// #region declare-nodes
const mknod = syscall<[string, number, bigint]>(
  'int mknod(const char *path, uint32_t mode, uint64_t dev)');
const lsetxattr = syscall<[string, string, Buffer, number, number]>(
  'int lsetxattr(const char *path, const char *name, const void *value, ' +
  'size_t size, int flags)', (p, name) => `${JSON.stringify(p)}, "${name}"`);

/** makedev(3): glibc's split of major and minor numbers into a dev_t. */
export function makedev(major: number, minor: number): bigint {
  const ma = BigInt(major), mi = BigInt(minor);
  return ((ma & 0xfffff000n) << 32n) | ((ma & 0xfffn) << 8n) |
    ((mi & 0xffffff00n) << 12n) | (mi & 0xffn);
}
// #endregion

const S_IFCHR = 0o020000, S_IFBLK = 0o060000, S_IFIFO = 0o010000;
const S_ISGID = 0o2000;

/** How deletions are recorded on disk: by overlayfs or by AUFS. */
export type WhiteoutFormat = 'overlay' | 'aufs';

/** A layer archive that tries to write outside its directory. */
export class BreakoutError extends Error {}

export const WH_PREFIX = '.wh.';
export const WH_OPAQUE = '.wh..wh..opq';
/** AUFS's own bookkeeping in a branch: .wh..wh.aufs, .wh..wh.plnk, ... */
export const WH_META = '.wh..wh.';
export const OPAQUE_XATTR = 'trusted.overlay.opaque';

// #region clean-path
/**
 * The relative path an archive entry names, or a BreakoutError. Docker
 * cleans "a/../b"; we refuse every ".." and every absolute path, which
 * no honest layer contains.
 */
export function entryPath(name: string, what = 'path'): string {
  if (name.startsWith('/')) {
    throw new BreakoutError(`${what} "${name}" is absolute`);
  }
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) {
    throw new BreakoutError(`${what} "${name}" leaves the layer`);
  }
  return parts.join('/');
}
// #endregion

export interface UnpackStats {
  entries: number;
  /** Uncompressed bytes of the archive. */
  bytes: number;
  /** sha256 of the uncompressed archive: the layer's diff ID. */
  diffId: string;
}

/** Unpacks archive entries under `root`, as a TarSink. */
export class Unpacker implements TarSink {
  private readonly safeDirs = new Set<string>(['']);
  private readonly dirTimes: [string, number][] = [];
  private fd = -1;
  private cur: TarEntry | null = null;
  private curPath = '';
  entries = 0;
  /** Directories whose new files take the directory's group. */
  private readonly setgidDirs = new Set<string>();
  private readonly umask = currentUmask();
  private readonly asRoot = process.getuid?.() === 0 &&
    process.getgid?.() === 0;

  constructor(
    private readonly root: string,
    private readonly whiteouts: WhiteoutFormat = 'overlay',
  ) {
    if ((lstatSync(root).mode & S_ISGID) !== 0) this.setgidDirs.add('');
  }

  private abs(rel: string): string {
    return rel === '' ? this.root : `${this.root}/${rel}`;
  }

  // #region safe-parent
  /**
   * Makes sure every directory above `rel` is a real directory inside the
   * layer, creating missing ones. A symlink anywhere on the way is refused:
   * the kernel would follow it, and it may point at the host's /etc. A
   * layer archive never needs one (its entries are stored under the real
   * directories). Checked directories are remembered, so a large layer
   * costs one lstat(2) per directory, not per file.
   */
  private ensureParent(rel: string, entry: string): void {
    const slash = rel.lastIndexOf('/');
    const parent = slash < 0 ? '' : rel.slice(0, slash);
    if (this.safeDirs.has(parent)) return;
    this.ensureParent(parent, entry);
    const st = lstatOrNull(this.abs(parent));
    if (st === null) {
      mkdirSync(this.abs(parent), 0o755);
      if (this.setgidDirs.has(parentOf(parent))) this.setgidDirs.add(parent);
    } else if (st.isSymbolicLink()) {
      throw new BreakoutError(`"${entry}" would be written through ` +
        `the symlink "${parent}"`);
    } else if (!st.isDirectory()) {
      throw new BreakoutError(`"${entry}": "${parent}" is not a directory`);
    } else if ((st.mode & S_ISGID) !== 0) {
      this.setgidDirs.add(parent);
    }
    this.safeDirs.add(parent);
  }
  // #endregion

  /** Removes whatever is at `rel` so that a new entry can take its place. */
  private clear(rel: string): void {
    const st = lstatOrNull(this.abs(rel));
    if (st === null) return;
    if (st.isDirectory()) {
      rmSync(this.abs(rel), { recursive: true, force: true });
      for (const d of this.safeDirs) {
        if (d === rel || d.startsWith(`${rel}/`)) this.safeDirs.delete(d);
      }
    } else {
      unlinkSync(this.abs(rel));
    }
  }

  // #region entry
  entry(e: TarEntry): void {
    this.entries++;
    const rel = entryPath(e.path);
    this.cur = e;
    this.curPath = rel;
    const base = rel.slice(rel.lastIndexOf('/') + 1);
    if (rel !== '') this.ensureParent(rel, e.path);
    if (this.whiteouts === 'overlay' && base.startsWith(WH_PREFIX)) {
      this.cur = null; // no data, no metadata of its own
      return this.whiteout(rel, base);
    }
    switch (e.type) {
      case 'dir': return this.dir(rel, e);
      case 'file': return this.file(rel, e);
      case 'symlink': return this.symlink(rel, e);
      case 'link': return this.hardlink(rel, e);
      default: return this.node(rel, e);
    }
  }
  // #endregion

  // #region whiteout
  /**
   * An AUFS-style deletion marker in the archive becomes overlayfs's
   * own: ".wh.name" a 0/0 character device called "name", and
   * ".wh..wh..opq" the trusted.overlay.opaque xattr on its directory
   * (Documentation/filesystems/overlayfs.rst, "whiteouts and opaque
   * directories").
   */
  private whiteout(rel: string, base: string): void {
    const dir = rel.slice(0, Math.max(0, rel.length - base.length - 1));
    if (base === WH_OPAQUE) {
      lsetxattr(this.abs(dir), OPAQUE_XATTR, Buffer.from('y'), 1, 0);
      return;
    }
    if (base.startsWith(WH_META)) return; // AUFS bookkeeping
    const name = base.slice(WH_PREFIX.length);
    const target = dir === '' ? name : `${dir}/${name}`;
    entryPath(target); // ".wh..." must still name something inside
    this.clear(target);
    mknod(this.abs(target), S_IFCHR, 0n);
  }
  // #endregion

  private dir(rel: string, e: TarEntry): void {
    const p = this.abs(rel);
    const st = lstatOrNull(p);
    if (st !== null && !st.isDirectory()) this.clear(rel);
    if (st === null || !st.isDirectory()) mkdirSync(p, 0o700);
    lchownSync(p, e.uid, e.gid);
    chmodSync(p, e.mode);
    if ((e.mode & S_ISGID) !== 0) this.setgidDirs.add(rel);
    this.xattrs(p, e);
    this.safeDirs.add(rel);
    this.dirTimes.push([rel, e.mtime]);
  }

  private file(rel: string, e: TarEntry): void {
    const p = this.abs(rel);
    const flags = C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW;
    const mode = e.mode & 0o777; // O_EXCL: a new file, ours alone
    try {
      this.fd = openSync(p, flags, mode);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      this.clear(rel);
      this.fd = openSync(p, flags, mode);
    }
  }

  data(chunk: Buffer): void {
    if (this.fd < 0) return; // a whiteout that carries data
    let done = 0;
    while (done < chunk.length) done += writeSync(this.fd, chunk, done);
  }

  end(): void {
    const e = this.cur;
    if (e === null || e.type !== 'file') return;
    const fd = this.fd;
    this.fd = -1;
    try {
      // chown(2) clears setuid and setgid bits, so ownership comes first.
      if (!this.ownsAsCreated(e)) fchownSync(fd, e.uid, e.gid);
      if ((e.mode & (0o7000 | this.umask)) !== 0) fchmodSync(fd, e.mode);
      futimesSync(fd, e.mtime, e.mtime);
    } finally {
      closeSync(fd);
    }
    this.xattrs(this.abs(this.curPath), e);
  }

  // #region fewer-calls
  /**
   * Most files of an image belong to root, and root created them: then
   * the chown is a no-op (unless a setgid directory gave the file its
   * own group), as is a chmod to the mode open(2) already set, minus the
   * umask. Skipping both saves two of six system calls per file.
   */
  private ownsAsCreated(e: TarEntry): boolean {
    return this.asRoot && e.uid === 0 && e.gid === 0 &&
      !this.setgidDirs.has(parentOf(this.curPath));
  }
  // #endregion

  private symlink(rel: string, e: TarEntry): void {
    const p = this.abs(rel);
    this.clear(rel);
    // The target is only text to us: nothing below ever follows it.
    symlinkSync(e.linkpath, p);
    lchownSync(p, e.uid, e.gid);
    this.xattrs(p, e);
    lutimesSync(p, e.mtime, e.mtime);
  }

  // #region hardlink
  /**
   * A hard link names another entry of the same archive. Its target goes
   * through the same checks as a path, so "../../etc/shadow" or
   * "evil-symlink/shadow" cannot link a host file into the layer.
   */
  private hardlink(rel: string, e: TarEntry): void {
    const target = entryPath(e.linkpath, 'hard link target');
    if (target === '') throw new BreakoutError(`hard link "${e.path}" to /`);
    this.ensureParent(target, e.linkpath);
    const st = lstatOrNull(this.abs(target));
    if (st === null || st.isDirectory()) {
      throw new BreakoutError(`hard link "${e.path}" to "${e.linkpath}": ` +
        'no such file in the layer');
    }
    if (target === rel) return;
    this.clear(rel);
    linkSync(this.abs(target), this.abs(rel)); // link(2) never follows
  }
  // #endregion

  private node(rel: string, e: TarEntry): void {
    const p = this.abs(rel);
    const kind = e.type === 'char' ? S_IFCHR : e.type === 'block'
      ? S_IFBLK : S_IFIFO;
    this.clear(rel);
    mknod(p, kind | 0o600, makedev(e.devmajor, e.devminor));
    lchownSync(p, e.uid, e.gid);
    chmodSync(p, e.mode);
    this.xattrs(p, e);
    lutimesSync(p, e.mtime, e.mtime);
  }

  private xattrs(p: string, e: TarEntry): void {
    for (const [name, value] of e.xattrs) {
      // overlayfs reads its own trusted.overlay.* attributes from layers
      // (redirects, opaque dirs): an archive must not plant them.
      if (name.startsWith('trusted.overlay.')) continue;
      lsetxattr(p, name, value, value.length, 0);
    }
  }

  /** Directory times last: creating children changed them. */
  finish(): void {
    for (let i = this.dirTimes.length - 1; i >= 0; i--) {
      const [rel, t] = this.dirTimes[i];
      lutimesSync(this.abs(rel), t, t);
    }
  }

  /** Closes a file left open by an archive that failed half-way. */
  abort(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}

function parentOf(rel: string): string {
  const slash = rel.lastIndexOf('/');
  return slash < 0 ? '' : rel.slice(0, slash);
}

/** The process's umask, read without changing it (proc(5) "Umask"). */
function currentUmask(): number {
  const umask = procStatus()?.get('Umask');
  return umask ? parseInt(umask, 8) : 0o777; // unknown: always chmod
}

function lstatOrNull(p: string) {
  return lstatSync(p, { throwIfNoEntry: false }) ?? null;
}

// #region decompress
const GZIP = [0x1f, 0x8b], ZSTD = [0x28, 0xb5, 0x2f, 0xfd];

export type Compression = 'none' | 'gzip' | 'zstd';

/** Recognises a blob's compression by its magic number, as Docker does. */
export function compressionOf(magic: Buffer): Compression {
  if (magic[0] === GZIP[0] && magic[1] === GZIP[1]) return 'gzip';
  if (ZSTD.every((b, i) => magic[i] === b)) return 'zstd';
  return 'none';
}

/** The decompressed stream of a compressed blob. */
function decompressor(kind: Compression): Transform {
  if (kind === 'gzip') return zlib.createGunzip({ chunkSize: 1 << 18 });
  const z = zlib as unknown as { createZstdDecompress?: () => Transform };
  if (!z.createZstdDecompress) {
    throw new Error('layer compressed with zstd is not supported ' +
      `by Node ${process.version} (needs 22.15 or newer)`);
  }
  return z.createZstdDecompress();
}
// #endregion

/** Where a layer blob is: a file, or a byte range inside one. */
export interface BlobRange {
  file: string;
  start?: number;
  /** Length in bytes; default: to the end of the file. */
  length?: number;
}

export interface UnpackOptions {
  whiteouts?: WhiteoutFormat;
  /** Also write the uncompressed tar to this fd (the store keeps it). */
  copyTo?: number;
}

// #region unpack
/**
 * Unpacks a layer blob (tar, tar+gzip or tar+zstd) into `dest`, hashing
 * the uncompressed bytes on the way: the result's diffId. Uncompressed
 * input is read with plain read(2)s on this thread; compressed input is
 * inflated by zlib on a worker thread and streamed.
 */
export async function unpack(blob: BlobRange, dest: string,
  opts: UnpackOptions = {}): Promise<UnpackStats> {
  const sink = new Unpacker(dest, opts.whiteouts);
  const reader = new TarReader(sink);
  const size = blob.length ?? statSync(blob.file).size - (blob.start ?? 0);
  const digest = layerDigest(size, opts.copyTo);
  let bytes = 0;
  const feed = (chunk: Buffer) => {
    bytes += chunk.length;
    reader.push(chunk);
  };
  try {
    const kind = compressionOf(readAt(blob.file, blob.start ?? 0, 4));
    if (kind === 'none') readInto(blob, digest, feed);
    else {
      for await (const chunk of openBlob(blob, kind)) {
        copyInto(chunk, digest);
        feed(chunk);
      }
    }
    reader.finish();
    sink.finish();
  } catch (err) {
    sink.abort();
    const why = await digest.abort();
    throw err instanceof CopyFailed ? why ?? err : err;
  }
  return { entries: sink.entries, bytes, diffId: await digest.digest() };
}
// #endregion

/** A compressed blob's decompressed stream. */
function openBlob(blob: BlobRange, kind: Compression): Readable {
  const inflate = decompressor(kind); // fails before opening anything
  const start = blob.start ?? 0;
  const end = blob.length === undefined ? undefined
    : start + blob.length - 1;
  const raw = createReadStream(blob.file, { start, end,
    highWaterMark: 1 << 20 });
  raw.on('error', (err) => inflate.destroy(err));
  return raw.pipe(inflate);
}

/**
 * Reads a range into the digest's buffers and feeds each to `feed` too:
 * the bytes hashed are the bytes unpacked, read once.
 */
function readInto(blob: BlobRange, digest: LayerDigest,
  feed: (b: Buffer) => void): void {
  const fd = openSync(blob.file, 'r');
  let pos = blob.start ?? 0;
  let left = blob.length ?? Infinity;
  try {
    while (left > 0) {
      const buf = digest.slot();
      const n = readSync(fd, buf, 0, Math.min(buf.length, left), pos);
      if (n === 0) break;
      digest.commit(n);
      feed(buf.subarray(0, n));
      pos += n;
      left -= n;
    }
  } finally {
    closeSync(fd);
  }
}

function copyInto(chunk: Buffer, digest: LayerDigest): void {
  for (let at = 0; at < chunk.length;) {
    const n = chunk.copy(digest.slot(), 0, at);
    digest.commit(n);
    at += n;
  }
}

/** Calls `feed` with the bytes of a range, 1 MiB at a time. */
export function readRange(blob: BlobRange, feed: (b: Buffer) => void): void {
  const fd = openSync(blob.file, 'r');
  const buf = Buffer.allocUnsafe(1 << 20);
  let pos = blob.start ?? 0;
  let left = blob.length ?? Infinity;
  try {
    while (left > 0) {
      const n = readSync(fd, buf, 0, Math.min(buf.length, left), pos);
      if (n === 0) break;
      feed(buf.subarray(0, n));
      pos += n;
      left -= n;
    }
  } finally {
    closeSync(fd);
  }
}

function readAt(file: string, pos: number, len: number): Buffer {
  const b = Buffer.alloc(len);
  const fd = openSync(file, 'r');
  try {
    readSync(fd, b, 0, len, pos);
  } finally {
    closeSync(fd);
  }
  return b;
}
