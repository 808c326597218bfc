// The cgroup manager: one interface, two backends. Callers say "put this
// container in cgroup /skiff/<id> with these limits" and never learn
// whether the host keeps one v1 hierarchy per controller or one v2 tree.
import type { LinuxResources } from '../../02-namespaces/spec.ts';
import type { FreezerState } from '../controllers/freezer.ts';
import { CONTROLLERS } from '../controllers/index.ts';
import { unifiedControllers } from '../controllers/unified.ts';
import { normalizeCgroupPath } from './common.ts';
import { CgroupError } from './fs.ts';
import { detectHierarchies, type Hierarchies } from './mode.ts';
import { CgroupV1 } from './v1.ts';
import { CgroupV2 } from './v2.ts';

export type { FreezerState };

// #region cgroup-stats
/** What `docker stats` shows, read from the cgroup's files. */
export interface CgroupStats {
  /** CPU time of all its processes so far, user + system, in ns. */
  cpuUsageNs: number;
  /** Memory charged to it, page cache included. */
  memoryBytes: number;
  /** Inactive page cache within memoryBytes (docker subtracts it). */
  memoryCacheBytes: number;
  /** null: no limit. */
  memoryLimit: number | null;
  /** The most memory it ever held (0 where the kernel does not say). */
  memoryPeakBytes: number;
  /** Tasks (processes and threads) in it now. */
  pids: number;
  pidsLimit: number | null;
  /** Processes the kernel's OOM killer killed in it. */
  oomKills: number;
  ioReadBytes: number;
  ioWriteBytes: number;
}
// #endregion

// #region cgroup-interface
export interface Cgroup {
  /** The path inside the hierarchies, e.g. "/skiff/abc". */
  readonly path: string;
  readonly version: 1 | 2;
  /** Its directories on the host (one per hierarchy on v1). */
  readonly dirs: readonly string[];
  /** Moves a process (and not its existing children) in. */
  addProcess(pid: number): void;
  /** Writes limits; may be called again to change them. */
  apply(resources: LinuxResources): Promise<void>;
  stats(): CgroupStats;
  /** Pids of the processes in it. */
  procs(): number[];
  freeze(): Promise<void>;
  thaw(): Promise<void>;
  state(): FreezerState;
  /** Signals every process (default SIGKILL) and, for SIGKILL, waits. */
  killAll(signal?: NodeJS.Signals): Promise<void>;
  /** Kills stragglers, then removes the cgroup. Safe to call twice. */
  destroy(): Promise<void>;
}
// #endregion

export interface CgroupOptions {
  /** The host's cgroup mounts (default: read from /proc/self/mountinfo). */
  hierarchies?: Hierarchies;
}

// #region create
/**
 * Creates cgroup `path` and applies `resources`. Nothing is left behind
 * when a limit is refused: the new cgroup is removed before the error.
 */
export async function createCgroup(path: string,
  resources: LinuxResources = {}, opts: CgroupOptions = {}):
  Promise<Cgroup> {
  const h = opts.hierarchies ?? detectHierarchies();
  const p = normalizeCgroupPath(path);
  const cg = h.mode === 'unified'
    ? CgroupV2.create(requireUnified(h), p, v2Controllers(resources))
    : CgroupV1.create(h, p, wantedControllers(resources));
  try {
    await cg.apply(resources);
  } catch (err) {
    await cg.destroy().catch(() => {});
    throw err;
  }
  return cg;
}
// #endregion

/** An existing cgroup, e.g. a running container's, for stats or pause. */
export function openCgroup(path: string, opts: CgroupOptions = {}): Cgroup {
  const h = opts.hierarchies ?? detectHierarchies();
  const p = normalizeCgroupPath(path);
  return h.mode === 'unified'
    ? CgroupV2.open(requireUnified(h), p) : CgroupV1.open(h, p);
}

/** 2 when the host keeps its controllers in one cgroup2 tree, else 1. */
export function cgroupVersion(h = detectHierarchies()): 1 | 2 {
  return h.mode === 'unified' ? 2 : 1;
}

/** The controllers `r` asks something of: "memory", "cpu", "io", ... */
export function wantedControllers(r: LinuxResources): string[] {
  return CONTROLLERS.filter((c) => c.wanted(r)).map((c) => c.name);
}

/** The v2 controllers `r` needs enabled: "memory", "io", "hugetlb"... */
export function v2Controllers(r: LinuxResources): string[] {
  const named = CONTROLLERS.filter((c) => c.wanted(r) && c.v2)
    .map((c) => c.v2!);
  return [...new Set([...named, ...unifiedControllers(r.unified)])];
}

function requireUnified(h: Hierarchies): string {
  if (!h.unified) {
    throw new CgroupError('cgroup: no cgroup filesystem is mounted ' +
      '(neither cgroup2 nor v1 controllers in /proc/self/mountinfo)');
  }
  return h.unified;
}
