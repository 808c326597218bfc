// `skiff daemon --userns-remap`: every container in a user namespace of
// one remapped range, as docker's daemon option of that name does, so
// that root inside is an unprivileged uid on the host; `--userns host`
// (HostConfig.UsernsMode "host") opts a container out.
import { spawn } from 'node:child_process';
import {
  closeSync, existsSync, lchownSync, lstatSync, mkdirSync, mkdtempSync,
  readdirSync, readFileSync, readlinkSync, rmdirSync, rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { plain, syscall } from '../../chapters/01-chroot/kernel.ts';
import { idRange } from '../../chapters/02-namespaces/defaults.ts';
import { idmapTree } from '../../chapters/02-namespaces/idmap.ts';
import {
  overlayOptions, rootfsOf,
} from '../../chapters/04-aufs-overlay/overlay.ts';
import type { ImageStore } from '../../chapters/04-aufs-overlay/store.ts';
import type { IdMapping, Spec } from '../../chapters/02-namespaces/spec.ts';
import { BadRequest } from './errors.ts';

export interface Remap {
  /** What --userns-remap said ("default", "alice:staff"). */
  name: string;
  uidMappings: IdMapping[];
  gidMappings: IdMapping[];
  /** How image files reach the container: idmapped mount or chown. */
  rootfs: 'idmapped' | 'chown';
}

// #region parse-remap (unused)
/**
 * docker's forms: "default", "USER", "USER:GROUP" (names or ids), with
 * the ranges /etc/subuid and /etc/subgid give them. docker's "default"
 * creates a user "dockremap" and takes its ranges; ours is chapter 02's
 * idRange(): the ranges of "root", else 100000-165535, no user created.
 */
export function parseRemap(value: string): Omit<Remap, 'rootfs'> {
  if (value === 'default') {
    return { name: value, uidMappings: idRange('uid'),
      gidMappings: idRange('gid') };
  }
  const [user, group = user] = value.split(':');
  if (!user) throw new Error(`invalid --userns-remap "${value}"`);
  return { name: value, uidMappings: subRange('uid', user),
    gidMappings: subRange('gid', group) };
}
// #endregion

/** USER's (or GROUP's) first range in /etc/subuid (/etc/subgid). */
function subRange(kind: 'uid' | 'gid', who: string): IdMapping[] {
  const file = `/etc/sub${kind}`;
  const names = [who, idOf(kind, who)].filter(Boolean);
  let lines: string[] = [];
  try {
    lines = readFileSync(file, 'utf8').split('\n');
  } catch { /* no file: no range */ }
  for (const line of lines) {
    const [name, start, count] = line.trim().split(':');
    if (names.includes(name) && Number(count) > 0) {
      return [{ containerID: 0, hostID: Number(start),
        size: Number(count) }];
    }
  }
  throw new Error(`can't create ID mappings: no sub${kind} ranges ` +
    `found for ${kind === 'uid' ? 'user' : 'group'} "${who}" in ${file}`);
}

/** A name's numeric id from /etc/passwd or /etc/group, or the reverse. */
function idOf(kind: 'uid' | 'gid', who: string): string {
  const file = kind === 'uid' ? '/etc/passwd' : '/etc/group';
  const entries = readFileSync(file, 'utf8').split('\n')
    .map((l) => l.split(':'));
  const hit = entries.find((e) => e[0] === who || e[2] === who);
  return hit ? (hit[0] === who ? hit[2] : hit[0]) : '';
}

// #region userns-mode (unused)
/** HostConfig.UsernsMode: "" or "host", as moby's UsernsMode.Valid(). */
export function checkUsernsMode(mode: string | undefined): void {
  if (mode && mode !== 'host') {
    throw new BadRequest(`invalid USER mode: ${mode}`);
  }
}

/**
 * Puts a container in a user namespace of the daemon's range, unless
 * it said --userns host or the daemon has no remap.
 */
export function remapSpec(spec: Spec, mode: string | undefined,
  remap: Remap | undefined): void {
  checkUsernsMode(mode);
  if (!remap || mode === 'host') return;
  spec.linux.namespaces.unshift({ type: 'user' });
  spec.linux.uidMappings = remap.uidMappings;
  spec.linux.gidMappings = remap.gidMappings;
}
// #endregion

/** A rootfs whose owners were shifted into the range (the fallback). */
const CHOWNED = 'rootfs-chowned';

// #region chown-fallback (unused)
/**
 * The fallback where the kernel cannot idmap the rootfs: shift every
 * owner in it into the range, as docker's userns-remap does for its
 * layers. Through the overlay, each chown copies the file up into the
 * container's own layer: a chown'd copy of the whole image. lchown(2)
 * never follows the image's symlinks. Once per container.
 */
export function chownRootfs(rootfs: string, dir: string, remap: Remap)
  : void {
  if (existsSync(join(dir, CHOWNED))) return;
  const shift = (id: number, maps: IdMapping[]) => {
    const m = maps.find((x) => id >= x.containerID &&
      id < x.containerID + x.size);
    return m ? id - m.containerID + m.hostID : 65534;
  };
  const walk = (path: string) => {
    const st = lstatSync(path);
    lchownSync(path, shift(st.uid, remap.uidMappings),
      shift(st.gid, remap.gidMappings));
    if (!st.isDirectory()) return;
    for (const name of readdirSync(path)) walk(join(path, name));
  };
  walk(rootfs);
  writeFileSync(join(dir, CHOWNED), '');
}

/** Whether the container's rootfs was chown'd (no idmap at start). */
export const isChowned = (dir: string) => existsSync(join(dir, CHOWNED));
// #endregion

// The kernel refuses to idmap an overlay mount itself (mount_setattr(2):
// EINVAL, on 6.18 too): overlayfs does not allow it, but it accepts
// layers that are idmapped mounts (since Linux 5.19). So for a
// container in a user namespace, the daemon mounts a second overlay of
// the same layers through one idmapped clone of the store's root.
const openTree = syscall<[number, string, number]>(
  'int open_tree(int dfd, const char *path, unsigned int flags)');
const moveMount = syscall<[number, string, number, string, number]>(
  'int move_mount(int from_dfd, const char *from, int to_dfd, ' +
  'const char *to, unsigned int flags)');
const fsopen = syscall<[string, number]>(
  'int fsopen(const char *fsname, unsigned int flags)');
const fsconfig = syscall<[number, number, string | null, string | null,
  number]>('int fsconfig(int fd, unsigned int cmd, const char *key, ' +
  'const char *value, int aux)', (_fd, _cmd, key, value) =>
  `overlay ${key}=${value}`);
const fsmount = syscall<[number, number, number]>(
  'int fsmount(int fsfd, unsigned int flags, unsigned int attr_flags)');
const umount2 = syscall<[string, number]>(
  'int umount2(const char *target, int flags)');
const fstatvfs = syscall<[number, Buffer]>(
  'int fstatvfs(int fd, void *buf)');
const AT_FDCWD = -100;
const CLOEXEC = 0o2000000;
const OPEN_TREE_CLONE = 1;
const MOVE_MOUNT_F_EMPTY_PATH = 4;
const FSOPEN_CLOEXEC = 1;
const FSMOUNT_CLOEXEC = 1;
const FSCONFIG_SET_STRING = 1;
const FSCONFIG_CMD_CREATE = 6;
const MNT_DETACH = 2;

/** Host ids of root in the container: what its files are made as. */
export interface Owner { uid: number; gid: number }

// setfsuid(2) returns the previous fsuid, never -1: plain().
const setfsuid = plain<(id: number) => number>(
  'int setfsuid(uint32_t fsuid)');
const setfsgid = plain<(id: number) => number>(
  'int setfsgid(uint32_t fsgid)');
const capget = syscall<[Buffer, Buffer]>(
  'int capget(void *hdr, void *data)');
const capset = syscall<[Buffer, Buffer]>(
  'int capset(void *hdr, void *data)');

// #region as-mapped (unused)
/**
 * Runs `fn` with fsuid/fsgid `owner` on this thread (credentials are
 * per thread). overlayfs does its own work (the work/ directory, each
 * copy-up) with the credentials of whoever created it, and through an
 * idmapped upper layer host uid 0 cannot be written (EOVERFLOW: it has
 * no id in the mapping), so the overlay must be created as the mapped
 * root. A non-zero fsuid drops the file capabilities from the effective
 * set (capabilities(7)); overlayfs needs them (chown at copy-up), so
 * they are raised again from the permitted set.
 */
function asMapped(owner: Owner, fn: () => void): void {
  const hdr = Buffer.alloc(8);
  hdr.writeUInt32LE(0x20080522, 0); // _LINUX_CAPABILITY_VERSION_3
  const caps = Buffer.alloc(24);
  capget(hdr, caps);
  setfsgid(owner.gid);
  setfsuid(owner.uid);
  try {
    capset(hdr, caps);
    fn();
  } finally {
    setfsuid(0);
    setfsgid(0);
    capset(hdr, caps);
  }
}
// #endregion

// #region idmapped-overlay (unused)
/**
 * A detached overlay mount (fsmount(2)) of `options`, whose paths are
 * relative to `base`, seen through an idmapped clone of `base` for the
 * user namespace at `userns`. The clone is attached at a temporary
 * directory only while the overlay takes its layers (it keeps private
 * clones of them), then detached.
 */
export function overlayOverIdmapped(base: string, options: string,
  userns: string, owner: Owner): number {
  const at = mkdtempSync(join(tmpdir(), 'skiff-idmap-'));
  try {
    const tree = openTree(AT_FDCWD, base, OPEN_TREE_CLONE | CLOEXEC);
    try {
      idmapTree(tree, userns);
      moveMount(tree, '', AT_FDCWD, at, MOVE_MOUNT_F_EMPTY_PATH);
    } finally {
      closeSync(tree);
    }
    try {
      return mountOverlay(at, options, owner);
    } finally {
      umount2(at, MNT_DETACH);
    }
  } finally {
    rmdirSync(at);
  }
}
// #endregion

/** fsopen, fsconfig each option (paths under `at`), fsmount. */
function mountOverlay(at: string, options: string, owner: Owner)
  : number {
  const fs = fsopen('overlay', FSOPEN_CLOEXEC);
  try {
    for (const opt of options.split(',')) {
      const [key, value] = opt.split('=');
      const path = (p: string) => join(at, p);
      const v = key === 'lowerdir' ? value.split(':').map(path).join(':')
        : key === 'upperdir' || key === 'workdir' ? path(value) : value;
      fsconfig(fs, FSCONFIG_SET_STRING, key, v ?? null, 0);
    }
    asMapped(owner, () => fsconfig(fs, FSCONFIG_CMD_CREATE, null, null, 0));
    return fsmount(fs, FSMOUNT_CLOEXEC, 0);
  } finally {
    closeSync(fs);
  }
}

/** The container's rootfs over idmapped layers, for launch.ts. */
export function idmappedRootfs(store: ImageStore, id: string,
  remap: Remap): (userns: string) => number {
  const owner = { uid: remap.uidMappings[0].hostID,
    gid: remap.gidMappings[0].hostID };
  return (userns) => overlayOverIdmapped(store.root,
    overlayOptions(store, rootfsOf(store, id), true), userns, owner);
}

/**
 * Can this kernel give a container an overlay over idmapped layers?
 * Tried on a small overlay in the state root, with the user namespace
 * of a throw-away process whose maps we write (the daemon, being
 * multithreaded, cannot unshare one itself: unshare(2)).
 */
// #region probe-idmap (unused)
export async function probeIdmap(root: string, remap: Omit<Remap,
  'rootfs'>): Promise<boolean> {
  mkdirSync(join(root, 'tmp'), { recursive: true });
  const dir = mkdtempSync(join(root, 'tmp', 'idmap-probe-'));
  const child = spawn('unshare', ['--user', 'sleep', '30'],
    { stdio: 'ignore' });
  try {
    for (const d of ['lower', 'upper', 'work']) mkdirSync(join(dir, d));
    const ns = await newUserNs(child.pid!);
    if (!ns) return false;
    writeFileSync(`/proc/${child.pid}/uid_map`, mapText(remap.uidMappings));
    writeFileSync(`/proc/${child.pid}/gid_map`, mapText(remap.gidMappings));
    const owner = { uid: remap.uidMappings[0].hostID,
      gid: remap.gidMappings[0].hostID };
    const fd = overlayOverIdmapped(dir,
      'lowerdir=lower,upperdir=upper,workdir=work,index=off', ns, owner);
    // Mounted read-only if overlayfs could not make its work directory.
    const st = Buffer.alloc(256);
    fstatvfs(fd, st);
    closeSync(fd);
    return (Number(st.readBigUInt64LE(72)) & 1) === 0; // ST_RDONLY
    return true;
  } catch (err) {
    if (process.env.SKIFF_DEBUG) console.error(err);
    return false;
  } finally {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}
// #endregion

const mapText = (maps: IdMapping[]) => maps.map((m) =>
  `${m.containerID} ${m.hostID} ${m.size}\n`).join('');

/** /proc/PID/ns/user once the child has left ours (unshare ran). */
async function newUserNs(pid: number): Promise<string | undefined> {
  const ours = readlinkSync('/proc/self/ns/user');
  for (let i = 0; i < 200; i++) {
    try {
      if (readlinkSync(`/proc/${pid}/ns/user`) !== ours) {
        return `/proc/${pid}/ns/user`;
      }
    } catch { return undefined; }
    await new Promise((r) => setTimeout(r, 5));
  }
  return undefined;
}
