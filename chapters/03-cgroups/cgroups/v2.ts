// cgroup v2: one tree for every controller. A cgroup is one directory;
// a controller is available in it only if its parent lists the
// controller in cgroup.subtree_control, and (the no-internal-process
// rule) a cgroup that hands controllers down to children may not hold
// processes itself, the root excepted.
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { LinuxResources } from '../../02-namespaces/spec.ts';
import { ioStatsV2 } from '../controllers/blkio.ts';
import { cpuUsageV2 } from '../controllers/cpu.ts';
import {
  freezerStateV2, setFrozenV2, type FreezerState,
} from '../controllers/freezer.ts';
import { CONTROLLERS } from '../controllers/index.ts';
import { memoryStatsV2 } from '../controllers/memory.ts';
import { pidsStats } from '../controllers/pids.ts';
import {
  removeCgroupDir, SETTLE_MS, signalEach, waitFor,
} from './common.ts';
import {
  CgroupError, hasCgroupFile, parsePids, tryReadCgroupFile,
  writeCgroupFile,
} from './fs.ts';
import type { Cgroup, CgroupStats } from './manager.ts';

/** The controllers a container's cgroup gets, when the host has them. */
export const V2_CONTROLLERS = ['cpuset', 'cpu', 'io', 'memory', 'pids'];

export class CgroupV2 implements Cgroup {
  readonly version = 2 as const;
  readonly dirs: readonly string[];

  private constructor(readonly path: string, readonly dir: string) {
    this.dirs = [dir];
  }

  // #region v2-create
  /** `needs`: the v2 controllers the resources ask for ("memory", ...). */
  static create(root: string, path: string, needs: string[]): CgroupV2 {
    const dir = join(root, path);
    if (existsSync(dir)) throw new CgroupError(`create cgroup ${dir}: EEXIST`);
    // Walk down from the root: each level hands the controllers on to
    // the next through its cgroup.subtree_control.
    let parent = root;
    for (const part of path.split('/').filter(Boolean)) {
      delegate(parent, root, needs);
      parent = join(parent, part);
      if (parent !== dir) mkdirSync(parent, { recursive: true });
    }
    const have = controllersOf(dirname(dir), 'cgroup.subtree_control');
    for (const name of needs) {
      if (!have.includes(name)) {
        throw new CgroupError(`cgroup: the host has no ${name} ` +
          'controller (cgroup v2)');
      }
    }
    mkdirSync(dir);
    return new CgroupV2(path, dir);
  }
  // #endregion

  static open(root: string, path: string): CgroupV2 {
    const dir = join(root, path);
    if (!existsSync(dir)) {
      throw new CgroupError(`cgroup ${path}: no such cgroup`);
    }
    return new CgroupV2(path, dir);
  }

  addProcess(pid: number): void {
    writeCgroupFile(this.dir, 'cgroup.procs', pid);
  }

  async apply(r: LinuxResources): Promise<void> {
    for (const ctl of CONTROLLERS) {
      if (ctl.wanted(r)) ctl.applyV2(this.dir, r);
    }
  }

  stats(): CgroupStats {
    const d = this.dir;
    const has = (f: string) => hasCgroupFile(d, f);
    return {
      cpuUsageNs: cpuUsageV2(d),
      ...(has('memory.current') ? memoryStatsV2(d) : { memoryBytes: 0,
        memoryCacheBytes: 0, memoryLimit: null, memoryPeakBytes: 0,
        oomKills: 0 }),
      ...(has('pids.current') ? pidsStats(d)
        : { pids: this.procs().length, pidsLimit: null }),
      ...ioStatsV2(d),
    };
  }

  procs(): number[] {
    return parsePids(tryReadCgroupFile(this.dir, 'cgroup.procs'));
  }

  // #region v2-freeze
  async freeze(): Promise<void> {
    if (!hasCgroupFile(this.dir, 'cgroup.freeze')) {
      throw new CgroupError('cgroup: this kernel has no cgroup v2 ' +
        'freezer (cgroup.freeze, Linux 5.2)');
    }
    setFrozenV2(this.dir, true);
    if (!await waitFor(() => freezerStateV2(this.dir) === 'frozen')) {
      throw new CgroupError(`freeze cgroup ${this.dir}: still freezing`);
    }
  }
  // #endregion

  async thaw(): Promise<void> {
    if (!hasCgroupFile(this.dir, 'cgroup.freeze')) return;
    setFrozenV2(this.dir, false);
    await waitFor(() => freezerStateV2(this.dir) === 'thawed');
  }

  state(): FreezerState {
    return existsSync(this.dir) ? freezerStateV2(this.dir) : 'thawed';
  }

  // #region v2-kill
  async killAll(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (signal === 'SIGKILL' && hasCgroupFile(this.dir, 'cgroup.kill')) {
      // Linux 5.14: the kernel kills the whole subtree, forks included.
      writeCgroupFile(this.dir, 'cgroup.kill', 1);
    } else {
      const frozen = this.state() === 'frozen';
      if (!frozen) await this.freeze().catch(() => {});
      try {
        signalEach(this.procs(), signal);
      } finally {
        if (!frozen) await this.thaw();
      }
    }
    if (signal !== 'SIGKILL') return;
    if (!await waitFor(() => this.procs().length === 0, SETTLE_MS)) {
      throw new CgroupError(`kill processes of cgroup ${this.path}: ` +
        `${this.procs().length} still running`);
    }
  }
  // #endregion

  async destroy(): Promise<void> {
    if (!existsSync(this.dir)) return;
    if (this.procs().length > 0) await this.killAll();
    await removeCgroupDir(this.dir);
  }
}

function controllersOf(dir: string, file: string): string[] {
  return (tryReadCgroupFile(dir, file) ?? '').split(/\s+/).filter(Boolean);
}

// #region delegate
/**
 * Enables in `dir`'s cgroup.subtree_control each container controller
 * (and each one `needs` names) that `dir` itself has. One write per
 * controller: a write naming one the kernel cannot enable fails whole.
 */
function delegate(dir: string, root: string, needs: string[]): void {
  const available = controllersOf(dir, 'cgroup.controllers');
  const enabled = controllersOf(dir, 'cgroup.subtree_control');
  const missing = [...new Set([...V2_CONTROLLERS, ...needs])].filter(
    (name) => available.includes(name) && !enabled.includes(name));
  if (missing.length === 0) return;
  // The no-internal-process rule: a cgroup other than the root that
  // holds processes cannot hand controllers down. The kernel says EBUSY,
  // or EOPNOTSUPP once a threaded controller (cpu, cpuset, pids) made it
  // a "thread root": say why instead, and before changing anything.
  if (dir !== root && parsePids(tryReadCgroupFile(dir,
    'cgroup.procs')).length > 0) {
    throw new CgroupError(`enable ${missing.join(', ')} in ${dir}/` +
      'cgroup.subtree_control: EBUSY: the cgroup holds processes of ' +
      'its own (the no-internal-process rule)');
  }
  for (const name of missing) {
    writeCgroupFile(dir, 'cgroup.subtree_control', `+${name}`);
  }
}
// #endregion
