// What /sys/fs/cgroup holds on this host, so that the init can mount the
// same inside the container: one cgroup2 filesystem (pure v2), or a
// tmpfs with a v1 hierarchy per directory (v1 and hybrid hosts). Mounted
// from inside a cgroup namespace, each shows that namespace's root, the
// container's own cgroup, and nothing above it (cgroup_namespaces(7)).
import { readFileSync } from 'node:fs';
import { mountInfo } from './procfs.ts';

export interface CgroupHierarchy {
  /** Its directory under /sys/fs/cgroup: "memory", "cpu,cpuacct". */
  name: string;
  type: 'cgroup' | 'cgroup2';
  /** mount(2)'s data for a v1 one: its controllers, or "none,name=X". */
  data: string | null;
}

export interface CgroupLayout {
  /** Pure cgroup v2: one cgroup2 filesystem at /sys/fs/cgroup. */
  unified: boolean;
  hierarchies: CgroupHierarchy[];
  /** "cpu" -> "cpu,cpuacct": the names a co-mounted hierarchy has. */
  links: { name: string; target: string }[];
}

// #region cgroup-layout (unused)
/**
 * The cgroup filesystems mounted at /sys/fs/cgroup and just below it,
 * read from mountinfo (proc(5)): "... mountpoint ... - fstype source
 * superoptions". A v1 hierarchy is named by its controllers (as in
 * /proc/cgroups) or by "name=", and a new mount must ask for exactly
 * those, or the kernel refuses it with EBUSY.
 */
export function cgroupLayout(
  mountinfo = readFileSync('/proc/self/mountinfo', 'utf8'),
  controllers = knownControllers()): CgroupLayout {
  const layout: CgroupLayout = { unified: false, hierarchies: [], links: [] };
  for (const m of mountInfo(mountinfo)) {
    const [point, type] = [m.mountPoint, m.fsType];
    if (type !== 'cgroup' && type !== 'cgroup2') continue;
    if (point === '/sys/fs/cgroup' && type === 'cgroup2') {
      layout.unified = true;
    }
    const name = point?.match(/^\/sys\/fs\/cgroup\/([^/]+)$/)?.[1];
    if (!name || layout.hierarchies.some((h) => h.name === name)) continue;
    const wanted = m.superOptions.filter((o) =>
      controllers.has(o) || o.startsWith('name='));
    if (wanted.every((o) => o.startsWith('name='))) wanted.unshift('none');
    layout.hierarchies.push({ name, type,
      data: type === 'cgroup' ? wanted.join(',') : null });
  }
  for (const h of layout.hierarchies) {
    for (const part of h.name.includes(',') ? h.name.split(',') : []) {
      if (layout.hierarchies.some((o) => o.name === part)) continue;
      layout.links.push({ name: part, target: h.name });
    }
  }
  return layout;
}
// #endregion

/** The v1 controllers this kernel has: /proc/cgroups, first column. */
function knownControllers(): Set<string> {
  try {
    return new Set(readFileSync('/proc/cgroups', 'utf8').split('\n')
      .filter((l) => l && !l.startsWith('#')).map((l) => l.split('\t')[0]));
  } catch {
    return new Set();
  }
}
