// cpu: a hard cap (CFS bandwidth: quota per period) and a relative
// weight for when CPUs are contended.
// v1: cpu.cfs_period_us, cpu.cfs_quota_us, cpu.shares (2..262144, default
//     1024); usage from the separate cpuacct hierarchy (cpuacct.usage).
// v2: cpu.max ("quota period"), cpu.weight (1..10000, default 100),
//     usage from cpu.stat.
import {
  parseKeyed, readCgroupFile, tryReadCgroupFile, writeCgroupFile,
} from '../cgroups/fs.ts';
import type { Controller } from './controller.ts';

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
  wanted: (r) => r.cpu?.quota !== undefined ||
    r.cpu?.period !== undefined || r.cpu?.shares !== undefined,
  applyV1(dir, r) {
    const c = r.cpu ?? {};
    // The period first: the kernel checks quota against the period.
    if (c.period) writeCgroupFile(dir, 'cpu.cfs_period_us', c.period);
    if (c.quota !== undefined) {
      writeCgroupFile(dir, 'cpu.cfs_quota_us', c.quota > 0 ? c.quota : -1);
    }
    if (c.shares) writeCgroupFile(dir, 'cpu.shares', c.shares);
  },
  applyV2(dir, r) {
    const c = r.cpu ?? {};
    if (c.quota !== undefined || c.period !== undefined) {
      const quota = c.quota !== undefined && c.quota > 0
        ? String(c.quota) : 'max';
      writeCgroupFile(dir, 'cpu.max', `${quota} ${c.period || 100000}`);
    }
    if (c.shares) {
      writeCgroupFile(dir, 'cpu.weight', sharesToWeight(c.shares));
    }
  },
};
// #endregion

/** CPU time used by every process that ever ran in the cgroup, in ns. */
export function cpuUsageV1(cpuacctDir: string): number {
  return Number(readCgroupFile(cpuacctDir, 'cpuacct.usage'));
}

export function cpuUsageV2(dir: string): number {
  const stat = parseKeyed(tryReadCgroupFile(dir, 'cpu.stat'));
  return (stat.get('usage_usec') ?? 0) * 1000;
}
