// Capabilities (capabilities(7)): root's power cut into 41 pieces. A
// process has five sets of them, kept per thread by the kernel:
//
//   bounding     the most it, or a program it executes, can ever get
//   permitted    what it may turn on in effective (a superset of it)
//   effective    what the kernel checks right now
//   inheritable  what survives execve(2) into a program whose file
//                inheritable set has it too
//   ambient      what survives execve(2) into any unprivileged program
//
// Docker keeps 14 and drops the rest; this file names them, works out
// a container's list from --cap-add/--cap-drop/--privileged, and sets
// the five sets in the init, on the thread that calls execve(2).
import { readFileSync } from 'node:fs';
import { syscall } from '../01-chroot/kernel.ts';
import { procStatus } from '../02-namespaces/procfs.ts';
import { prctl } from '../02-namespaces/process.ts';

// #region names
/** The capabilities by number, as <linux/capability.h> numbers them. */
export const CAPABILITIES = [
  'CHOWN', 'DAC_OVERRIDE', 'DAC_READ_SEARCH', 'FOWNER', 'FSETID', 'KILL',
  'SETGID', 'SETUID', 'SETPCAP', 'LINUX_IMMUTABLE', 'NET_BIND_SERVICE',
  'NET_BROADCAST', 'NET_ADMIN', 'NET_RAW', 'IPC_LOCK', 'IPC_OWNER',
  'SYS_MODULE', 'SYS_RAWIO', 'SYS_CHROOT', 'SYS_PTRACE', 'SYS_PACCT',
  'SYS_ADMIN', 'SYS_BOOT', 'SYS_NICE', 'SYS_RESOURCE', 'SYS_TIME',
  'SYS_TTY_CONFIG', 'MKNOD', 'LEASE', 'AUDIT_WRITE', 'AUDIT_CONTROL',
  'SETFCAP', 'MAC_OVERRIDE', 'MAC_ADMIN', 'SYSLOG', 'WAKE_ALARM',
  'BLOCK_SUSPEND', 'AUDIT_READ', 'PERFMON', 'BPF', 'CHECKPOINT_RESTORE',
].map((name) => `CAP_${name}`);
// #endregion

// #region docker-default
/** Docker's default set: what a process needs to act as root in its
 * own files, and nothing that reaches the kernel or other containers. */
export const DEFAULT_CAPABILITIES = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER',
  'CAP_MKNOD', 'CAP_NET_RAW', 'CAP_SETGID', 'CAP_SETUID', 'CAP_SETFCAP',
  'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT', 'CAP_KILL',
  'CAP_AUDIT_WRITE',
];
// #endregion

let lastCap: number | undefined;

/** The highest capability this kernel knows (newer ones it refuses). */
export function lastCapability(): number {
  if (lastCap !== undefined) return lastCap;
  lastCap = CAPABILITIES.length - 1;
  try {
    const n = Number(readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8'));
    if (Number.isInteger(n)) lastCap = Math.min(n, lastCap);
  } catch { /* no /proc: assume all we know */ }
  return lastCap;
}

/**
 * Every capability the running kernel has and the engine itself may
 * hold (its bounding set), as --privileged gets: capset(2) refuses to
 * raise one outside it, and a sandboxed engine may lack some.
 */
export function allCapabilities(): string[] {
  const own = capabilityMasks().CapBnd;
  return CAPABILITIES.slice(0, lastCapability() + 1)
    .filter((_, cap) => (own >> BigInt(cap)) & 1n);
}

/**
 * "net_admin", "NET_ADMIN" and "CAP_NET_ADMIN" are one capability, as
 * docker reads --cap-add; "ALL" stays "ALL". Unknown names throw.
 */
export function normalizeCapability(name: string): string {
  const upper = name.trim().toUpperCase();
  if (upper === 'ALL') return 'ALL';
  const full = upper.startsWith('CAP_') ? upper : `CAP_${upper}`;
  if (!CAPABILITIES.includes(full)) {
    throw new Error(`unknown capability: ${JSON.stringify(full)}`);
  }
  return full;
}

export interface CapabilityChoices {
  add?: string[];
  drop?: string[];
  privileged?: boolean;
}

// #region tweak
/**
 * A container's capabilities, as docker works them out: all of them
 * when privileged; else the defaults less --cap-drop plus --cap-add,
 * where "ALL" in --cap-drop starts from nothing and "ALL" in --cap-add
 * from everything (less --cap-drop).
 */
export function containerCapabilities(o: CapabilityChoices): string[] {
  if (o.privileged) return allCapabilities();
  const field = (list: string[] | undefined, what: string) => {
    try {
      return (list ?? []).map(normalizeCapability);
    } catch (err) {
      throw new Error(`invalid ${what}: ${(err as Error).message}`,
        { cause: err });
    }
  };
  const add = field(o.add, 'CapAdd');
  const drop = field(o.drop, 'CapDrop');
  if (add.includes('ALL')) {
    return allCapabilities().filter((c) => !drop.includes(c));
  }
  const base = drop.includes('ALL') ? []
    : DEFAULT_CAPABILITIES.filter((c) => !drop.includes(c));
  return [...new Set([...base, ...add])];
}
// #endregion

const capset = syscall<[Buffer, Buffer]>(
  'int capset(void *header, const void *data)');
const PR_CAPBSET_DROP = 24;
const PR_SET_KEEPCAPS = 8;
const PR_CAP_AMBIENT = 47;
const PR_CAP_AMBIENT_RAISE = 2;
const PR_CAP_AMBIENT_CLEAR_ALL = 4;
const LINUX_CAPABILITY_VERSION_3 = 0x20080522;

/** The capability numbers of a list of names. */
function numbers(names: string[] = []): number[] {
  return names.map((n) => {
    const i = CAPABILITIES.indexOf(normalizeCapability(n));
    if (i < 0) throw new Error(`capability ${n}: unknown`);
    return i;
  });
}

export interface CapabilitySets {
  bounding?: string[]; effective?: string[]; permitted?: string[];
  inheritable?: string[]; ambient?: string[];
}

// #region bounding
/**
 * Before the ids change: shrink the bounding set, which needs
 * CAP_SETPCAP (we still have all), and ask the kernel to keep the
 * permitted set across setresuid(2) to a non-zero uid (PR_SET_KEEPCAPS),
 * which would otherwise empty it.
 */
export function dropBounding(sets: CapabilitySets): void {
  const keep = new Set(numbers(sets.bounding));
  for (let cap = 0; cap <= lastCapability(); cap++) {
    if (!keep.has(cap)) prctl(PR_CAPBSET_DROP, cap, 0, 0, 0);
  }
  prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0);
}
// #endregion

// #region capset
/**
 * After the ids changed: the three sets capset(2) takes, as two 32-bit
 * words each (version 3: 64 capabilities), then the ambient set, which
 * may only hold what is permitted and inheritable.
 */
export function setCapabilities(sets: CapabilitySets): void {
  prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
  const header = Buffer.alloc(8);
  header.writeUInt32LE(LINUX_CAPABILITY_VERSION_3, 0); // pid 0: this thread
  const data = Buffer.alloc(24); // {effective, permitted, inheritable} x2
  const put = (names: string[] | undefined, offset: number) => {
    for (const cap of numbers(names)) {
      const at = (cap >> 5) * 12 + offset;
      data.writeUInt32LE((data.readUInt32LE(at) | (1 << (cap & 31))) >>> 0,
        at);
    }
  };
  put(sets.effective, 0);
  put(sets.permitted, 4);
  put(sets.inheritable, 8);
  capset(header, data);
  prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
  // One not both permitted and inheritable is EPERM (prctl(2)); runc
  // skips it, and OCI configs (runc spec's own) list such ones.
  for (const cap of numbers(sets.ambient)) {
    try {
      prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0);
    } catch (err) {
      if ((err as { code?: string }).code !== 'EPERM') throw err;
    }
  }
}
// #endregion

/** The sets of a process, as /proc/PID/status shows them (hex masks). */
export function capabilityMasks(pid: number | 'self' = 'self')
  : Record<'CapInh' | 'CapPrm' | 'CapEff' | 'CapBnd' | 'CapAmb', bigint> {
  const status = procStatus(pid);
  if (!status) throw new Error(`capabilities of ${pid}: no such process`);
  const get = (key: string) => BigInt(`0x${status.get(key) ?? '0'}`);
  return { CapInh: get('CapInh'), CapPrm: get('CapPrm'),
    CapEff: get('CapEff'), CapBnd: get('CapBnd'), CapAmb: get('CapAmb') };
}

/** The mask of a list of names, to compare with capabilityMasks. */
export function maskOf(names: string[]): bigint {
  return numbers(names).reduce((m, cap) => m | (1n << BigInt(cap)), 0n);
}
