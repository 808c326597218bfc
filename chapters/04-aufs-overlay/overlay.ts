// A container's root filesystem: the image's layers, read-only, under a
// writable layer of its own, merged into one tree by a union filesystem.
//
//   <root>/overlay/<id>/image    the image ID (keeps it from `rmi`)
//   <root>/overlay/<id>/upper/   the container's changes
//   <root>/overlay/<id>/work/    overlayfs's scratch space
//   <root>/overlay/<id>/merged/  the union: the container's "/"
import {
  existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, rmSync,
  statfsSync,
} from 'node:fs';
import { join } from 'node:path';
import { SyscallError, syscall } from '../01-chroot/kernel.ts';
import { mountInfo } from '../02-namespaces/procfs.ts';
import type { StartStep } from '../02-namespaces/steps.ts';
import { writeAtomic } from './durable.ts';
import {
  type ContainerConfig, type Image, ImageError, type ImageStore,
} from './store.ts';
import { packTree, type TreeKind } from './pack.ts';
import { WH_META, WH_PREFIX } from './unpack.ts';
import { TarWriter } from './tar.ts';

export { type UnionDriver, unionDriver } from './store.ts';

// #region declare-mount
const mount = syscall<[string, string, string, number, string]>(
  'int mount(const char *source, const char *target, const char *type, ' +
  'unsigned long flags, const char *data)',
  (_s, target, type) => `${type} on ${JSON.stringify(target)}`);
const umount2 = syscall<[string, number]>(
  'int umount2(const char *target, int flags)');
const MNT_DETACH = 2;
// #endregion

export interface Rootfs {
  id: string;
  image: string;
  dir: string;
  upper: string;
  work: string;
  merged: string;
}

/** The paths of a container's rootfs (whether or not they exist yet). */
export function rootfsOf(store: ImageStore, id: string): Rootfs {
  if (!/^[\w.-]+$/.test(id)) throw new ImageError(`bad container id "${id}"`);
  const dir = join(store.root, 'overlay', id);
  let image = '';
  try {
    image = readFileSync(join(dir, 'image'), 'utf8');
  } catch { /* not created */ }
  return { id, image, dir, upper: join(dir, 'upper'),
    work: join(dir, 'work'), merged: join(dir, 'merged') };
}

/** Creates a container's layer dirs and records which image it uses. */
export function createRootfs(store: ImageStore, id: string,
  imageRef: string): Rootfs {
  return store.withLock(() => {
    const imageId = store.resolve(imageRef);
    const r = rootfsOf(store, id);
    if (existsSync(r.dir)) {
      throw new ImageError(`container rootfs "${id}" already exists`);
    }
    for (const d of [r.upper, r.work, r.merged]) {
      mkdirSync(d, { recursive: true });
    }
    writeAtomic(join(r.dir, 'image'), imageId);
    return { ...r, image: imageId };
  });
}

// #region mount-options
/**
 * overlayfs's options: lowerdir lists the layers top first. They travel
 * in one page of mount data (4096 bytes), so like Docker's overlay2 we
 * name layers by short links (l/<12 hex>) relative to the store root,
 * and chdir there for the mount(2) when absolute paths would not fit.
 */
export function overlayOptions(store: ImageStore, r: Rootfs,
  relative: boolean): string {
  const ids = store.image(r.image).config.rootfs.diff_ids;
  const at = (p: string) => relative ? p.slice(store.root.length + 1) : p;
  const lowers = [...ids].reverse().map((d) =>
    at(join(store.root, 'l', store.layerMeta(d).link)));
  if (lowers.length === 0) { // an image without layers: an empty lower
    mkdirSync(join(r.dir, 'empty'), { recursive: true });
    lowers.push(at(join(r.dir, 'empty')));
  }
  return `lowerdir=${lowers.join(':')},upperdir=${at(r.upper)},` +
    `workdir=${at(r.work)},index=off`;
}
// #endregion

const PAGE = 4096;

// #region mount
/** Mounts the union at <dir>/merged; returns that path. */
export function mountRootfs(store: ImageStore, id: string): string {
  const r = rootfsOf(store, id);
  if (!r.image) throw new ImageError(`no rootfs for container "${id}"`);
  if (isMounted(r.merged)) return r.merged;
  if (store.whiteouts === 'aufs') {
    mount('none', r.merged, 'aufs', 0, aufsOptions(store, r));
    return r.merged;
  }
  const absolute = overlayOptions(store, r, false);
  if (absolute.length < PAGE) {
    mountOverlay(store, r.merged, absolute);
    return r.merged;
  }
  const cwd = process.cwd();
  process.chdir(store.root);
  try {
    mountOverlay(store, r.merged, overlayOptions(store, r, true));
  } finally {
    process.chdir(cwd);
  }
  return r.merged;
}
// #endregion

const OVERLAYFS_MAGIC = 0x794c7630; // statfs(2)

/** mount(2) of the union, with a clear word for its common failures. */
function mountOverlay(store: ImageStore, target: string,
  options: string): void {
  try {
    mount('overlay', target, 'overlay', 0, options);
  } catch (err) {
    const code = (err as SyscallError).code;
    let why = '';
    if (code === 'ENODEV') {
      why = 'this kernel has no overlayfs (try `modprobe overlay`)';
    } else if (code === 'EINVAL' &&
      statfsSync(store.root).type === OVERLAYFS_MAGIC) {
      // overlayfs cannot be the upper layer of another overlayfs: the
      // case inside a container, or a VM whose / is an overlay.
      why = `the store ${store.root} is itself on overlayfs, which ` +
        'cannot hold upper layers: put it on another filesystem';
    }
    if (!why) throw err;
    throw new ImageError(`mount overlay on ${target}: ${code}: ${why}`,
      { cause: err });
  }
}

// #region aufs
/**
 * AUFS stacks "branches": the first read-write, the rest read-only, and
 * records deletions as ".wh.<name>" files in the top branch.
 */
function aufsOptions(store: ImageStore, r: Rootfs): string {
  const ids = store.image(r.image).config.rootfs.diff_ids;
  const lowers = [...ids].reverse().map((d) => `${store.diffDir(d)}=ro+wh`);
  return `br=${[`${r.upper}=rw`, ...lowers].join(':')},dio,xino=/dev/shm/` +
    `aufs.xino`;
}
// #endregion

/** Is `path` a mount point now? (mountinfo's mount point) */
export function isMounted(path: string): boolean {
  return mountInfo().some((m) => m.mountPoint === path);
}

/** Unmounts the union if it is mounted; the layers stay. */
export function unmountRootfs(store: ImageStore, id: string): void {
  const r = rootfsOf(store, id);
  while (isMounted(r.merged)) {
    try {
      umount2(r.merged, 0);
    } catch (err) {
      if ((err as SyscallError).code !== 'EBUSY') throw err;
      umount2(r.merged, MNT_DETACH); // still in use: detach it lazily
    }
  }
}

/** Unmounts and deletes a container's rootfs: its changes are gone. */
export function removeRootfs(store: ImageStore, id: string): void {
  unmountRootfs(store, id);
  rmSync(rootfsOf(store, id).dir, { recursive: true, force: true });
}

// #region step
/**
 * The start step that gives a container its image as the rootfs:
 * prepare creates the container's layer and mounts the union, pointing
 * spec.root.path at it; release unmounts it and deletes the layer.
 * With `keep` the layer outlives the run, as a stopped container's
 * does: release only unmounts it, and the next start mounts it again.
 */
export function overlayStep(store: ImageStore, imageRef: string,
  opts: { keep?: boolean } = {}): StartStep {
  return {
    name: 'rootfs',
    prepare(c) {
      if (!opts.keep || !rootfsOf(store, c.id).image) {
        createRootfs(store, c.id, imageRef);
      }
      c.data.rootfs = true;
      c.spec.root.path = mountRootfs(store, c.id);
    },
    release(c) {
      if (!c.data.rootfs) return;
      if (opts.keep) unmountRootfs(store, c.id);
      else removeRootfs(store, c.id);
    },
  };
}
// #endregion

export interface Change {
  kind: 'A' | 'C' | 'D';
  path: string;
}

// #region diff
/**
 * `docker diff`: what the upper layer says changed. A name that exists
 * in a lower layer was changed (C), else added (A); a whiteout deleted
 * it (D). Opaque directories hide everything below, so they count as C.
 */
export function diffRootfs(store: ImageStore, id: string): Change[] {
  const r = rootfsOf(store, id);
  const lowers = store.image(r.image).config.rootfs.diff_ids
    .map((d) => store.diffDir(d));
  const inLower = (rel: string) => lowers.some((l) =>
    lstatSync(join(l, rel), { throwIfNoEntry: false }) !== undefined);
  const aufs = store.whiteouts === 'aufs';
  const out: Change[] = [];
  const walk = (rel: string) => {
    for (const name of readdirSync(join(r.upper, rel)).sort()) {
      const p = `${rel}/${name}`;
      if (aufs && name.startsWith(WH_PREFIX)) { // AUFS: ".wh.<name>"
        if (!name.startsWith(WH_META)) {
          out.push({ kind: 'D', path: `${rel}/${name.slice(4)}` });
        }
        continue;
      }
      const st = lstatSync(join(r.upper, p));
      if (st.isCharacterDevice() && st.rdev === 0) {
        out.push({ kind: 'D', path: p });
        continue;
      }
      out.push({ kind: inLower(p) ? 'C' : 'A', path: p });
      if (st.isDirectory()) walk(p);
    }
  };
  walk('');
  return out.sort((a, b) => a.path < b.path ? -1 : a.path > b.path ? 1 : 0);
}
// #endregion

/** Writes a tar of `dir` to `out` (atomically); returns its sha256. */
function tarTree(dir: string, out: string, kind: TreeKind): string {
  let digest = '';
  writeAtomic(out, (fd) => {
    const tw = new TarWriter(fd);
    packTree(dir, tw, kind);
    digest = tw.finish();
  }, 0o600);
  return digest;
}

// #region commit
/**
 * `docker commit`: the container's upper layer becomes a new layer on
 * top of its image's, with a history entry saying so.
 */
export async function commitRootfs(store: ImageStore, id: string,
  opts: { ref?: string; message?: string; author?: string;
    changes?: ContainerConfig; createdBy?: string } = {})
  : Promise<Image> {
  const r = rootfsOf(store, id);
  if (!r.image) throw new ImageError(`no such container: ${id}`);
  const base = store.image(r.image).config;
  const scratch = store.scratch('commit-');
  try {
    const tar = join(scratch, 'layer.tar');
    tarTree(r.upper, tar, store.whiteouts === 'aufs' ? 'aufs-upper'
      : 'upper');
    const layer = await store.stageLayer({ file: tar });
    const created = new Date().toISOString();
    const config = structuredClone(base);
    config.created = created;
    if (opts.author) config.author = opts.author;
    config.config = { ...config.config, ...opts.changes };
    config.rootfs.diff_ids.push(layer.diffId);
    (config.history ??= []).push({ created,
      created_by: opts.createdBy ?? `skiff commit ${id}`,
      ...(opts.author ? { author: opts.author } : {}),
      ...(opts.message ? { comment: opts.message } : {}) });
    return store.addImage(Buffer.from(JSON.stringify(config)), [layer],
      opts.ref ? [opts.ref] : []);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
// #endregion

// #region export
/**
 * `docker export`: the container's filesystem as the container sees it
 * (the merged view), as a plain tar. Mounts it for the time it takes if
 * the container is not running.
 */
export function exportRootfs(store: ImageStore, id: string,
  out: string): string {
  const r = rootfsOf(store, id);
  if (!r.image) throw new ImageError(`no such container: ${id}`);
  const was = isMounted(r.merged);
  if (!was) mountRootfs(store, id);
  try {
    return tarTree(r.merged, out, 'plain');
  } finally {
    if (!was) unmountRootfs(store, id);
  }
}
// #endregion
