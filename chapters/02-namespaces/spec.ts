// A container's low-level configuration, shaped like the OCI runtime
// spec's config.json (github.com/opencontainers/runtime-spec, config.md
// and config-linux.md), so that skiff can later run OCI bundles. Only the
// fields the book uses are declared; names and units are the spec's.

export type NamespaceType =
  | 'pid' | 'network' | 'mount' | 'ipc' | 'uts' | 'user' | 'cgroup';

export interface Namespace {
  type: NamespaceType;
  /** Join this existing namespace (e.g. /proc/123/ns/net) instead. */
  path?: string;
}

export interface IdMapping {
  containerID: number;
  hostID: number;
  size: number;
}

export interface Mount {
  destination: string;
  type?: string;
  source?: string;
  options?: string[];
}

export interface User {
  uid: number;
  gid: number;
  additionalGids?: number[];
  umask?: number;
}

export interface Process {
  /** A pseudo-terminal made inside the container as stdio (`-t`). */
  terminal?: boolean;
  /** Its size at the start, so the command need not wait for a resize. */
  consoleSize?: { height: number; width: number };
  user: User;
  args: string[];
  env: string[];
  cwd: string;
  /** Capability names such as "CAP_CHOWN", per set. */
  capabilities?: {
    bounding?: string[]; effective?: string[]; permitted?: string[];
    inheritable?: string[]; ambient?: string[];
  };
  noNewPrivileges?: boolean;
  rlimits?: { type: string; hard: number; soft: number }[];
  /** AppArmor profile to exec the command under (chapter 06). */
  apparmorProfile?: string;
  /** SELinux process label (chapter 06). */
  selinuxLabel?: string;
  /** /proc/PID/oom_score_adj of the process (proc(5)). */
  oomScoreAdj?: number;
}

/** A program run at a point of the container's life (config.md). */
export interface Hook {
  path: string;
  /** Its argv, argv[0] included. */
  args?: string[];
  env?: string[];
  /** Seconds. */
  timeout?: number;
}

// Chapter 06's subject: the seccomp filter, in config-linux.md's shape
// (a Docker profile resolved for one container: no includes/excludes).
export interface SeccompArg {
  index: number;
  value: number;
  valueTwo?: number;
  op: string; // SCMP_CMP_NE, _LT, _LE, _EQ, _GE, _GT, _MASKED_EQ
}

export interface SeccompRule {
  names: string[];
  action: string;  // SCMP_ACT_ALLOW, SCMP_ACT_ERRNO, ...
  errnoRet?: number;
  args?: SeccompArg[];
}

export interface LinuxSeccomp {
  defaultAction: string;
  defaultErrnoRet?: number;
  architectures?: string[]; // SCMP_ARCH_X86_64, ...
  flags?: string[];
  syscalls?: SeccompRule[];
}

// Chapter 3's subject; named here so it can be pulled from there.
// #region resources (unused)
export interface LinuxResources {
  memory?: {
    limit?: number;        // bytes
    reservation?: number;  // bytes (soft limit)
    swap?: number;         // memory+swap in bytes; equal to limit = no swap
    kernel?: number;       // v1 only, NOT RECOMMENDED by the spec
    kernelTCP?: number;    // v1 only, NOT RECOMMENDED by the spec
    swappiness?: number;   // 0..100, v1 only
    disableOOMKiller?: boolean;
    useHierarchy?: boolean;
    checkBeforeUpdate?: boolean;
  };
  cpu?: {
    shares?: number;       // v1 cpu.shares; mapped to cpu.weight on v2
    quota?: number;        // microseconds per period
    period?: number;       // microseconds
    realtimeRuntime?: number;  // microseconds per realtimePeriod, v1 only
    realtimePeriod?: number;
    cpus?: string;         // cpuset, e.g. "0-1,3"
    mems?: string;
    idle?: number;         // 1: the cgroup's tasks run as SCHED_IDLE
  };
  pids?: { limit: number };
  blockIO?: {
    weight?: number;
    leafWeight?: number;
    weightDevice?: WeightDevice[];
    throttleReadBpsDevice?: ThrottleDevice[];
    throttleWriteBpsDevice?: ThrottleDevice[];
    throttleReadIOPSDevice?: ThrottleDevice[];
    throttleWriteIOPSDevice?: ThrottleDevice[];
  };
  hugepageLimits?: { pageSize: string; limit: number }[]; // "2MB"
  network?: {
    classID?: number;      // net_cls, v1 only
    priorities?: { name: string; priority: number }[]; // net_prio, v1
  };
  rdma?: Record<string, { hcaHandles?: number; hcaObjects?: number }>;
  devices?: DeviceRule[];
  /** cgroup v2 file name -> value, written as given (v2 only). */
  unified?: Record<string, string>;
}
// #endregion

export interface WeightDevice {
  major: number;
  minor: number;
  weight?: number;
  leafWeight?: number;
}

export interface ThrottleDevice { major: number; minor: number; rate: number }

export interface DeviceRule {
  allow: boolean;
  type?: 'a' | 'c' | 'b';
  major?: number;  // absent: any
  minor?: number;
  access?: string; // some of "rwm"
}

/** A device node the container gets (config-linux.md "Devices"). */
export interface LinuxDevice {
  path: string;
  type: 'c' | 'b' | 'u' | 'p';
  major: number;
  minor: number;
  fileMode?: number;
  uid?: number;
  gid?: number;
  /** skiff's: the host's node to bind when `path` is another name
   * (`--device /dev/loop0:/dev/disk`); runc would mknod(2) instead. */
  hostPath?: string;
}

export interface Spec {
  ociVersion: string;
  process: Process;
  root: { path: string; readonly?: boolean };
  hostname?: string;
  mounts: Mount[];
  annotations?: Record<string, string>;
  /** prestart, createRuntime, createContainer, startContainer, ... */
  hooks?: Record<string, Hook[]>;
  linux: {
    namespaces: Namespace[];
    uidMappings?: IdMapping[];
    gidMappings?: IdMapping[];
    resources?: LinuxResources;
    cgroupsPath?: string;
    maskedPaths?: string[];
    readonlyPaths?: string[];
    sysctl?: Record<string, string>;
    seccomp?: LinuxSeccomp;
    mountLabel?: string;
    devices?: LinuxDevice[];
    /** Propagation of the container's / (shared, slave, private...). */
    rootfsPropagation?: string;
    /** personality(2): LINUX or LINUX32. */
    personality?: { domain: string; flags?: string[] };
  };
}
