// A streaming tar reader and writer: the format every image layer uses.
//
// A tar archive is a sequence of 512-byte headers, each followed by the
// entry's data padded to 512 bytes, and ends with two zero blocks. The
// 1988 "ustar" header holds a 100-byte name, so longer names, big uids,
// sub-second mtimes and extended attributes travel in extra entries that
// describe the next one: POSIX pax headers (type 'x', "key=value"
// records, see pax(1)) and GNU's older 'L'/'K' long-name entries.
import { writeSync } from 'node:fs';
import { createHash, type Hash } from 'node:crypto';

export type EntryType =
  | 'file' | 'dir' | 'symlink' | 'link' | 'char' | 'block' | 'fifo';

export interface TarEntry {
  path: string;
  type: EntryType;
  /** Permission bits incl. setuid/setgid/sticky (07777). */
  mode: number;
  uid: number;
  gid: number;
  size: number;
  /** Seconds since the epoch, possibly fractional (pax). */
  mtime: number;
  /** Symlink target, or the archive path a hard link points to. */
  linkpath: string;
  devmajor: number;
  devminor: number;
  /** Extended attributes (pax SCHILY.xattr.name). */
  xattrs: Map<string, Buffer>;
}

/** Receives a parsed archive: a header, its data in pieces, its end. */
export interface TarSink {
  entry(e: TarEntry): void;
  data(chunk: Buffer): void;
  end(): void;
}

const BLOCK = 512;

const TYPES: Record<string, EntryType> = {
  '0': 'file', '\0': 'file', '7': 'file', '1': 'link', '2': 'symlink',
  '3': 'char', '4': 'block', '5': 'dir', '6': 'fifo',
};

export class TarFormatError extends Error {}

/**
 * A push parser: feed it chunks of any size with push(); it calls the
 * sink synchronously, so a consumer can write files without awaiting.
 */
export class TarReader {
  private head = Buffer.alloc(BLOCK);
  private headFill = 0;
  private remaining = 0;       // data bytes of the current entry left
  private padding = 0;         // zero bytes after the data left
  private meta: Buffer[] | null = null; // collecting a pax/GNU body
  private metaType = '';
  private pax = new Map<string, Buffer>();    // for the next entry
  private global = new Map<string, Buffer>(); // for all entries
  private longName: string | null = null;
  private longLink: string | null = null;
  private ended = false;
  private inEntry = false;
  private sawAny = false;

  constructor(private readonly sink: TarSink) {}

  /** Archive offset of the current entry's data (for an index). */
  entryOffset = 0;
  private total = 0; // bytes consumed before the current chunk

  push(chunk: Buffer): void {
    this.pushChunk(chunk);
    this.total += chunk.length;
  }

  private pushChunk(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length && !this.ended) {
      if (this.remaining > 0) {
        const n = Math.min(this.remaining, chunk.length - at);
        const piece = chunk.subarray(at, at + n);
        if (this.meta) this.meta.push(Buffer.from(piece));
        else this.sink.data(piece);
        this.remaining -= n;
        at += n;
        if (this.remaining === 0) this.finishData();
      } else if (this.padding > 0) {
        const n = Math.min(this.padding, chunk.length - at);
        this.padding -= n;
        at += n;
      } else {
        const n = Math.min(BLOCK - this.headFill, chunk.length - at);
        chunk.copy(this.head, this.headFill, at, at + n);
        this.headFill += n;
        at += n;
        if (this.headFill === BLOCK) {
          this.headFill = 0;
          this.entryOffset = this.total + at;
          this.header(this.head);
        }
      }
    }
  }

  /** Call after the last chunk: fails on a truncated archive. */
  finish(): void {
    if (this.ended) return;
    if (this.remaining > 0 || this.headFill > 0 || this.inEntry) {
      throw new TarFormatError('unexpected end of archive');
    }
    if (!this.sawAny) throw new TarFormatError('empty archive');
    this.ended = true; // tolerate a missing end-of-archive marker
  }

  private finishData(): void {
    this.padding = (BLOCK - (this.lastSize % BLOCK)) % BLOCK;
    if (this.meta) {
      this.metaDone(Buffer.concat(this.meta));
      this.meta = null;
    } else {
      this.inEntry = false;
      this.sink.end();
    }
  }

  private lastSize = 0;

  // #region reader
  private header(h: Buffer): void {
    this.sawAny = true;
    if (isZero(h)) {
      this.ended = true;
      return;
    }
    verifyChecksum(h);
    const flag = String.fromCharCode(h[156]);
    const size = num(h, 124, 12);
    this.lastSize = size;
    if (flag === 'x' || flag === 'g' || flag === 'L' || flag === 'K') {
      this.meta = [];
      this.metaType = flag;
      this.remaining = size;
      if (size === 0) this.finishData();
      return;
    }
    const type = TYPES[flag];
    if (!type) {
      throw new TarFormatError(`unsupported tar entry type '${flag}' ` +
        `for "${str(h, 0, 100)}"`);
    }
    const e = this.makeEntry(h, type, size);
    this.inEntry = true;
    this.sink.entry(e);
    if (e.type === 'file' && e.size > 0) {
      this.lastSize = e.size;
      this.remaining = e.size;
      return;
    }
    // Other types carry no data; skip any the header still declares.
    this.padding = e.type === 'file' ? 0 : Math.ceil(e.size / BLOCK) * BLOCK;
    if (e.type !== 'file') e.size = 0;
    this.inEntry = false;
    this.sink.end();
  }
  // #endregion

  private makeEntry(h: Buffer, type: EntryType, size: number): TarEntry {
    const ustar = h.toString('latin1', 257, 263) === 'ustar\0';
    const prefix = ustar ? str(h, 345, 155) : '';
    const e: TarEntry = {
      path: prefix ? `${prefix}/${str(h, 0, 100)}` : str(h, 0, 100),
      type, size, linkpath: str(h, 157, 100),
      mode: num(h, 100, 8) & 0o7777,
      uid: num(h, 108, 8), gid: num(h, 116, 8), mtime: num(h, 136, 12),
      devmajor: num(h, 329, 8), devminor: num(h, 337, 8),
      xattrs: new Map(),
    };
    if (this.longName !== null) e.path = this.longName;
    if (this.longLink !== null) e.linkpath = this.longLink;
    this.longName = this.longLink = null;
    for (const map of [this.global, this.pax]) {
      for (const [k, v] of map) applyPax(e, k, v);
    }
    this.pax = new Map();
    return e;
  }

  private metaDone(body: Buffer): void {
    switch (this.metaType) {
      case 'L': this.longName = cstr(body); break;
      case 'K': this.longLink = cstr(body); break;
      case 'x': parsePax(body, this.pax); break;
      case 'g': parsePax(body, this.global); break;
    }
  }
}

function applyPax(e: TarEntry, key: string, v: Buffer): void {
  const s = () => v.toString('utf8');
  switch (key) {
    case 'path': e.path = s(); break;
    case 'linkpath': e.linkpath = s(); break;
    case 'size': e.size = Number(s()); break;
    case 'uid': e.uid = Number(s()); break;
    case 'gid': e.gid = Number(s()); break;
    case 'mtime': e.mtime = Number(s()); break;
    default:
      if (key.startsWith('SCHILY.xattr.')) {
        e.xattrs.set(key.slice(13), v);
      } else if (key.startsWith('LIBARCHIVE.xattr.')) {
        const name = decodeURIComponent(key.slice(17));
        e.xattrs.set(name, Buffer.from(s(), 'base64'));
      }
  }
}

/** pax records: "<length> <key>=<value>\n", values may be binary. */
function parsePax(body: Buffer, into: Map<string, Buffer>): void {
  let at = 0;
  while (at < body.length) {
    const sp = body.indexOf(0x20, at);
    if (sp < 0) break;
    const len = Number(body.toString('latin1', at, sp));
    if (!Number.isInteger(len) || len <= 0 || at + len > body.length) {
      throw new TarFormatError('malformed pax header');
    }
    const rec = body.subarray(sp + 1, at + len - 1); // drop the newline
    const eq = rec.indexOf(0x3d);
    if (eq < 0) throw new TarFormatError('malformed pax record');
    into.set(rec.toString('utf8', 0, eq), Buffer.from(rec.subarray(eq + 1)));
    at += len;
  }
}

function isZero(b: Buffer): boolean {
  for (let i = 0; i < b.length; i += 8) {
    if (b.readBigUInt64LE(i) !== 0n) return false;
  }
  return true;
}

function verifyChecksum(h: Buffer): void {
  let sum = 8 * 0x20; // the checksum field counts as eight spaces
  for (let i = 0; i < BLOCK; i++) if (i < 148 || i >= 156) sum += h[i];
  if (sum !== num(h, 148, 8)) {
    throw new TarFormatError('bad tar header checksum (not a tar archive?)');
  }
}

/** A numeric field: octal text, or GNU base-256 when the top bit is set. */
function num(b: Buffer, at: number, len: number): number {
  if (b[at] & 0x80) {
    let v = b[at] & 0x7f;
    for (let i = 1; i < len; i++) v = v * 256 + b[at + i];
    return v;
  }
  let v = 0;
  for (let i = at; i < at + len; i++) {
    const c = b[i];
    if (c === 0 || (c === 0x20 && v > 0)) break;
    if (c >= 0x30 && c <= 0x37) v = v * 8 + (c - 0x30);
  }
  return v;
}

function str(b: Buffer, at: number, len: number): string {
  const end = b.indexOf(0, at);
  return b.toString('utf8', at, end < 0 || end > at + len ? at + len : end);
}

function cstr(b: Buffer): string {
  const end = b.indexOf(0);
  return b.toString('utf8', 0, end < 0 ? b.length : end);
}

// ---------------------------------------------------------------------------

const TYPEFLAG: Record<EntryType, string> = {
  file: '0', link: '1', symlink: '2', char: '3', block: '4', dir: '5',
  fifo: '6',
};

// #region writer
/**
 * Writes an archive to a file descriptor, hashing what it writes: the
 * sha256 of an uncompressed layer tar is the layer's diff ID.
 */
export class TarWriter {
  private buf = Buffer.allocUnsafe(1 << 20);
  private fill = 0;
  readonly hash: Hash = createHash('sha256');
  bytes = 0;

  constructor(private readonly fd: number) {}

  /** Writes one entry's header(s); then call data() with `size` bytes. */
  header(e: Partial<TarEntry> & { path: string; type: EntryType }): void {
    const full: TarEntry = {
      mode: e.type === 'dir' ? 0o755 : 0o644, uid: 0, gid: 0, size: 0,
      mtime: 0, linkpath: '', devmajor: 0, devminor: 0, xattrs: new Map(),
      ...e,
    };
    const pax = paxRecords(full);
    if (pax.length > 0) {
      this.write(ustarHeader({ ...full, path: 'PaxHeader', size: pax.length,
        type: 'file', linkpath: '' }, 'x'));
      this.write(pax);
      this.pad(pax.length);
    }
    this.write(ustarHeader(full, TYPEFLAG[full.type]));
  }
  // #endregion

  // #region writer-buffer

  /** Entry data; pad() after the last piece. */
  write(b: Buffer): void {
    if (b.length > this.buf.length - this.fill) this.flush();
    if (b.length >= this.buf.length) {
      this.out(b);
      return;
    }
    b.copy(this.buf, this.fill);
    this.fill += b.length;
  }

  pad(size: number): void {
    const n = (BLOCK - (size % BLOCK)) % BLOCK;
    if (n) this.write(Buffer.alloc(n));
  }

  /** Two zero blocks end the archive. Returns the sha256, "sha256:…". */
  finish(): string {
    this.write(Buffer.alloc(2 * BLOCK));
    this.flush();
    return `sha256:${this.hash.digest('hex')}`;
  }

  private flush(): void {
    if (this.fill) this.out(this.buf.subarray(0, this.fill));
    this.fill = 0;
  }

  private out(b: Buffer): void {
    this.hash.update(b);
    this.bytes += b.length;
    let done = 0;
    while (done < b.length) done += writeSync(this.fd, b, done);
  }
}
// #endregion

const MAX_OCTAL = 0o7777777;

/** The pax records an entry needs: what ustar's fields cannot hold. */
function paxRecords(e: TarEntry): Buffer {
  const recs: Buffer[] = [];
  const add = (key: string, value: Buffer | string) => {
    const v = typeof value === 'string' ? Buffer.from(value) : value;
    const body = Buffer.concat([Buffer.from(` ${key}=`), v, Buffer.from('\n')]);
    let len = body.length + 1;
    while (String(len).length + body.length > len) len++;
    recs.push(Buffer.concat([Buffer.from(String(len)), body]));
  };
  if (!fitsUstarName(e.path)) add('path', e.path);
  if (Buffer.byteLength(e.linkpath) > 100 || !isAscii(e.linkpath)) {
    add('linkpath', e.linkpath);
  }
  if (e.uid > MAX_OCTAL) add('uid', String(e.uid));
  if (e.gid > MAX_OCTAL) add('gid', String(e.gid));
  if (e.size > 0o77777777777) add('size', String(e.size));
  if (!Number.isInteger(e.mtime)) add('mtime', e.mtime.toFixed(9));
  for (const [k, v] of e.xattrs) add(`SCHILY.xattr.${k}`, v);
  return Buffer.concat(recs);
}

function isAscii(s: string): boolean {
  return /^[\x20-\x7e]*$/.test(s);
}

function fitsUstarName(p: string): boolean {
  return isAscii(p) && splitName(p) !== null;
}

/** ustar stores long names as prefix (155) + "/" + name (100). */
function splitName(p: string): [string, string] | null {
  if (p.length <= 100) return ['', p];
  for (let i = p.length - 101; i < p.length; i++) {
    if (i >= 0 && p[i] === '/' && i <= 155 && p.length - i - 1 <= 100) {
      return [p.slice(0, i), p.slice(i + 1)];
    }
  }
  return null;
}

function ustarHeader(e: TarEntry, flag: string): Buffer {
  const h = Buffer.alloc(BLOCK);
  const [prefix, name] = fitsUstarName(e.path) ? splitName(e.path)!
    : ['', e.path.slice(0, 99)];
  h.write(name, 0, 100, 'utf8');
  octal(h, 100, 8, e.mode & 0o7777);
  octal(h, 108, 8, Math.min(e.uid, MAX_OCTAL));
  octal(h, 116, 8, Math.min(e.gid, MAX_OCTAL));
  octal(h, 124, 12, Math.min(e.size, 0o77777777777));
  octal(h, 136, 12, Math.max(0, Math.floor(e.mtime)));
  h.write(flag, 156, 1, 'latin1');
  h.write(e.linkpath.slice(0, 100), 157, 100, 'utf8');
  h.write('ustar\x0000', 257, 8, 'latin1');
  octal(h, 329, 8, e.devmajor);
  octal(h, 337, 8, e.devminor);
  h.write(prefix, 345, 155, 'utf8');
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += h[i];
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'latin1');
  return h;
}

function octal(h: Buffer, at: number, len: number, v: number): void {
  h.write(v.toString(8).padStart(len - 1, '0') + '\0', at, len, 'latin1');
}
