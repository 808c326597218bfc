// Test images for chapter 04: the busybox rootfs of chapter 01 as a
// tarball, and small archives crafted entry by entry (layers, attacks).
import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, openSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { CACHE_DIR, cachedRootfs } from '../01-chroot/rootfs.ts';
import { type EntryType, TarWriter } from './tar.ts';

/** chapter 01's busybox rootfs as a plain tar, built once under .cache/. */
export function busyboxTarball(): string {
  const file = join(CACHE_DIR, 'rootfs-busybox.tar');
  if (existsSync(file)) return file;
  const tmp = `${file}.${process.pid}.tmp`;
  execFileSync('tar', ['--numeric-owner', '-C', cachedRootfs(), '-cf', tmp,
    '.']);
  renameSync(tmp, file);
  return file;
}

export interface Craft {
  path: string;
  type?: EntryType;
  body?: string | Buffer;
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: number;
  linkpath?: string;
  devmajor?: number;
  devminor?: number;
  xattrs?: Record<string, string>;
}

/** Writes a tar whose entries are exactly these, in this order. */
export function craftTar(file: string, entries: Craft[]): string {
  const fd = openSync(file, 'w');
  try {
    const tw = new TarWriter(fd);
    for (const e of entries) {
      const body = typeof e.body === 'string' ? Buffer.from(e.body)
        : e.body ?? Buffer.alloc(0);
      tw.header({ ...e, type: e.type ?? 'file', size: body.length,
        mtime: e.mtime ?? 1_600_000_000,
        xattrs: new Map(Object.entries(e.xattrs ?? {})
          .map(([k, v]) => [k, Buffer.from(v)])) });
      tw.write(body);
      tw.pad(body.length);
    }
    return tw.finish();
  } finally {
    closeSync(fd);
  }
}
