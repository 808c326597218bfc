// Demo: chapter 02's container, in a cgroup, with `docker run`'s
// resource flags.
//
//   sudo npx tsx chapters/03-cgroups/run.ts [--memory 64m] [--cpus 0.5]
//     [--cpu-shares N] [--cpuset-cpus 0] [--pids-limit 64]
//     [--device-read-bps DEV:RATE] [--device-write-bps DEV:RATE]
//     [--cgroup-parent PATH] [--stats] [--trace] [--userns host|private]
//     [chapter 02's flags] <rootfs> <command> [args...]
//
// --stats prints what the cgroup accounted when the command ends;
// --trace prints every cgroup file the engine writes, as it writes it.
// Like `docker run`, every namespace but the user namespace
// (--userns private asks for one).
import { writeSync } from 'node:fs';
import { extend, type Flag, mainOf, UsageError } from
  '../02-namespaces/chain.ts';
import { demo as chapter02, type Options as Previous } from
  '../02-namespaces/run.ts';
import type { LinuxResources } from '../02-namespaces/spec.ts';
import { traceCgroupWrites } from './cgroups/fs.ts';
import type { CgroupStats } from './cgroups/manager.ts';
import {
  checkResources, RESOURCE_FLAGS, setResourceFlag,
} from './flags.ts';
import { type CgroupStep, cgroupStep } from './step.ts';

export interface Resources {
  resources: LinuxResources;
  /** `docker run --cgroup-parent`: where the container's cgroup goes. */
  cgroupParent?: string;
  stats: boolean;
  trace: boolean;
  /** The step, once made: --stats asks its cgroup. */
  cgroup?: CgroupStep;
}
export type Options = Previous & Resources;

const ARG: Record<string, string> = { '--memory': 'SIZE',
  '--memory-swap': 'SIZE', '--memory-reservation': 'SIZE',
  '--cpuset-cpus': 'LIST', '--cpuset-mems': 'LIST',
  '--device-cgroup-rule': 'RULE' };
const ALIAS: Record<string, string> = { '-m': '--memory',
  '-c': '--cpu-shares' };

/** One entry per flag of flags.ts; -m and -c share their long name's. */
function resourceFlags(): Record<string, Flag<Options>> {
  const flags: Record<string, Flag<Options>> = {};
  for (const name of RESOURCE_FLAGS) {
    const long = ALIAS[name] ?? name;
    flags[name] = flags[long] ??= {
      arg: ARG[long] ?? (long.startsWith('--device-') ? 'DEV:RATE' : 'N'),
      set: (o, v) => setResourceFlag(o.resources, long, v),
    };
  }
  return flags;
}

// #region parse
const flags: Record<string, Flag<Options>> = {
  ...resourceFlags(),
  '--cgroup-parent': { arg: 'PATH',
    set: (o, v) => { o.cgroupParent = v; } },
  '--stats': { set: (o) => { o.stats = true; } },
  '--trace': { set: (o) => { o.trace = true; } },
  '--userns': { arg: 'host|private', set(o, v) {
    if (v !== 'host' && v !== 'private') {
      throw new UsageError(`--userns "${v}": "host" or "private"`);
    }
    if (v === 'host') o.off.add('user');
    else o.off.delete('user');
  } },
};
// #endregion

// #region main
export const demo = extend<Previous, Resources>(chapter02, {
  flags,
  options(previous) {
    previous.off.add('user'); // as docker run: no user namespace
    return { resources: {}, stats: false, trace: false };
  },
  parsed(o) {
    checkResources(o.resources);
    if (o.trace) traceCgroupWrites(printWrite);
  },
  spec(spec, o) {
    spec.linux.resources = o.resources;
  },
  steps: (o) => [o.cgroup = cgroupStep({ parent: o.cgroupParent })],
  exited(o) {
    const cg = o.cgroup?.cgroup;
    if (o.stats && cg) say(formatStats(cg.stats()));
  },
});
// #endregion

/**
 * Writes a line to stderr at once. A reader who pipes it into `head`
 * closes it early: that must not crash the engine mid-start (a stream's
 * EPIPE would, leaving the cgroup behind), so the line is dropped.
 */
function say(line: string): void {
  try {
    writeSync(2, `${line}\n`);
  } catch { /* stderr closed: nobody is listening */ }
}

/** "memory/skiff/ab12/memory.max <- 33554432", under /sys/fs/cgroup. */
function printWrite(path: string, value: string): void {
  say(`cgroup: ${path.replace(/^\/sys\/fs\/cgroup\//, '')} <- ${value}`);
}

function mib(n: number | null): string {
  return n === null ? 'none' : `${(n / 2 ** 20).toFixed(1)}MiB`;
}

/** Two lines of what the cgroup accounted, as --stats prints them. */
export function formatStats(s: CgroupStats): string {
  return `cgroup: cpu ${(s.cpuUsageNs / 1e9).toFixed(2)}s; ` +
    `memory ${mib(s.memoryBytes)}, peak ${mib(s.memoryPeakBytes)}, ` +
    `limit ${mib(s.memoryLimit)}; oom kills ${s.oomKills}\n` +
    `cgroup: pids ${s.pids}, limit ${s.pidsLimit ?? 'none'}; ` +
    `io read ${mib(s.ioReadBytes)}, write ${mib(s.ioWriteBytes)}`;
}

mainOf(import.meta.url, demo);
