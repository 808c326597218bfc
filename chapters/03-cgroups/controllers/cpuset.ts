// cpuset: which CPUs (and NUMA memory nodes) the processes may run on.
// v1: cpuset.cpus and cpuset.mems start EMPTY in a new cgroup, and the
//     kernel refuses to add a process until both are set: we copy them
//     from the parent, creating each level of the path that way.
// v2: empty means "inherit the parent's": only write what is asked.
import { join } from 'node:path';
import { CgroupError, readCgroupFile, writeCgroupFile } from '../cgroups/fs.ts';
import type { Controller } from './controller.ts';

// #region cpuset
export const cpuset: Controller = {
  name: 'cpuset', v1: 'cpuset', v2: 'cpuset',
  wanted: (r) => Boolean(r.cpu?.cpus || r.cpu?.mems),
  applyV1(dir, r) {
    if (r.cpu?.cpus) writeCpus(dir, r.cpu.cpus);
    if (r.cpu?.mems) writeCgroupFile(dir, 'cpuset.mems', r.cpu.mems);
  },
  applyV2(dir, r) {
    if (r.cpu?.cpus) writeCpus(dir, r.cpu.cpus);
    if (r.cpu?.mems) writeCgroupFile(dir, 'cpuset.mems', r.cpu.mems);
  },
};

/** Called by the v1 backend for every new directory of the path. */
export function inheritCpusetV1(dir: string): void {
  const parent = join(dir, '..');
  for (const file of ['cpuset.cpus', 'cpuset.mems']) {
    if (readCgroupFile(dir, file) === '') {
      writeCgroupFile(dir, file, readCgroupFile(parent, file));
    }
  }
}
// #endregion

function writeCpus(dir: string, cpus: string): void {
  try {
    writeCgroupFile(dir, 'cpuset.cpus', cpus);
  } catch (err) {
    // EINVAL: a CPU outside the parent's set (or offline).
    throw new CgroupError(`cpuset ${JSON.stringify(cpus)}: not a subset ` +
      `of the CPUs available to ${dir}`, { cause: err });
  }
}
