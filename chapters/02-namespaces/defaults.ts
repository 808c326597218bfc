// A Spec with the defaults Docker and runc use, built from a few choices.
// The demo, later chapters' demos and final/ start from it.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { DEFAULT_ENV } from '../01-chroot/chroot.ts';
import { nsexecPath } from './build.ts';
import { INIT_PATH } from './process.ts';
import type { IdMapping, Mount, NamespaceType, Spec } from './spec.ts';

export { INIT_PATH } from './process.ts';

export const ALL_NAMESPACES: NamespaceType[] =
  ['user', 'pid', 'mount', 'uts', 'ipc', 'network', 'cgroup'];

export interface SpecChoices {
  rootfs: string;
  args: string[];
  /** Namespaces to create; default: all of them. */
  namespaces?: NamespaceType[];
  hostname?: string;
  /** `docker run --init`: a minimal PID 1 that runs the command. */
  init?: boolean;
  env?: string[];
  cwd?: string;
  user?: { uid: number; gid: number; additionalGids?: number[] };
  readonly?: boolean;
  /** Extra mounts (volumes, /etc/hosts, ...), after the standard ones. */
  mounts?: Mount[];
}

// #region default-mounts
/** The filesystems every container gets, as runc's `spec` writes them. */
export function standardMounts(namespaces: NamespaceType[]): Mount[] {
  const mounts: Mount[] = [
    { destination: '/proc', type: 'proc', source: 'proc',
      options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs',
      options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    { destination: '/dev/pts', type: 'devpts', source: 'devpts',
      options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666',
        'mode=0620', 'gid=5'] },
    { destination: '/dev/shm', type: 'tmpfs', source: 'shm',
      options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
    { destination: '/sys', type: 'sysfs', source: 'sysfs',
      options: ['nosuid', 'noexec', 'nodev', 'ro'] },
  ];
  // An mqueue filesystem shows the queues of the mounter's ipc namespace.
  if (namespaces.includes('ipc')) {
    mounts.push({ destination: '/dev/mqueue', type: 'mqueue',
      source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] });
  }
  // A cgroup filesystem shows the mounter's cgroup namespace: with none
  // of its own, the host's whole tree. Read-only, as runc mounts it.
  if (namespaces.includes('cgroup')) {
    mounts.push({ destination: '/sys/fs/cgroup', type: 'cgroup',
      source: 'cgroup',
      options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'] });
  }
  return mounts;
}
// #endregion

/** Docker's defaults: kernel interfaces hidden or read-only inside. */
export const MASKED_PATHS = [
  '/proc/asound', '/proc/acpi', '/proc/kcore', '/proc/keys',
  '/proc/latency_stats', '/proc/timer_list', '/proc/timer_stats',
  '/proc/sched_debug', '/proc/scsi', '/sys/firmware',
  '/sys/devices/virtual/powercap',
];
export const READONLY_PATHS = [
  '/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger',
];

// #region id-ranges
/**
 * The host ids container root maps to: the range /etc/subuid (subgid)
 * gives the user "root", as `usermod --add-subuids` writes it, else
 * 100000-165535, which Debian's useradd would hand the first user.
 */
export function idRange(kind: 'uid' | 'gid',
  file = `/etc/sub${kind}`): IdMapping[] {
  let lines: string[] = [];
  try {
    lines = readFileSync(file, 'utf8').split('\n');
  } catch { /* no file: the default below */ }
  for (const line of lines) {
    const [name, start, count] = line.trim().split(':');
    if ((name === 'root' || name === '0') && Number(count) > 0) {
      return [{ containerID: 0, hostID: Number(start),
        size: Math.min(Number(count), 65536) }];
    }
  }
  return [{ containerID: 0, hostID: 100000, size: 65536 }];
}
// #endregion

// #region default-spec
export function defaultSpec(o: SpecChoices): Spec {
  const namespaces = o.namespaces ?? ALL_NAMESPACES;
  const mounts = namespaces.includes('mount')
    ? [...standardMounts(namespaces), ...(o.mounts ?? [])] : [];
  let args = o.args;
  if (o.init) {
    // The trampoline doubles as the init: static, so it runs in any
    // rootfs; bound read-only onto /dev (our tmpfs), not into the image.
    mounts.push({ destination: INIT_PATH, type: 'bind',
      source: nsexecPath(), options: ['bind', 'ro'] });
    args = [INIT_PATH, '--', ...args];
  }
  const user = namespaces.includes('user');
  return {
    ociVersion: '1.0.2',
    process: {
      user: { uid: 0, gid: 0, ...o.user },
      args,
      env: o.env ?? DEFAULT_ENV,
      cwd: o.cwd ?? '/',
      noNewPrivileges: false,
    },
    root: { path: resolve(o.rootfs), readonly: o.readonly ?? false },
    hostname: o.hostname ?? 'skiff',
    mounts,
    linux: {
      namespaces: namespaces.map((type) => ({ type })),
      uidMappings: user ? idRange('uid') : undefined,
      gidMappings: user ? idRange('gid') : undefined,
      maskedPaths: namespaces.includes('mount') ? MASKED_PATHS : [],
      readonlyPaths: namespaces.includes('mount') ? READONLY_PATHS : [],
    },
  };
}
// #endregion
