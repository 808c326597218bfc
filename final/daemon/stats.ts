// `docker stats`: chapter 03's cgroup accounting in the Docker API's
// JSON (GET /containers/{id}/stats). The CLI turns two samples into
// percentages, as docker's does: CPU% is the container's CPU time over
// the whole machine's in the same interval, times the number of CPUs.
import { readFileSync } from 'node:fs';
import os from 'node:os';
import type { Container } from './container/container.ts';
import type { Engine } from './engine.ts';

export interface CpuSample {
  cpu_usage: { total_usage: number };
  system_cpu_usage: number;
  online_cpus: number;
}

export interface StatsDoc {
  id: string;
  name: string;
  read: string;
  preread: string;
  cpu_stats: CpuSample;
  precpu_stats: CpuSample;
  memory_stats: { usage: number; limit: number;
    stats: { inactive_file: number }; failcnt?: number };
  pids_stats: { current: number; limit?: number };
  blkio_stats: { io_service_bytes_recursive:
    { major: number; minor: number; op: string; value: number }[] };
  networks: Record<string, { rx_bytes: number; tx_bytes: number }>;
}

/** All CPUs' time since boot in ns: /proc/stat's first line (USER_HZ). */
function systemCpuNs(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0];
  const ticks = line.split(/\s+/).slice(1, 8).map(Number)
    .reduce((a, b) => a + b, 0);
  return ticks * 1e7; // USER_HZ is 100 on Linux: 10 ms a tick
}

/** The container's interfaces, from its network namespace's view. */
function networks(pid: number): StatsDoc['networks'] {
  const out: StatsDoc['networks'] = {};
  try {
    const lines = readFileSync(`/proc/${pid}/net/dev`, 'utf8').split('\n');
    for (const l of lines.slice(2)) {
      const [name, rest] = l.split(':');
      if (!rest || name.trim() === 'lo') continue;
      const f = rest.trim().split(/\s+/).map(Number);
      out[name.trim()] = { rx_bytes: f[0], tx_bytes: f[8] };
    }
  } catch { /* gone */ }
  return out;
}

const EMPTY_CPU: CpuSample = { cpu_usage: { total_usage: 0 },
  system_cpu_usage: 0, online_cpus: 0 };

// #region stats
export function containerStats(engine: Engine, x: Container,
  prev?: StatsDoc): StatsDoc {
  const now = new Date().toISOString();
  const doc: StatsDoc = {
    id: x.id, name: x.rec.Name, read: now, preread: prev?.read ?? now,
    cpu_stats: EMPTY_CPU, precpu_stats: prev?.cpu_stats ?? EMPTY_CPU,
    memory_stats: { usage: 0, limit: 0, stats: { inactive_file: 0 } },
    pids_stats: { current: 0 }, networks: {},
    blkio_stats: { io_service_bytes_recursive: [] },
  };
  if (!x.isRunning) return doc;
  const s = engine.runtime.cgroup(x.spec(), x.id).stats();
  doc.cpu_stats = { cpu_usage: { total_usage: s.cpuUsageNs },
    system_cpu_usage: systemCpuNs(), online_cpus: os.cpus().length };
  doc.memory_stats = { usage: s.memoryBytes,
    limit: s.memoryLimit ?? os.totalmem(),
    stats: { inactive_file: s.memoryCacheBytes } };
  doc.pids_stats = { current: s.pids, limit: s.pidsLimit ?? undefined };
  doc.blkio_stats.io_service_bytes_recursive = [
    { major: 0, minor: 0, op: 'read', value: s.ioReadBytes },
    { major: 0, minor: 0, op: 'write', value: s.ioWriteBytes },
  ];
  doc.networks = networks(x.rec.State.Pid);
  return doc;
}
// #endregion
