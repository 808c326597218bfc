// The container's filesystem, built by the init inside its own mount
// namespace: private propagation, the rootfs, spec.mounts, a minimal
// /dev, pivot_root(2) into it, and the old root gone.
import {
  chmodSync, chownSync, closeSync, existsSync, fstatSync, lstatSync,
  mkdirSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync,
} from 'node:fs';
import { dirname, join, normalize, resolve } from 'node:path';
import { type SyscallError, syscall } from '../01-chroot/kernel.ts';
import { cgroupLayout } from './cgroupfs.ts';
import type { LinuxDevice, Mount, Spec } from './spec.ts';

// #region declare-mount
const mount = syscall<[string | null, string, string | null, number,
  string | null]>('int mount(const char *source, const char *target, ' +
  'const char *type, unsigned long flags, const char *data)',
(source, target, type) => `${JSON.stringify(source ?? type)} on ${
  JSON.stringify(target)}`);
const umount2 = syscall<[string, number]>(
  'int umount2(const char *target, int flags)');
const pivotRoot = syscall<[string, string]>(
  'int pivot_root(const char *new_root, const char *put_old)');
const chdir = syscall<[string]>('int chdir(const char *path)');
const statvfs = syscall<[string, Buffer]>(
  'int statvfs(const char *path, void *buf)');
const moveMount = syscall<[number, string, number, string, number]>(
  'int move_mount(int from_dfd, const char *from, int to_dfd, ' +
  'const char *to, unsigned int flags)',
(_fd, _from, _dfd, to) => `source tree to ${JSON.stringify(to)}`);
const AT_FDCWD = -100;
const MOVE_MOUNT_F_EMPTY_PATH = 0x4;
// #endregion

const mknod = syscall<[string, number, bigint]>(
  'int mknod(const char *path, uint32_t mode, uint64_t dev)');
const openTree = syscall<[number, string, number]>(
  'int open_tree(int dfd, const char *path, unsigned int flags)',
(_dfd, path) => JSON.stringify(path));
const OPEN_TREE_CLONE = 1;
const OPEN_TREE_CLOEXEC = 0o2000000;
const AT_RECURSIVE = 0x8000;

/**
 * A detached copy of the mount at `path` (with the mounts below it if
 * `recursive`), as an fd another mount namespace can attach with
 * move_mount(2): open_tree(2). The trampoline does this in C for bind
 * sources; an init handed its trees (launch.ts) gets them from the
 * engine.
 */
export function cloneMount(path: string, recursive: boolean): number {
  return openTree(AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC |
    (recursive ? AT_RECURSIVE : 0));
}

// mount(2) flags, from <sys/mount.h>.
export const MS = {
  RDONLY: 0x1, NOSUID: 0x2, NODEV: 0x4, NOEXEC: 0x8, SYNCHRONOUS: 0x10,
  REMOUNT: 0x20, MANDLOCK: 0x40, DIRSYNC: 0x80, NOSYMFOLLOW: 0x100,
  NOATIME: 0x400, NODIRATIME: 0x800, BIND: 0x1000, MOVE: 0x2000,
  REC: 0x4000, SILENT: 0x8000, UNBINDABLE: 0x20000, PRIVATE: 0x40000,
  SLAVE: 0x80000, SHARED: 0x100000, RELATIME: 0x200000,
  STRICTATIME: 0x1000000,
} as const;
const MNT_DETACH = 2;

// Mount options as in fstab(5) and the OCI spec: flags to set, flags to
// clear, and the propagation ones; anything else goes to the filesystem
// as data ("mode=755", "size=64m", "newinstance").
const SET: Record<string, number> = {
  ro: MS.RDONLY, nosuid: MS.NOSUID, nodev: MS.NODEV, noexec: MS.NOEXEC,
  sync: MS.SYNCHRONOUS, dirsync: MS.DIRSYNC, noatime: MS.NOATIME,
  nodiratime: MS.NODIRATIME, relatime: MS.RELATIME,
  strictatime: MS.STRICTATIME, bind: MS.BIND, rbind: MS.BIND | MS.REC,
};
const CLEAR: Record<string, number> = {
  rw: MS.RDONLY, suid: MS.NOSUID, dev: MS.NODEV, exec: MS.NOEXEC,
  async: MS.SYNCHRONOUS, atime: MS.NOATIME, diratime: MS.NODIRATIME,
};
const PROPAGATION: Record<string, number> = {
  private: MS.PRIVATE, rprivate: MS.PRIVATE | MS.REC,
  slave: MS.SLAVE, rslave: MS.SLAVE | MS.REC,
  shared: MS.SHARED, rshared: MS.SHARED | MS.REC,
  unbindable: MS.UNBINDABLE, runbindable: MS.UNBINDABLE | MS.REC,
};

interface ParsedOptions { flags: number; propagation: number; data: string[] }

export function parseOptions(options: string[] = []): ParsedOptions {
  const parsed: ParsedOptions = { flags: 0, propagation: 0, data: [] };
  for (const o of options) {
    if (o in SET) parsed.flags |= SET[o];
    else if (o in CLEAR) parsed.flags &= ~CLEAR[o];
    else if (o in PROPAGATION) parsed.propagation |= PROPAGATION[o];
    else if (o !== 'defaults') parsed.data.push(o);
  }
  return parsed;
}

/** The flags a mount has now (statvfs(3) f_flag uses MS_* values). */
function mountFlags(path: string): number {
  const buf = Buffer.alloc(256);
  statvfs(path, buf);
  // struct statvfs on 64-bit Linux: nine 8-byte fields, then f_flag.
  const keep = MS.RDONLY | MS.NOSUID | MS.NODEV | MS.NOEXEC | MS.NOATIME |
    MS.NODIRATIME | MS.RELATIME;
  return Number(buf.readBigUInt64LE(72)) & keep;
}

// #region remount-ro
/**
 * Makes a mount read-only. A bind mount ignores MS_RDONLY when created:
 * it takes a second call with MS_REMOUNT. Inside a user namespace the
 * kernel refuses to clear flags it locked (nosuid, nodev, ...), so we
 * pass the mount's current flags along.
 */
export function remountReadonly(path: string, extra = 0): void {
  const flags = mountFlags(path) | extra | MS.RDONLY;
  mount(null, path, null, MS.BIND | MS.REMOUNT | flags, null);
}
// #endregion

/**
 * The host path of `dest` under `root`. Paths in the spec are absolute
 * inside the container; ".." must not lead out of it, nor a symlink.
 */
export function inRoot(root: string, dest: string): string {
  const clean = normalize(`/${dest}`);
  if (clean.split('/').includes('..')) {
    throw new Error(`mount destination "${dest}": leaves the rootfs`);
  }
  return resolveInRoot(root, clean);
}

// #region resolve-in-root (unused)
/**
 * `path` inside `root` with every symlink on the way resolved as the
 * container will see it: an absolute target starts again at `root`,
 * ".." stops there (runc's FollowSymlinkInScope). The image is
 * untrusted and we still stand in the host's tree: its `/a -> /etc`
 * must not make us create or mount anything in the host's /etc. With
 * `follow` false a symlink in the last place stays as it is.
 */
export function resolveInRoot(root: string, path: string, follow = true)
  : string {
  const parts = path.split('/').filter((p) => p && p !== '.');
  const done: string[] = [];
  for (let links = 0; parts.length;) {
    const name = parts.shift()!;
    if (name === '..') {
      done.pop();
      continue;
    }
    const at = join(root, ...done, name);
    if (!isSymlink(at) || (parts.length === 0 && !follow)) {
      done.push(name);
      continue;
    }
    if (++links > 40) throw new Error(`${path}: too many symlinks`);
    const target = readlinkSync(at);
    if (target.startsWith('/')) done.length = 0;
    parts.unshift(...target.split('/').filter((p) => p && p !== '.'));
  }
  return join(root, ...done);
}
// #endregion

function isSymlink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false; // missing (or a file on the way): made, or refused, later
  }
}

/**
 * Makes sure a mount point exists: a file for a file to bind, else a
 * directory. Refuses a symlink, which could point out of the rootfs.
 */
function ensureMountPoint(target: string, isFile: boolean): void {
  let st;
  try {
    st = lstatSync(target);
  } catch {
    mkdirSync(isFile ? dirname(target) : target, { recursive: true });
    if (isFile) writeFileSync(target, '', { flag: 'a' });
    return;
  }
  if (st.isSymbolicLink()) {
    throw new Error(`mount point "${target}": is a symbolic link`);
  }
}

/**
 * How a spec.mounts entry binds its source, or null for a filesystem:
 * "rbind" (and type "bind" alone) takes the mounts below the source
 * along, "bind" only the one.
 */
export function bindKind(m: Mount): 'bind' | 'rbind' | null {
  const { flags } = parseOptions(m.options);
  if (m.type !== 'bind' && !(flags & MS.BIND)) return null;
  return m.options?.includes('bind') ? 'bind' : 'rbind';
}

// #region attach-tree
/**
 * Attaches a tree cloned with open_tree(2) at `target`, private. A
 * clone of a shared mount joins its peer group (so mounts would travel
 * between the container and the host), and pivot_root(2) refuses a
 * shared new root with EINVAL. The spec's propagation comes after.
 */
function attachTree(tree: number, target: string): void {
  moveMount(tree, '', AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH);
  closeSync(tree);
  mount(null, target, null, MS.REC | MS.PRIVATE, null);
}
// #endregion

/**
 * Attaches `tree` at `target` as a mount made now: since Linux 6.8
 * mountinfo lists mounts by their id, and the tree, cloned when the
 * init started, would be listed before the mounts the spec puts ahead
 * of it. A detached tree cannot be cloned again (EINVAL): attach it,
 * clone that, and put the clone in its place.
 */
function attachAnew(tree: number, target: string, recursive: boolean)
  : void {
  attachTree(tree, target);
  const fresh = cloneMount(target, recursive);
  umount2(target, MNT_DETACH);
  attachTree(fresh, target);
}

// #region mount-one
/**
 * Mounts one spec.mounts entry under `root` (not yet pivoted). A bind
 * mount's source comes as `tree`, a clone of it the trampoline made
 * with open_tree(2); we attach it with move_mount(2).
 */
export function mountOne(root: string, m: Mount, tree?: number): void {
  const target = inRoot(root, m.destination);
  const type = m.type ?? (bindKind(m) ? 'bind' : 'none');
  const { flags, propagation, data } = parseOptions(m.options);
  if (bindKind(m)) {
    if (tree === undefined) {
      throw new Error(`bind mount "${m.source}": source not opened`);
    }
    ensureMountPoint(target, !fstatSync(tree).isDirectory());
    attachAnew(tree, target, bindKind(m) === 'rbind');
    const rest = flags & ~(MS.BIND | MS.REC);
    if (rest & MS.RDONLY) remountReadonly(target, rest & ~MS.RDONLY);
    else if (rest) {
      mount(null, target, null, MS.BIND | MS.REMOUNT | rest, null);
    }
  } else {
    ensureMountPoint(target, false);
    if (type === 'cgroup') mountCgroups(target, flags);
    else mountFilesystem(m, type, target, flags, data);
  }
  if (propagation) mount(null, target, null, propagation, null);
}
// #endregion

// In a user namespace that does not own the network (pid) namespace,
// the kernel refuses a fresh sysfs (proc): it would show the host's
// devices (processes). Bind the host's instead, as runc does.
function mountFilesystem(m: Mount, type: string, target: string,
  flags: number, data: string[]): void {
  try {
    mount(m.source ?? type, target, type, flags, data.join(',') || null);
  } catch (err) {
    const host = { sysfs: '/sys', proc: '/proc' }[type];
    if (!host || (err as SyscallError).code !== 'EPERM') throw err;
    mount(host, target, null, MS.BIND | MS.REC, null);
    if (flags & MS.RDONLY) remountReadonly(target);
  }
}

// #region cgroup-mount
/**
 * A spec mount of type "cgroup", as runc makes it: on a pure v2 host
 * one cgroup2 filesystem; else a tmpfs with each v1 hierarchy (and a
 * hybrid host's cgroup2) below, as the host has them, then read-only.
 * Mounted in the init's cgroup namespace, each shows the container's
 * own cgroup as its root. Without one it would show the host's tree:
 * the defaults ask for this mount only with a cgroup namespace.
 */
function mountCgroups(target: string, flags: number): void {
  const layout = cgroupLayout();
  if (layout.unified) {
    mount('cgroup2', target, 'cgroup2', flags, null);
    return;
  }
  const ro = flags & MS.RDONLY;
  mount('tmpfs', target, 'tmpfs', flags & ~MS.RDONLY, 'mode=755');
  for (const h of layout.hierarchies) {
    mkdirSync(join(target, h.name));
    mount(h.type, join(target, h.name), h.type, flags, h.data);
  }
  for (const l of layout.links) {
    symlinkSync(l.target, join(target, l.name));
  }
  if (ro) remountReadonly(target);
}
// #endregion

// #region dev
// The device nodes every program expects. We bind-mount the host's
// instead of mknod(2)-ing new ones: inside a user namespace mknod is
// not allowed, and a bind mount of /dev/null is the same device.
const DEVICES = ['null', 'zero', 'full', 'random', 'urandom', 'tty'];

export function populateDev(root: string, devices: LinuxDevice[] = [])
  : void {
  const dev = inRoot(root, '/dev');
  // spec.linux.devices (`--privileged`: all of the host's) come the same
  // way, from the host's node at the same path (or at hostPath).
  const nodes = new Map<string, string>([
    ...DEVICES.map((name): [string, string] => [`/dev/${name}`,
      `/dev/${name}`]),
    ...devices.map((d): [string, string] => [d.path, d.hostPath ?? d.path]),
  ]);
  for (const [path, host] of nodes) {
    const target = inRoot(root, path);
    const d = devices.find((x) => x.path === path);
    if (d && !d.hostPath && !sameDevice(host, d)) {
      makeNode(target, d);
      continue;
    }
    ensureMountPoint(target, true);
    mount(host, target, null, MS.BIND, null);
  }
  const links: [string, string][] = [
    ['/proc/self/fd', 'fd'], ['/proc/self/fd/0', 'stdin'],
    ['/proc/self/fd/1', 'stdout'], ['/proc/self/fd/2', 'stderr'],
  ];
  // /dev/pts has its own ptmx when mounted with newinstance: point the
  // usual /dev/ptmx at it, or openpty(3) would reach the host's ptys.
  if (existsSync(join(dev, 'pts/ptmx'))) links.push(['pts/ptmx', 'ptmx']);
  for (const [to, name] of links) {
    if (!existsSync(join(dev, name))) symlinkSync(to, join(dev, name));
  }
}
// #endregion

const S_IF = { c: 0o020000, u: 0o020000, b: 0o060000, p: 0o010000 };

/** Whether the host's node at `path` is the device `d` describes. */
function sameDevice(path: string, d: LinuxDevice): boolean {
  try {
    const st = statSync(path);
    const kind = st.isBlockDevice() ? 'b' : st.isCharacterDevice() ? 'c'
      : st.isFIFO() ? 'p' : '';
    if (kind !== (d.type === 'u' ? 'c' : d.type)) return false;
    return d.type === 'p' || (major(st.rdev) === d.major &&
      minor(st.rdev) === d.minor);
  } catch {
    return false;
  }
}

// dev_t as glibc's gnu_dev_major/minor/makedev split it.
const major = (dev: number) => Number((BigInt(dev) >> 8n) & 0xfffn |
  ((BigInt(dev) >> 32n) & ~0xfffn));
const minor = (dev: number) => Number((BigInt(dev) & 0xffn) |
  ((BigInt(dev) >> 12n) & ~0xffn));
const makedev = (ma: number, mi: number) =>
  ((BigInt(ma) & 0xfffff000n) << 32n) | ((BigInt(ma) & 0xfffn) << 8n) |
  ((BigInt(mi) & 0xffffff00n) << 12n) | (BigInt(mi) & 0xffn);

/**
 * A device the host has no node for (an OCI config's own): made with
 * mknod(2), as runc does. A user namespace may not: EPERM says so.
 */
function makeNode(target: string, d: LinuxDevice): void {
  mkdirSync(dirname(target), { recursive: true });
  rmSync(target, { force: true });
  const mode = d.fileMode ?? 0o666;
  mknod(target, S_IF[d.type] | mode, makedev(d.major, d.minor));
  chmodSync(target, mode);
  chownSync(target, d.uid ?? 0, d.gid ?? 0);
}

/** runc's /dev/console: the container's terminal, bound over a file. */
export function bindConsole(slave: string): void {
  ensureMountPoint('/dev/console', true);
  mount(slave, '/dev/console', null, MS.BIND, null);
}

// #region pivot
/**
 * Makes `root` the root of this mount namespace. Unlike chroot(2),
 * pivot_root(2) moves the whole namespace's root: the old one is
 * stacked under the new, and once we detach it there is no ".." left
 * that leads back. pivot_root(".", ".") is the trick pivot_root(2)
 * documents: no directory for the old root is needed.
 */
export function pivotInto(root: string): void {
  chdir(root);
  pivotRoot('.', '.');
  umount2('.', MNT_DETACH);
  chdir('/');
}
// #endregion

// #region trees
/** Mount trees cloned outside (open_tree) for the init to attach. */
export interface Trees {
  /** The rootfs, cloned by the engine once the init's namespaces exist. */
  root?: number;
  /** Each bind mount's source, in spec.mounts order. */
  binds: number[];
}

/** The trees the trampoline left us: fds listed in SKIFF_BIND_FDS. */
export function treesFromEnv(): Trees {
  return { binds: (process.env.SKIFF_BIND_FDS ?? '').split(',')
    .filter(Boolean).map(Number) };
}

/** Each bind mount's source, resolved, in spec.mounts order. */
export function bindSources(spec: Spec)
  : { path: string; recursive: boolean }[] {
  return spec.mounts.filter((m) => bindKind(m)).map((m) => ({
    path: resolve(m.source ?? ''), recursive: bindKind(m) === 'rbind' }));
}
// #endregion

/**
 * Where an init attaches a rootfs that came as a tree: an empty
 * root-owned 0755 directory the engine made (build.ts PUBLISHED) before
 * any init's mount namespace was copied. Root of a user namespace may
 * be unable to reach the rootfs's own path (a 0700 directory above it).
 */
export const ROOT_STAGE = '/run/skiff-init/rootfs';

/** Where prepareRoot puts the rootfs, for pivot_root. */
export function rootPath(spec: Spec, trees: Trees): string {
  return trees.root === undefined ? spec.root.path : ROOT_STAGE;
}

// #region prepare-root
/**
 * Everything between a fresh mount namespace and pivot_root: stop
 * propagation, make the rootfs a mount point, and mount spec.mounts.
 */
export function prepareRoot(spec: Spec, trees = treesFromEnv()): string {
  // On systemd hosts / is a shared mount: without this, every mount we
  // make below would propagate back into the host's mount namespace.
  mount(null, '/', null, MS.REC | MS.PRIVATE, null);
  // pivot_root needs the new root to be a mount point: bind it to
  // itself, or attach the clone of it we were given at ROOT_STAGE.
  const root = rootPath(spec, trees);
  if (trees.root === undefined) {
    mount(root, root, null, MS.BIND | MS.REC, null);
  } else {
    attachTree(trees.root, root);
  }
  const binds = [...trees.binds];
  for (const m of spec.mounts) {
    mountOne(root, m, bindKind(m) ? binds.shift() : undefined);
  }
  binds.forEach((fd) => closeSync(fd)); // none should be left over
  populateDev(root, spec.linux.devices);
  return root;
}
// #endregion

// #region finish-root
/** After pivot_root: masked and read-only paths, then a read-only /. */
export function finishRoot(spec: Spec): void {
  // config-linux.md rootfsPropagation: the container's / towards the
  // host (prepareRoot made it private: no mount leaks by default).
  const p = spec.linux.rootfsPropagation;
  if (p) {
    if (!(p in PROPAGATION)) {
      throw new Error(`rootfs propagation "${p}": unknown`);
    }
    mount(null, '/', null, PROPAGATION[p], null);
  }
  for (const path of spec.linux.maskedPaths ?? []) maskPath(path);
  for (const path of spec.linux.readonlyPaths ?? []) {
    if (!existsSync(path)) continue;
    mount(path, path, null, MS.BIND | MS.REC, null);
    remountReadonly(path);
  }
  if (spec.root.readonly) remountReadonly('/');
}
// #endregion

/** Hides a path: /dev/null over a file, an empty read-only tmpfs over a dir. */
function maskPath(path: string): void {
  let isDir: boolean;
  try {
    isDir = statSync(path).isDirectory();
  } catch {
    return;
  }
  if (isDir) mount('tmpfs', path, 'tmpfs', MS.RDONLY, null);
  else mount('/dev/null', path, null, MS.BIND, null);
}
