// memory: a hard limit on RAM (and swap), and the OOM kills it causes.
// v1: memory.limit_in_bytes, memory.memsw.limit_in_bytes (RAM + swap,
//     present when the kernel accounts swap), memory.oom_control.
// v2: memory.max, memory.swap.max (swap alone), memory.events.
import type { LinuxResources } from '../../02-namespaces/spec.ts';
import {
  hasCgroupFile, parseKeyed, readCgroupFile, tryReadCgroupFile,
  writeCgroupFile,
} from '../cgroups/fs.ts';
import {
  unsupported, v1Limit, v2Limit, writeField, type Controller,
} from './controller.ts';

type Memory = NonNullable<LinuxResources['memory']>;

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
    if (m.checkBeforeUpdate) checkUsage(dir, m, 'memory.usage_in_bytes');
    // The kernel refuses memsw < limit, so the order of writes matters
    // (writeLimitsV1): a fresh cgroup starts with both unlimited, a
    // live update (docker update) may raise or lower either.
    const swap = m.swap ?? m.limit; // Absent: no swap beyond the limit.
    writeLimitsV1(dir, m.limit, swap);
    if (m.reservation !== undefined) {
      writeCgroupFile(dir, 'memory.soft_limit_in_bytes', m.reservation);
    }
    restV1(dir, m);
  },
  applyV2(dir, r) {
    const m = r.memory ?? {};
    refuseV1Only(m);
    if (m.checkBeforeUpdate) checkUsage(dir, m, 'memory.current');
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

/**
 * The rest of OCI's memory object, v1 only. kernel and kernelTCP are the
 * kmem limits: Linux 5.16 stopped enforcing memory.kmem.limit_in_bytes
 * (writes are accepted and ignored: cgroup-v1/memory.rst), and runc 1.1
 * ignores both with a warning ("Kernel memory settings are ignored",
 * libcontainer/specconv). We write them where the files exist and fail
 * naming the field where they do not.
 */
function restV1(dir: string, m: Memory): void {
  if (m.kernel !== undefined) {
    writeField(dir, 'memory.kmem.limit_in_bytes', m.kernel, 'memory.kernel');
  }
  if (m.kernelTCP !== undefined) {
    writeField(dir, 'memory.kmem.tcp.limit_in_bytes', m.kernelTCP,
      'memory.kernelTCP');
  }
  if (m.swappiness !== undefined && m.swappiness !== -1) {
    // -1: unset, as Docker and runc read it.
    if (!(m.swappiness >= 0 && m.swappiness <= 100)) {
      throw unsupported('memory.swappiness', `${m.swappiness}: not ` +
        'between 0 and 100');
    }
    writeField(dir, 'memory.swappiness', m.swappiness, 'memory.swappiness');
  }
  if (m.disableOOMKiller !== undefined) {
    writeField(dir, 'memory.oom_control', m.disableOOMKiller ? 1 : 0,
      'memory.disableOOMKiller');
  }
  if (m.useHierarchy !== undefined) {
    // The kernel dropped the non-hierarchical mode in 2020: it keeps 1,
    // and a write of 0 fails with EINVAL, reported as such.
    writeField(dir, 'memory.use_hierarchy', m.useHierarchy ? 1 : 0,
      'memory.useHierarchy');
  }
}

/**
 * What v2 has no file for. runc 1.1 drops these silently on v2; the
 * runtime spec does not say they MAY be ignored, so they fail, naming
 * the field, before anything is written. Values that ask for v2's own
 * behaviour (-1, false, true for useHierarchy) are accepted.
 */
function refuseV1Only(m: Memory): void {
  const v1Only = (field: string, why: string) => {
    throw unsupported(`memory.${field}`, `cgroup v2 ${why}`);
  };
  if (m.kernel !== undefined && m.kernel !== -1) {
    v1Only('kernel', 'has no kernel memory limit (memory.max counts it)');
  }
  if (m.kernelTCP !== undefined && m.kernelTCP !== -1) {
    v1Only('kernelTCP', 'has no TCP buffer limit (memory.max counts it)');
  }
  if (m.swappiness !== undefined && m.swappiness !== -1) {
    v1Only('swappiness', 'has no per-cgroup swappiness');
  }
  if (m.disableOOMKiller) v1Only('disableOOMKiller', 'cannot turn the ' +
    'OOM killer off');
  if (m.useHierarchy === false) v1Only('useHierarchy', 'accounting is ' +
    'always hierarchical');
}

/**
 * checkBeforeUpdate: a limit below the usage must be refused. v2 would
 * OOM-kill to meet it, v1 would swap out (or refuse, EBUSY, without
 * swap): check first, on both, as runc's CheckMemoryUsage does.
 */
function checkUsage(dir: string, m: Memory, usageFile: string): void {
  const usage = Number(tryReadCgroupFile(dir, usageFile) ?? 0);
  for (const [field, value] of [['limit', m.limit], ['swap', m.swap]] as
    const) {
    if (value !== undefined && value > 0 && value <= usage) {
      throw unsupported(`memory.${field}`, `${value} is not above the ` +
        `usage of ${dir}, ${usage} bytes (checkBeforeUpdate)`);
    }
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
