// cpu: a hard cap (CFS bandwidth: quota per period) and a relative
// weight for when CPUs are contended.
// v1: cpu.cfs_period_us, cpu.cfs_quota_us, cpu.shares (2..262144, default
//     1024); usage from the separate cpuacct hierarchy (cpuacct.usage).
// v2: cpu.max ("quota period"), cpu.weight (1..10000, default 100),
//     usage from cpu.stat.
// Both: cpu.idle; v1 alone: real-time budgets (cpu-rt.ts).
import type { LinuxResources } from '../../02-namespaces/spec.ts';
import {
  parseKeyed, readCgroupFile, tryReadCgroupFile, writeCgroupFile,
} from '../cgroups/fs.ts';
import { unsupported, writeField, type Controller } from './controller.ts';
import { realtimeV1 } from './cpu-rt.ts';

// #region shares-to-weight
/**
 * v1 shares [2, 262144] onto v2 weights [1, 10000], linearly, the way
 * runc and crun convert them, so 1024 (the default) becomes 39, not 100.
 */
export function sharesToWeight(shares: number): number {
  if (shares <= 0) return 0;
  return Math.floor(1 + ((shares - 2) * 9999) / 262142);
}
// #endregion

// #region cpu
export const cpu: Controller = {
  name: 'cpu', v1: 'cpu', v2: 'cpu',
  wanted: (r) => CPU_FIELDS.some((k) => r.cpu?.[k] !== undefined),
  applyV1(dir, r) {
    const c = r.cpu ?? {};
    // The period first: the kernel checks quota against the period.
    if (c.period) writeCgroupFile(dir, 'cpu.cfs_period_us', c.period);
    if (c.quota !== undefined) {
      writeCgroupFile(dir, 'cpu.cfs_quota_us', c.quota > 0 ? c.quota : -1);
    }
    if (c.shares) writeCgroupFile(dir, 'cpu.shares', c.shares);
    realtimeV1(dir, c);
    writeIdle(dir, c.idle);
  },
  applyV2(dir, r) {
    const c = r.cpu ?? {};
    for (const k of ['realtimeRuntime', 'realtimePeriod'] as const) {
      if (c[k] !== undefined) throw unsupported(`cpu.${k}`, 'cgroup v2 ' +
        'has no real-time group scheduling (cpu.rt_* are v1 only)');
    }
    if (c.quota !== undefined || c.period !== undefined) {
      const quota = c.quota !== undefined && c.quota > 0
        ? String(c.quota) : 'max';
      writeCgroupFile(dir, 'cpu.max', `${quota} ${c.period || 100000}`);
    }
    if (c.shares) {
      writeCgroupFile(dir, 'cpu.weight', sharesToWeight(c.shares));
    }
    writeIdle(dir, c.idle);
  },
};
// #endregion

type Cpu = NonNullable<LinuxResources['cpu']>;

/** The fields this controller writes (cpus and mems are cpuset's). */
const CPU_FIELDS = ['shares', 'quota', 'period', 'idle',
  'realtimeRuntime', 'realtimePeriod'] as const;


/** cpu.idle (Linux 5.15): 1 runs the cgroup's tasks as SCHED_IDLE. */
function writeIdle(dir: string, idle: number | undefined): void {
  // After the weight: the kernel refuses a weight for an idle group.
  if (idle !== undefined) writeField(dir, 'cpu.idle', idle, 'cpu.idle');
}

/** CPU time used by every process that ever ran in the cgroup, in ns. */
export function cpuUsageV1(cpuacctDir: string): number {
  return Number(readCgroupFile(cpuacctDir, 'cpuacct.usage'));
}

export function cpuUsageV2(dir: string): number {
  const stat = parseKeyed(tryReadCgroupFile(dir, 'cpu.stat'));
  return (stat.get('usage_usec') ?? 0) * 1000;
}
