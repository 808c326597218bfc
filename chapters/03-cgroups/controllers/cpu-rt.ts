// Real-time group scheduling (v1 only, CONFIG_RT_GROUP_SCHED): a cgroup
// may run SCHED_FIFO/SCHED_RR tasks for cpu.rt_runtime_us out of every
// cpu.rt_period_us. A new cgroup gets a runtime of 0, and the kernel
// keeps each group's share (runtime / period) at least the sum of its
// children's (sched-rt-group.rst), so a container's budget must first
// be granted to every ancestor below the root. dockerd writes each
// parent too, with its own --cpu-rt-runtime (moby daemon_unix.go,
// initCPURtController); runc writes only the container's files.
import { readdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { LinuxResources } from '../../02-namespaces/spec.ts';
import {
  hasCgroupFile, readCgroupFile, tryReadCgroupFile, writeCgroupFile,
} from '../cgroups/fs.ts';
import { writeField } from './controller.ts';

type Cpu = NonNullable<LinuxResources['cpu']>;

const RUNTIME = 'cpu.rt_runtime_us';
const PERIOD = 'cpu.rt_period_us';

/** cpu.rt_period_us, then cpu.rt_runtime_us after the ancestors'. */
export function realtimeV1(dir: string, c: Cpu): void {
  if (c.realtimePeriod !== undefined) {
    writeField(dir, PERIOD, c.realtimePeriod, 'cpu.realtimePeriod');
  }
  if (c.realtimeRuntime === undefined) return;
  if (!hasCgroupFile(dir, RUNTIME)) {
    // Let writeField name the field and the missing file.
    writeField(dir, RUNTIME, c.realtimeRuntime, 'cpu.realtimeRuntime');
  }
  if (c.realtimeRuntime > 0) {
    const period = Number(readCgroupFile(dir, PERIOD));
    grantAncestors(dir, c.realtimeRuntime / period);
  }
  writeCgroupFile(dir, RUNTIME, c.realtimeRuntime);
}

/** A group's share of the CPU (runtime / period), -1 runtime = all. */
function share(dir: string): number {
  const runtime = Number(tryReadCgroupFile(dir, RUNTIME) ?? 0);
  const period = Number(tryReadCgroupFile(dir, PERIOD) ?? 1);
  return runtime < 0 ? 1 : runtime / period;
}

/** The hierarchy's root is the one cgroup with a release_agent file. */
function isRoot(dir: string): boolean {
  return hasCgroupFile(dir, 'release_agent');
}

/**
 * Raises each ancestor of `leaf` (not the root) to the sum of its
 * children's shares, counting `want` for the branch towards `leaf`.
 * Top-down, so every raise fits in the parent's share already raised;
 * never lowered, as other containers may hold their part of it.
 */
function grantAncestors(leaf: string, want: number): void {
  const needs: [string, number][] = [];
  let child = leaf;
  let need = want;
  for (let dir = dirname(leaf); !isRoot(dir) && dir !== '/';
    dir = dirname(dir)) {
    let sum = need;
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory() && e.name !== basename(child)) {
        sum += share(join(dir, e.name));
      }
    }
    need = Math.max(sum, share(dir));
    needs.unshift([dir, need]);
    child = dir;
  }
  for (const [dir, n] of needs) {
    if (n <= share(dir)) continue;
    const period = Number(readCgroupFile(dir, PERIOD));
    // Less a hair: 0.01 * 1e6 is 10000.000000000002 in floating point.
    writeCgroupFile(dir, RUNTIME, Math.ceil(n * period - 1e-6));
  }
}
