// Demo: chapter 02's container, with `docker run`'s resource flags.
//
//   sudo npx tsx chapters/03-cgroups/run.ts [--memory 64m] [--cpus 0.5]
//     [--cpu-shares N] [--cpuset-cpus 0] [--pids-limit 64]
//     [--device-read-bps DEV:RATE] [--device-write-bps DEV:RATE]
//     [--stats] [--trace] [--userns] [--no-net] ...
//     <rootfs> <command> [args...]
//
// --stats prints what the cgroup accounted when the command ends;
// --trace prints every cgroup file the engine writes, as it writes it.
// Like `docker run`, every namespace but the user namespace (--userns).
import { randomBytes } from 'node:crypto';
import { writeSync } from 'node:fs';
import { exitWithError } from '../01-chroot/fail.ts';
import { ALL_NAMESPACES, defaultSpec } from '../02-namespaces/defaults.ts';
import type { NamespaceType } from '../02-namespaces/spec.ts';
import { startContainer } from '../02-namespaces/start.ts';
import { traceCgroupWrites } from './cgroups/fs.ts';
import type { CgroupStats } from './cgroups/manager.ts';
import {
  checkResources, FlagError, RESOURCE_FLAGS, setResourceFlag,
} from './flags.ts';
import { cgroupStep } from './step.ts';

const USAGE = 'usage: run.ts [--memory SIZE] [--cpus N] [--cpu-shares N] ' +
  '[--cpuset-cpus LIST] [--pids-limit N] [--device-read-bps DEV:RATE] ' +
  '[--device-write-bps DEV:RATE] [--stats] [--trace] [--userns] ' +
  '[--no-NS] [--hostname NAME] ' +
  '<rootfs> <command> [args...]';

/** "--no-user", "--no-net", "--no-mnt": chapter 02's namespace switches. */
function namespaceOf(flag: string): NamespaceType | undefined {
  const short: Record<string, NamespaceType> = { mnt: 'mount', net: 'network' };
  const name = flag.slice('--no-'.length);
  const ns = (short[name] ?? name) as NamespaceType;
  return flag.startsWith('--no-') && ALL_NAMESPACES.includes(ns)
    ? ns : undefined;
}

// #region parse
function parse(argv: string[]) {
  const resources = {};
  let hostname: string | undefined;
  let stats = false;
  let trace = false;
  const off = new Set<NamespaceType>(['user']);
  let i = 0;
  for (; i < argv.length && argv[i].startsWith('-'); i++) {
    const [flag, inline] = argv[i].split(/=(.*)/s, 2);
    if (RESOURCE_FLAGS.includes(flag)) {
      const value = inline ?? argv[++i];
      if (value === undefined) throw new FlagError(`${flag} needs a value`);
      setResourceFlag(resources, flag, value);
    } else if (namespaceOf(flag)) off.add(namespaceOf(flag)!);
    else if (flag === '--stats') stats = true;
    else if (flag === '--trace') trace = true;
    else if (flag === '--userns') off.delete('user');
    else if (flag === '--hostname' && argv[i + 1]) hostname = argv[++i];
    else throw new FlagError(`unknown option "${flag}"\n${USAGE}`);
  }
  checkResources(resources);
  const [rootfs, ...args] = argv.slice(i);
  if (!rootfs || args.length === 0) throw new FlagError(USAGE);
  const namespaces = ALL_NAMESPACES.filter((ns) => !off.has(ns));
  return { rootfs, args, namespaces, hostname, resources, stats, trace };
}
// #endregion

// #region main
async function main(argv: string[]): Promise<number> {
  const o = parse(argv);
  if (o.trace) traceCgroupWrites(printWrite);
  const spec = defaultSpec(o);
  spec.linux.resources = o.resources;
  const id = randomBytes(6).toString('hex');
  const cgroup = cgroupStep();
  const container = await startContainer(spec, { id, steps: [cgroup] });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => container.kill(sig));
  }
  const status = await container.wait();
  if (o.stats && cgroup.cgroup) {
    say(formatStats(cgroup.cgroup.stats()));
  }
  await container.destroy();
  return status.code;
}
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

main(process.argv.slice(2)).then((code) => process.exit(code), exitWithError);
