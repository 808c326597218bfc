// The build context as the docker CLI sends it: the directory's files
// as a tar, less what .dockerignore leaves out, except the Dockerfile
// and .dockerignore themselves, which the builder needs all the same
// (COPY still cannot reach them when they are ignored).
import {
  closeSync, existsSync, lstatSync, mkdtempSync, openSync, readFileSync,
  readdirSync, readlinkSync, readSync, type Stats,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TarWriter } from '../../chapters/04-aufs-overlay/tar.ts';
import { ignored, parseIgnore } from './ignore.ts';

/** The context's patterns: its .dockerignore, or none. */
export function contextIgnore(dir: string): ReturnType<typeof parseIgnore> {
  const file = join(dir, '.dockerignore');
  return parseIgnore(existsSync(file) ? readFileSync(file, 'utf8') : '');
}

/**
 * Writes the context `dir` as a tar into a new temp file; returns its
 * path. `dockerfile` (relative to dir) is sent even if ignored; a
 * Dockerfile outside the context is added under `extra`'s name.
 */
export function packContext(dir: string, dockerfile: string,
  extra?: { name: string; data: Buffer }): string {
  const ignore = contextIgnore(dir);
  const keep = new Set([dockerfile, '.dockerignore']);
  const exceptions = ignore.some((p) => p.exclusion);
  const out = join(mkdtempSync(join(tmpdir(), 'skiff-ctx-')), 'context.tar');
  const fd = openSync(out, 'w', 0o600);
  try {
    const tw = new TarWriter(fd);
    // One buffer for every file's data: a CLI packing a few hundred
    // small files spent more on allocating 64 KiB each than on reading.
    const buf = Buffer.allocUnsafe(1 << 16);
    const walk = (rel: string) => {
      for (const name of readdirSync(join(dir, rel)).sort()) {
        const r = rel ? `${rel}/${name}` : name;
        const st = lstatSync(join(dir, r));
        if (ignored(ignore, r) && !keep.has(r)) {
          // An ignored directory may still hold a `!` exception.
          if (exceptions && st.isDirectory()) walk(r);
          continue;
        }
        entry(tw, join(dir, r), r, st, buf);
        if (st.isDirectory()) walk(r);
      }
    };
    walk('');
    if (extra) {
      tw.header({ path: extra.name, type: 'file', size: extra.data.length,
        mode: 0o644 });
      tw.write(extra.data);
      tw.pad(extra.data.length);
    }
    tw.finish();
  } finally {
    closeSync(fd);
  }
  return out;
}

/** One file, directory or symlink, owned by root as the CLI sends it. */
function entry(tw: TarWriter, path: string, rel: string, st: Stats,
  buf: Buffer): void {
  const mtime = Math.floor(st.mtimeMs / 1000);
  const mode = st.mode & 0o7777;
  if (st.isDirectory()) tw.header({ path: rel, type: 'dir', mode, mtime });
  else if (st.isSymbolicLink()) {
    tw.header({ path: rel, type: 'symlink', linkpath: readlinkSync(path),
      mode, mtime });
  } else if (st.isFile()) {
    tw.header({ path: rel, type: 'file', size: st.size, mode, mtime });
    const fd = openSync(path, 'r');
    try {
      for (let n; (n = readSync(fd, buf)) > 0;) tw.write(buf.subarray(0, n));
    } finally {
      closeSync(fd);
    }
    tw.pad(st.size);
  }
}

