// The resource flags of `docker run`, parsed into the OCI resources the
// cgroup manager applies. Shared by this chapter's demo and final/'s CLI.
//   --memory 64m  --memory-swap 128m  --cpus 0.5  --cpu-shares 512
//   --cpu-period/--cpu-quota  --cpuset-cpus 0-1  --cpuset-mems 0
//   --pids-limit 64  --device-read-bps /dev/loop0:1mb  (and write, iops)
//   --device-cgroup-rule 'b 7:* rw'
import { readFileSync, statSync } from 'node:fs';
import type {
  DeviceRule, LinuxResources, ThrottleDevice,
} from '../02-namespaces/spec.ts';
import { DEFAULT_DEVICE_RULES } from './controllers/devices.ts';
import { FlagError, invalid, parseSize } from './size.ts';

export { FlagError, parseSize };

// #region parse-cpus
/** "--cpus 0.5": half of one CPU per 100 ms period, as CFS quota. */
export function parseCpus(value: string, online = onlineCpus()):
  { quota: number; period: number } {
  const cpus = Number(value);
  if (value.trim() === '' || !Number.isFinite(cpus) || cpus <= 0) {
    throw invalid('--cpus', value, 'expected a number of CPUs above 0');
  }
  if (cpus > online.length) {
    throw invalid('--cpus', value, `this host has ${online.length} CPUs`);
  }
  const period = 100_000; // µs, the kernel's default CFS period
  return { quota: Math.max(1000, Math.round(cpus * period)), period };
}
// #endregion

/** A CPU list like "0-2,5" as numbers; throws on bad syntax. */
export function parseCpuList(list: string, flag = '--cpuset-cpus'): number[] {
  const out = new Set<number>();
  for (const part of list.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m || (m[2] !== undefined && Number(m[2]) < Number(m[1]))) {
      throw invalid(flag, list, 'expected a CPU list such as 0-1,3');
    }
    for (let c = Number(m[1]); c <= Number(m[2] ?? m[1]); c++) out.add(c);
  }
  return [...out].sort((a, b) => a - b);
}

/** The CPUs the kernel has online (/sys/devices/system/cpu/online). */
export function onlineCpus(): number[] {
  const text = readFileSync('/sys/devices/system/cpu/online', 'utf8');
  return parseCpuList(text.trim(), 'online');
}

// #region parse-cpuset
export function parseCpuset(value: string, online = onlineCpus()): string {
  for (const cpu of parseCpuList(value)) {
    if (!online.includes(cpu)) {
      throw invalid('--cpuset-cpus', value, `no CPU ${cpu} ` +
        `(online: ${formatCpuList(online)})`);
    }
  }
  return value;
}
// #endregion

export function formatCpuList(cpus: number[]): string {
  const runs: string[] = [];
  for (let i = 0; i < cpus.length;) {
    let j = i;
    while (j + 1 < cpus.length && cpus[j + 1] === cpus[j] + 1) j++;
    runs.push(i === j ? `${cpus[i]}` : `${cpus[i]}-${cpus[j]}`);
    i = j + 1;
  }
  return runs.join(',');
}

function parseInteger(flag: string, value: string, min: number): number {
  const n = Number(value);
  if (!/^-?\d+$/.test(value.trim()) || n < min) {
    throw invalid(flag, value, `expected an integer of at least ${min}`);
  }
  return n;
}

// #region parse-device
/** "/dev/loop3:1mb" -> { major: 7, minor: 3, rate: 1048576 }. */
export function parseDeviceRate(flag: string, value: string):
  ThrottleDevice {
  const at = value.lastIndexOf(':');
  if (at <= 0) throw invalid(flag, value, 'expected DEVICE:RATE');
  const path = value.slice(0, at);
  const rate = flag.endsWith('-iops')
    ? parseInteger(flag, value.slice(at + 1), 1)
    : parseSize(value.slice(at + 1), flag);
  let st;
  try {
    st = statSync(path, { bigint: true });
  } catch (err) {
    throw invalid(flag, value, `${path}: ` +
      `${(err as NodeJS.ErrnoException).code}`);
  }
  if (!st.isBlockDevice()) {
    throw invalid(flag, value, `${path} is not a block device`);
  }
  return { ...majorMinor(st.rdev), rate };
}
// #endregion

// #region parse-device-rule
/** "b 7:* rw": one more device the container may use (docker's syntax). */
export function parseDeviceRule(value: string): DeviceRule {
  const m = /^([abc]) (\d+|\*):(\d+|\*) ([rwm]{1,3})$/.exec(value.trim());
  if (!m) {
    throw invalid('--device-cgroup-rule', value,
      'expected TYPE MAJOR:MINOR ACCESS such as "b 7:* rw"');
  }
  const num = (x: string) => (x === '*' ? undefined : Number(x));
  return { allow: true, type: m[1] as DeviceRule['type'],
    major: num(m[2]), minor: num(m[3]), access: m[4] };
}
// #endregion

/** glibc's dev_t layout: major 12+20 bits, minor 8+24 bits. */
export function majorMinor(dev: bigint): { major: number; minor: number } {
  return {
    major: Number(((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn)),
    minor: Number((dev & 0xffn) | ((dev >> 12n) & ~0xffn)),
  };
}

type ThrottleKey = Extract<keyof NonNullable<LinuxResources['blockIO']>,
  `throttle${string}`>;

const DEVICE_FLAGS: Record<string, ThrottleKey> = {
  '--device-read-bps': 'throttleReadBpsDevice',
  '--device-write-bps': 'throttleWriteBpsDevice',
  '--device-read-iops': 'throttleReadIOPSDevice',
  '--device-write-iops': 'throttleWriteIOPSDevice',
};

/** Every flag setResourceFlag understands (all take a value). */
export const RESOURCE_FLAGS: readonly string[] = ['--memory', '-m',
  '--memory-swap', '--memory-reservation', '--cpus', '--cpu-shares', '-c',
  '--cpu-period', '--cpu-quota', '--cpuset-cpus', '--cpuset-mems',
  '--pids-limit', '--device-cgroup-rule', ...Object.keys(DEVICE_FLAGS)];

// #region minimums
/**
 * Docker's floor for --memory is 6m. Ours is higher, as is the one for
 * --pids-limit: the engine's init is a Node.js process (about 10 MiB and
 * 11 threads) that runs inside the container's cgroup until it becomes
 * the command, and dies at start under a tighter limit.
 */
export const MIN_MEMORY = 16 * 1024 ** 2;
export const MIN_PIDS = 16;
// #endregion

// #region set-flag
/** Applies one `docker run` resource flag to `r`; throws FlagError. */
export function setResourceFlag(r: LinuxResources, flag: string,
  value: string): void {
  const mem = () => (r.memory ??= {});
  const cpu = () => (r.cpu ??= {});
  switch (flag) {
    case '-m': case '--memory':
      mem().limit = parseSize(value, '--memory');
      if (mem().limit! < MIN_MEMORY) {
        throw invalid('--memory', value, 'the minimum is 16m (the ' +
          "engine's init starts inside the limit)");
      }
      return;
    case '--memory-swap':
      mem().swap = value === '-1' ? -1 : parseSize(value, flag);
      return;
    case '--memory-reservation':
      mem().reservation = parseSize(value, flag);
      return;
    case '--cpus': Object.assign(cpu(), parseCpus(value)); return;
    case '-c': case '--cpu-shares':
      cpu().shares = parseInteger('--cpu-shares', value, 2);
      return;
    case '--cpu-period': cpu().period = parseInteger(flag, value, 1000);
      return;
    case '--cpu-quota': cpu().quota = parseInteger(flag, value, -1);
      return;
    case '--cpuset-cpus': cpu().cpus = parseCpuset(value); return;
    case '--cpuset-mems': parseCpuList(value, flag); cpu().mems = value;
      return;
    // #endregion
    // #region set-flag-rest
    case '--pids-limit':
      r.pids = { limit: parseInteger(flag, value, -1) };
      if (r.pids.limit > 0 && r.pids.limit < MIN_PIDS) {
        throw invalid(flag, value, `the minimum is ${MIN_PIDS} (the ` +
          "engine's init starts inside the limit), or -1 for none");
      }
      return;
    case '--device-cgroup-rule': // added to docker's default rules
      r.devices = [...(r.devices ?? DEFAULT_DEVICE_RULES),
        parseDeviceRule(value)];
      return;
  }
  const key = DEVICE_FLAGS[flag];
  if (!key) throw new FlagError(`unknown flag: ${flag}`);
  const blockIO = (r.blockIO ??= {});
  (blockIO[key] ??= []).push(parseDeviceRate(flag, value));
}
// #endregion

/** Checks that hold across flags; call once after the last flag. */
export function checkResources(r: LinuxResources): void {
  const m = r.memory;
  if (m?.swap !== undefined && m.swap >= 0) {
    if (m.limit === undefined) {
      throw new FlagError('--memory-swap needs --memory as well');
    }
    if (m.swap < m.limit) {
      throw new FlagError('--memory-swap must be at least --memory ' +
        '(it is memory plus swap)');
    }
  }
}

/**
 * Parses resource flags at the front of `args` ("--memory 64m" or
 * "--memory=64m") and returns the resources and the arguments after them.
 */
export function parseResourceFlags(args: string[]):
  { resources: LinuxResources; rest: string[] } {
  const resources: LinuxResources = {};
  let i = 0;
  while (i < args.length && args[i].startsWith('-')) {
    const [flag, inline] = splitFlag(args[i]);
    if (!RESOURCE_FLAGS.includes(flag)) break;
    const value = inline ?? args[++i];
    if (value === undefined) throw new FlagError(`${flag} needs a value`);
    setResourceFlag(resources, flag, value);
    i++;
  }
  checkResources(resources);
  return { resources, rest: args.slice(i) };
}

function splitFlag(arg: string): [string, string | undefined] {
  const eq = arg.indexOf('=');
  return eq < 0 ? [arg, undefined] : [arg.slice(0, eq), arg.slice(eq + 1)];
}
