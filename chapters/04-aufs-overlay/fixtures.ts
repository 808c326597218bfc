// Test images for chapter 04: the busybox rootfs of chapter 01 as a
// tarball, and small archives crafted entry by entry (layers, attacks).
import { execFileSync } from 'node:child_process';
import {
  closeSync, existsSync, mkdtempSync, openSync, readdirSync, rmSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  buildOnce, CACHE_DIR, cachedRootfs,
} from '../01-chroot/rootfs.ts';
import { importRootfs, stackLayer } from './archive.ts';
import { removeRootfs } from './overlay.ts';
import { ImageStore } from './store.ts';
import { type EntryType, TarWriter } from './tar.ts';

/** chapter 01's busybox rootfs as a plain tar, built once under .cache/. */
export function busyboxTarball(): string {
  const file = join(CACHE_DIR, 'rootfs-busybox.tar');
  return buildOnce(file, file, (tmp) => execFileSync('tar',
    ['--numeric-owner', '-C', cachedRootfs(), '-cf', tmp, '.']));
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

/**
 * A store in `root` holding "busybox:latest" (chapter 01's rootfs, one
 * layer, Cmd sh) and "busybox:layered": one crafted layer more that adds
 * /etc/motd, deletes /bin/vi and hides the old /var (opaque), with a
 * label.
 */
export async function busyboxStore(root: string): Promise<ImageStore> {
  const store = new ImageStore(root);
  await importRootfs(store, busyboxTarball(), { ref: 'busybox',
    changes: { Cmd: ['sh'] } });
  const layer = join(root, 'tmp', 'layer2.tar');
  craftTar(layer, [
    { path: 'etc/', type: 'dir', mode: 0o755 },
    { path: 'etc/motd', body: 'welcome to layer two\n' },
    { path: 'bin/', type: 'dir', mode: 0o755 },
    { path: 'bin/.wh.vi' },
    { path: 'var/', type: 'dir', mode: 0o755 },
    { path: 'var/.wh..wh..opq' },
    { path: 'var/new', body: 'only me\n' },
  ]);
  await stackLayer(store, 'busybox', layer, { ref: 'busybox:layered',
    createdBy: 'ADD layer2.tar /', changes: { Labels: { layer: 'two' } } });
  rmSync(layer);
  return store;
}

/**
 * A store in a fresh temporary directory, with busyboxStore()'s images
 * unless `empty`. When the test ends, every container rootfs in it is
 * unmounted first: removing the directory through a live mount would
 * delete files through the union instead.
 */
export async function testStore(t: { after(fn: () => void): void },
  opts: { empty?: boolean } = {}): Promise<ImageStore> {
  const root = mkdtempSync(join(tmpdir(), 'skiff-store-'));
  t.after(() => dropStore(root));
  return opts.empty ? new ImageStore(root) : busyboxStore(root);
}

/** Removes a test store, its containers' rootfs unmounted first. */
export function dropStore(root: string): void {
  const overlay = join(root, 'overlay');
  const store = new ImageStore(root);
  for (const id of existsSync(overlay) ? readdirSync(overlay) : []) {
    removeRootfs(store, id);
  }
  rmSync(root, { recursive: true, force: true });
}
