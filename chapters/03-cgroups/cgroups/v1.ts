// cgroup v1: one hierarchy (one mounted tree) per controller. A cgroup
// "/skiff/abc" is really eight directories, /sys/fs/cgroup/memory/skiff/abc,
// /sys/fs/cgroup/cpu/skiff/abc, ..., and a process must be written into
// each of them. Each hierarchy has its own files and its own quirks.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { LinuxResources } from '../../02-namespaces/spec.ts';
import { ioStatsV1 } from '../controllers/blkio.ts';
import { cpuUsageV1 } from '../controllers/cpu.ts';
import { inheritCpusetV1 } from '../controllers/cpuset.ts';
import {
  freezerStateV1, setFrozenV1, type FreezerState,
} from '../controllers/freezer.ts';
import { CONTROLLERS } from '../controllers/index.ts';
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

/** The v1 hierarchies a container joins, when the host has them. */
export const V1_HIERARCHIES = ['cpu', 'cpuacct', 'cpuset', 'memory',
  'devices', 'freezer', 'blkio', 'pids'];

export class CgroupV1 implements Cgroup {
  readonly version = 1 as const;

  private constructor(
    readonly path: string,
    /** hierarchy name -> this cgroup's directory in it. */
    private readonly hier: Map<string, string>,
  ) {}

  get dirs(): string[] {
    return [...new Set(this.hier.values())]; // co-mounted: cpu,cpuacct
  }

  // #region v1-create
  static create(h: Hierarchies, path: string, wanted: string[]): CgroupV1 {
    for (const name of wanted) {
      const ctl = CONTROLLERS.find((c) => c.name === name)!;
      if (ctl.v1 && !h.v1.has(ctl.v1)) {
        throw new CgroupError(`cgroup: the host has no ${ctl.v1} ` +
          'controller (cgroup v1)');
      }
    }
    const cg = CgroupV1.at(h, path);
    for (const dir of cg.dirs) {
      if (existsSync(dir)) {
        throw new CgroupError(`create cgroup ${dir}: EEXIST`);
      }
    }
    for (const [name, dir] of cg.hier) {
      mkdirSync(dir, { recursive: true });
      // cpuset: every level, from the mount down, must have CPUs and
      // memory nodes before a process can join the leaf.
      if (name === 'cpuset') cpusetDownFrom(h.v1.get('cpuset')!, path);
    }
    return cg;
  }
  // #endregion

  static open(h: Hierarchies, path: string): CgroupV1 {
    const cg = CgroupV1.at(h, path);
    if (!cg.dirs.some((d) => existsSync(d))) {
      throw new CgroupError(`cgroup ${path}: no such cgroup`);
    }
    return cg;
  }

  private static at(h: Hierarchies, path: string): CgroupV1 {
    const hier = new Map<string, string>();
    for (const name of V1_HIERARCHIES) {
      const mount = h.v1.get(name);
      if (mount) hier.set(name, join(mount, path));
    }
    return new CgroupV1(path, hier);
  }

  // #region v1-add
  addProcess(pid: number): void {
    for (const dir of this.dirs) writeCgroupFile(dir, 'cgroup.procs', pid);
  }
  // #endregion

  async apply(r: LinuxResources): Promise<void> {
    for (const ctl of CONTROLLERS) {
      const dir = ctl.v1 && this.hier.get(ctl.v1);
      if (dir && ctl.wanted(r)) ctl.applyV1(dir, r);
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
    // Freeze first, so nothing can fork while we walk the list.
    const freezer = this.hier.get('freezer');
    const canFreeze = freezer !== undefined && existsSync(freezer);
    if (canFreeze) await this.freeze();
    try {
      signalEach(this.procs(), signal);
    } finally {
      if (canFreeze) await this.thaw();
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

/** Gives each level of `path` under the cpuset mount its parent's sets. */
function cpusetDownFrom(mount: string, path: string): void {
  let dir = mount;
  for (const part of path.split('/').filter(Boolean)) {
    dir = join(dir, part);
    inheritCpusetV1(dir);
  }
}
