// Which cgroup world is this host in? Three answers, read from the mount
// table (proc(5), /proc/self/mountinfo):
//   unified  one cgroup2 tree at /sys/fs/cgroup (most hosts since ~2021)
//   legacy   one cgroup v1 hierarchy per controller, no cgroup2 at all
//   hybrid   v1 hierarchies hold the controllers, and a cgroup2 tree is
//            mounted beside them (often /sys/fs/cgroup/unified) with few
//            or no controllers. systemd's old default; this book's VM.
import { readFileSync } from 'node:fs';
import { mountInfo } from '../../02-namespaces/procfs.ts';

// Mount options of a v1 hierarchy that are not controller names.
const NOT_CONTROLLERS = new Set(['rw', 'ro', 'xattr', 'noprefix',
  'clone_children', 'cpuset_v2_mode', 'favordynmods', 'nofavordynmods']);

export type CgroupMode = 'unified' | 'legacy' | 'hybrid';

// #region hierarchies
export interface Hierarchies {
  mode: CgroupMode;
  /** The cgroup2 mount point, if there is one. */
  unified?: string;
  /** v1 controller name -> its hierarchy's mount point. */
  v1: Map<string, string>;
}

/** Reads the cgroup mounts of the current mount namespace. */
export function detectHierarchies(
  mountinfo = readFileSync('/proc/self/mountinfo', 'utf8'),
): Hierarchies {
  let unified: string | undefined;
  const v1 = new Map<string, string>();
  for (const { mountPoint, fsType, superOptions } of mountInfo(mountinfo)) {
    if (fsType === 'cgroup2') {
      // Prefer the canonical place when several are mounted.
      if (!unified || mountPoint === '/sys/fs/cgroup') unified = mountPoint;
    } else if (fsType === 'cgroup') {
      for (const opt of superOptions) {
        if (NOT_CONTROLLERS.has(opt) || opt.includes('=')) continue;
        if (!v1.has(opt)) v1.set(opt, mountPoint);
      }
    }
  }
  const mode: CgroupMode = v1.size === 0 ? 'unified'
    : unified ? 'hybrid' : 'legacy';
  return { mode, unified, v1 };
}
// #endregion
