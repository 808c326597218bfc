// memory: a hard limit on RAM (and swap), and the OOM kills it causes.
// v1: memory.limit_in_bytes, memory.memsw.limit_in_bytes (RAM + swap,
//     present when the kernel accounts swap), memory.oom_control.
// v2: memory.max, memory.swap.max (swap alone), memory.events.
import type { LinuxResources } from '../../02-namespaces/spec.ts';
import {
  hasCgroupFile, parseKeyed, readCgroupFile, tryReadCgroupFile,
  writeCgroupFile,
} from '../cgroups/fs.ts';
import { v1Limit, v2Limit, type Controller } from './controller.ts';

export interface MemoryStats {
  memoryBytes: number;
  /** Inactive page cache, which `docker stats` subtracts from usage. */
  memoryCacheBytes: number;
  memoryLimit: number | null;
  /** The most it ever held (0 where the kernel does not say). */
  memoryPeakBytes: number;
  oomKills: number;
}

// #region memory
export const memory: Controller = {
  name: 'memory', v1: 'memory', v2: 'memory',
  wanted: (r) => r.memory !== undefined,
  applyV1(dir, r) {
    const m = r.memory ?? {};
    // The kernel refuses memsw < limit, so the order of writes matters
    // (writeLimitsV1): a fresh cgroup starts with both unlimited, a
    // live update (docker update) may raise or lower either.
    const swap = m.swap ?? m.limit; // Absent: no swap beyond the limit.
    writeLimitsV1(dir, m.limit, swap);
    if (m.reservation !== undefined) {
      writeCgroupFile(dir, 'memory.soft_limit_in_bytes', m.reservation);
    }
  },
  applyV2(dir, r) {
    const m = r.memory ?? {};
    if (m.limit !== undefined) {
      writeCgroupFile(dir, 'memory.max', limitV2(m.limit));
      // OCI's swap is RAM + swap; v2's memory.swap.max is swap alone.
      const swap = m.swap === undefined ? 0
        : m.swap < 0 ? 'max' : Math.max(0, m.swap - m.limit);
      if (hasCgroupFile(dir, 'memory.swap.max')) {
        writeCgroupFile(dir, 'memory.swap.max', swap);
      }
    }
    if (m.reservation !== undefined) {
      writeCgroupFile(dir, 'memory.low', limitV2(m.reservation));
    }
  },
};
// #endregion

/**
 * memory.limit_in_bytes and memory.memsw.limit_in_bytes (RAM + swap),
 * in the order the kernel accepts: it keeps limit <= memsw at every
 * write, so RAM+swap goes first when it is at least the current limit
 * (runc's setMemoryAndSwap does the same).
 */
function writeLimitsV1(dir: string, limit?: number, swap?: number): void {
  const memsw = 'memory.memsw.limit_in_bytes';
  const writeLimit = () => {
    if (limit !== undefined) {
      writeCgroupFile(dir, 'memory.limit_in_bytes', limit);
    }
  };
  if (swap === undefined || !hasCgroupFile(dir, memsw)) return writeLimit();
  const current = v1Limit(tryReadCgroupFile(dir, 'memory.limit_in_bytes'));
  if (swap < 0 || current === null || swap >= current) {
    // Unlimited now: the limit first keeps memsw >= limit.
    if (current === null) writeLimit();
    writeCgroupFile(dir, memsw, swap);
    if (current !== null) writeLimit();
  } else {
    writeLimit();
    writeCgroupFile(dir, memsw, swap);
  }
}

function limitV2(n: number): string {
  return n < 0 ? 'max' : String(n);
}

// #region memory-stats
export function memoryStatsV1(dir: string): MemoryStats {
  const stat = parseKeyed(tryReadCgroupFile(dir, 'memory.stat'));
  const oom = parseKeyed(tryReadCgroupFile(dir, 'memory.oom_control'));
  return {
    memoryBytes: Number(readCgroupFile(dir, 'memory.usage_in_bytes')),
    memoryCacheBytes: stat.get('total_inactive_file') ?? 0,
    memoryLimit: v1Limit(tryReadCgroupFile(dir, 'memory.limit_in_bytes')),
    memoryPeakBytes: Number(tryReadCgroupFile(dir,
      'memory.max_usage_in_bytes') ?? 0),
    // Since Linux 4.13 oom_control counts the kills it made.
    oomKills: oom.get('oom_kill') ?? 0,
  };
}

export function memoryStatsV2(dir: string): MemoryStats {
  const stat = parseKeyed(tryReadCgroupFile(dir, 'memory.stat'));
  const events = parseKeyed(tryReadCgroupFile(dir, 'memory.events'));
  return {
    memoryBytes: Number(readCgroupFile(dir, 'memory.current')),
    memoryCacheBytes: stat.get('inactive_file') ?? 0,
    memoryLimit: v2Limit(tryReadCgroupFile(dir, 'memory.max')),
    // memory.peak: Linux 5.19.
    memoryPeakBytes: Number(tryReadCgroupFile(dir, 'memory.peak') ?? 0),
    oomKills: events.get('oom_kill') ?? 0,
  };
}
// #endregion
