// cgroup v1: one hierarchy (one mounted tree) per controller. A cgroup
// "/skiff/abc" is really eight directories, /sys/fs/cgroup/memory/skiff/abc,
// /sys/fs/cgroup/cpu/skiff/abc, ..., and a process must be written into
// each of them. Each hierarchy has its own files and its own quirks.
import { existsSync, mkdirSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import type { LinuxResources } from '../../02-namespaces/spec.ts';
import { ioStatsV1 } from '../controllers/blkio.ts';
import { cpuUsageV1 } from '../controllers/cpu.ts';
import { inheritCpusetV1 } from '../controllers/cpuset.ts';
import {
  freezerStateV1, setFrozenV1, type FreezerState,
} from '../controllers/freezer.ts';
import { CONTROLLERS } from '../controllers/index.ts';
import { refuseUnifiedV1 } from '../controllers/unified.ts';
import { memoryStatsV1 } from '../controllers/memory.ts';
import { pidsStats } from '../controllers/pids.ts';
import {
  removeCgroupDir, SETTLE_MS, signalEach, waitFor,
} from './common.ts';
import {
  CgroupError, parsePids, tryReadCgroupFile, writeCgroupFile,
} from './fs.ts';
import type { Cgroup, CgroupStats } from './manager.ts';
import type { Hierarchies } from './mode.ts';
import { CgroupV2 } from './v2.ts';

/** The v1 hierarchies a container joins, when the host has them. */
export const V1_HIERARCHIES = ['cpu', 'cpuacct', 'cpuset', 'memory',
  'devices', 'freezer', 'blkio', 'pids'];

/** Joined only when the resources ask for them (few containers do). */
const ON_DEMAND = ['hugetlb', 'net_cls', 'net_prio', 'rdma'];

export class CgroupV1 implements Cgroup {
  readonly version = 1 as const;

  private constructor(
    readonly path: string,
    /** hierarchy name -> this cgroup's directory in it. */
    private readonly hier: Map<string, string>,
    /** Hybrid hosts: its directory in the cgroup2 tree, if it has one. */
    private readonly unified?: string,
  ) {}

  get dirs(): string[] {
    const dirs = new Set(this.hier.values()); // co-mounted: cpu,cpuacct
    if (this.unified) dirs.add(this.unified);
    return [...dirs];
  }

  // #region v1-create
  static create(h: Hierarchies, path: string, wanted: string[]): CgroupV1 {
    // Each controller's hierarchy, or on a hybrid host its place in the
    // cgroup2 tree (hugetlb, often): else the host cannot do it.
    const { extra, inUnified } = placeControllers(h, wanted);
    const unified = inUnified.length ? join(h.unified!, path) : undefined;
    const cg = CgroupV1.at(h, path, extra, unified);
    for (const dir of cg.dirs) {
      if (existsSync(dir)) {
        throw new CgroupError(`create cgroup ${dir}: EEXIST`);
      }
    }
    if (unified) CgroupV2.create(h.unified!, path, inUnified);
    try {
      for (const [name, dir] of cg.hier) {
        mkdirSync(dir, { recursive: true });
        // cpuset: every level, from the mount down, must have CPUs and
        // memory nodes before a process can join the leaf.
        if (name === 'cpuset') cpusetDownFrom(h.v1.get('cpuset')!, path);
      }
    } catch (err) {
      removeEmpty(cg.dirs);
      throw err;
    }
    return cg;
  }
  // #endregion

  static open(h: Hierarchies, path: string): CgroupV1 {
    const joined = ON_DEMAND.filter((name) => h.v1.has(name) &&
      existsSync(join(h.v1.get(name)!, path)));
    const unified = h.unified && existsSync(join(h.unified, path))
      ? join(h.unified, path) : undefined;
    const cg = CgroupV1.at(h, path, joined, unified);
    if (!cg.dirs.some((d) => existsSync(d))) {
      throw new CgroupError(`cgroup ${path}: no such cgroup`);
    }
    return cg;
  }

  private static at(h: Hierarchies, path: string, extra: string[],
    unified?: string): CgroupV1 {
    const hier = new Map<string, string>();
    for (const name of [...V1_HIERARCHIES, ...extra]) {
      const mount = h.v1.get(name);
      if (mount) hier.set(name, join(mount, path));
    }
    return new CgroupV1(path, hier, unified);
  }

  // #region v1-add
  addProcess(pid: number): void {
    for (const dir of this.dirs) writeCgroupFile(dir, 'cgroup.procs', pid);
  }
  // #endregion

  async apply(r: LinuxResources): Promise<void> {
    refuseUnifiedV1(r);
    for (const ctl of CONTROLLERS) {
      if (!ctl.v1 || !ctl.wanted(r)) continue;
      const dir = this.hier.get(ctl.v1);
      if (dir) ctl.applyV1(dir, r);
      else if (this.unified && ctl.v2) ctl.applyV2(this.unified, r);
      else {
        throw new CgroupError(`cgroup ${this.path}: not in a ${ctl.v1} ` +
          'hierarchy (cgroup v1)');
      }
    }
  }

  stats(): CgroupStats {
    const dir = (name: string) => this.hier.get(name);
    const mem = dir('memory');
    const pidsDir = dir('pids');
    const blk = dir('blkio');
    return {
      cpuUsageNs: dir('cpuacct') ? cpuUsageV1(dir('cpuacct')!) : 0,
      ...(mem ? memoryStatsV1(mem) : { memoryBytes: 0,
        memoryCacheBytes: 0, memoryLimit: null, memoryPeakBytes: 0,
        oomKills: 0 }),
      ...(pidsDir ? pidsStats(pidsDir)
        : { pids: this.procs().length, pidsLimit: null }),
      ...(blk ? ioStatsV1(blk) : { ioReadBytes: 0, ioWriteBytes: 0 }),
    };
  }

  procs(): number[] {
    // Every hierarchy lists the same processes; any one will do.
    for (const dir of this.dirs) {
      const text = tryReadCgroupFile(dir, 'cgroup.procs');
      if (text !== undefined) return parsePids(text);
    }
    return [];
  }

  // #region v1-freeze
  async freeze(): Promise<void> {
    const dir = this.freezerDir();
    // A task in uninterruptible sleep can keep it FREEZING: ask again.
    const ok = await waitFor(() => {
      setFrozenV1(dir, true);
      return freezerStateV1(dir) === 'frozen';
    });
    if (!ok) {
      setFrozenV1(dir, false);
      throw new CgroupError(`freeze cgroup ${dir}: still freezing`);
    }
  }
  // #endregion

  async thaw(): Promise<void> {
    const dir = this.freezerDir();
    setFrozenV1(dir, false);
    await waitFor(() => freezerStateV1(dir) === 'thawed');
  }

  state(): FreezerState {
    const dir = this.hier.get('freezer');
    return dir && existsSync(dir) ? freezerStateV1(dir) : 'thawed';
  }

  // #region v1-kill
  async killAll(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    // Freeze first, so nothing can fork while we walk the list. A task
    // the kernel parks (out of memory with the OOM killer disabled)
    // never freezes, yet SIGKILL reaches it: then signal unfrozen.
    const freezer = this.hier.get('freezer');
    const frozen = freezer !== undefined && existsSync(freezer) &&
      await this.freeze().then(() => true, () => false);
    try {
      signalEach(this.procs(), signal);
    } finally {
      if (frozen) await this.thaw();
    }
    if (signal !== 'SIGKILL') return;
    if (!await waitFor(() => this.procs().length === 0, SETTLE_MS)) {
      throw new CgroupError(`kill processes of cgroup ${this.path}: ` +
        `${this.procs().length} still running`);
    }
  }
  // #endregion

  async destroy(): Promise<void> {
    if (this.procs().length > 0) await this.killAll();
    for (const dir of this.dirs) await removeCgroupDir(dir);
  }

  private freezerDir(): string {
    const dir = this.hier.get('freezer');
    if (!dir) throw new CgroupError('cgroup: the host has no freezer ' +
      'controller (cgroup v1)');
    return dir;
  }
}

/**
 * Where each wanted controller goes: `extra`, the on-demand v1
 * hierarchies to join; `inUnified`, the v2 controllers that a hybrid
 * host keeps in its cgroup2 tree instead of a v1 hierarchy.
 */
function placeControllers(h: Hierarchies, wanted: string[]):
  { extra: string[]; inUnified: string[] } {
  const extra: string[] = [];
  const inUnified: string[] = [];
  const offered = h.unified ? (tryReadCgroupFile(h.unified,
    'cgroup.controllers') ?? '').split(/\s+/) : [];
  for (const name of wanted) {
    const ctl = CONTROLLERS.find((c) => c.name === name)!;
    if (!ctl.v1) continue;
    if (h.v1.has(ctl.v1)) extra.push(ctl.v1);
    else if (ctl.v2 && offered.includes(ctl.v2)) inUnified.push(ctl.v2);
    else {
      throw new CgroupError(`cgroup: the host has no ${ctl.v1} ` +
        'controller (cgroup v1)');
    }
  }
  return { extra, inUnified };
}

/** rmdir(2) of cgroups just made, which hold nothing yet. */
function removeEmpty(dirs: string[]): void {
  for (const dir of dirs) {
    try { rmdirSync(dir); } catch { /* not made, or already gone */ }
  }
}

/** Gives each level of `path` under the cpuset mount its parent's sets. */
function cpusetDownFrom(mount: string, path: string): void {
  let dir = mount;
  for (const part of path.split('/').filter(Boolean)) {
    dir = join(dir, part);
    inheritCpusetV1(dir);
  }
}
