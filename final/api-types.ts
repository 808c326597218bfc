// The Docker Engine API (v1.43) shapes the CLI and the daemon exchange,
// as far as skiff uses them. Field names are Docker's, so the official
// docker CLI and dockerode can talk to skiff's daemon.

export interface PortBinding { HostIp: string; HostPort: string }

export interface RestartPolicy {
  Name: '' | 'no' | 'always' | 'on-failure' | 'unless-stopped';
  MaximumRetryCount?: number;
}

/** POST /containers/create: Config plus HostConfig. */
export interface CreateBody {
  Hostname?: string;
  /** --domainname: the UTS namespace's NIS domain (kernel.domainname). */
  Domainname?: string;
  User?: string;
  AttachStdin?: boolean;
  AttachStdout?: boolean;
  AttachStderr?: boolean;
  Tty?: boolean;
  OpenStdin?: boolean;
  StdinOnce?: boolean;
  Env?: string[];
  Cmd?: string[] | null;
  Entrypoint?: string[] | null;
  Image: string;
  WorkingDir?: string;
  Labels?: Record<string, string>;
  ExposedPorts?: Record<string, object>;
  /** Anonymous volumes (`-v /path`), merged with the image's VOLUMEs. */
  Volumes?: Record<string, object> | null;
  StopSignal?: string;
  StopTimeout?: number;
  Healthcheck?: HealthConfig;
  /** The image's SHELL: what a CMD-SHELL healthcheck runs in. */
  Shell?: string[];
  HostConfig?: HostConfig;
  /** The networks to join and how (--network-alias, --ip). */
  NetworkingConfig?: { EndpointsConfig?: Record<string, EndpointConfig> };
}

/** What a container asks of one network (docker's EndpointSettings). */
export interface EndpointConfig {
  IPAMConfig?: { IPv4Address?: string } | null;
  Aliases?: string[] | null;
  Links?: string[] | null;
}

/**
 * Config.Healthcheck: Test is ["NONE"], ["CMD", args...] or
 * ["CMD-SHELL", command]; durations in nanoseconds, 0 for the default.
 */
export interface HealthConfig {
  Test?: string[] | null;
  Interval?: number;
  Timeout?: number;
  StartPeriod?: number;
  Retries?: number;
}

/** One probe in State.Health.Log. */
export interface HealthLog {
  Start: string;
  End: string;
  ExitCode: number;
  Output: string;
}

/** State.Health: present while a container has a healthcheck. */
export interface HealthState {
  Status: 'starting' | 'healthy' | 'unhealthy';
  FailingStreak: number;
  Log: HealthLog[];
}

/** One HostConfig.Mounts entry (`--mount`), as the docker CLI sends it. */
export interface ApiMount {
  Type?: string;
  Source?: string;
  Target?: string;
  ReadOnly?: boolean;
  Consistency?: string;
  BindOptions?: { Propagation?: string; NonRecursive?: boolean } | null;
  VolumeOptions?: {
    NoCopy?: boolean;
    Labels?: Record<string, string> | null;
    DriverConfig?: { Name?: string;
      Options?: Record<string, string> | null } | null;
  } | null;
  TmpfsOptions?: { SizeBytes?: number; Mode?: number } | null;
}

/** `--ulimit nofile=1024:2048`: one of setrlimit(2)'s resources. */
export interface Ulimit { Name: string; Soft: number; Hard: number }

export interface HostConfig {
  Binds?: string[] | null;
  /** `--mount`: binds, volumes and tmpfs, checked by the daemon. */
  Mounts?: ApiMount[] | null;
  /** `--tmpfs /path[:options]`: destination -> mount(8) options. */
  Tmpfs?: Record<string, string> | null;
  Ulimits?: Ulimit[] | null;
  /** `-P`: every exposed port on a free host port. */
  PublishAllPorts?: boolean;
  /** With Tty: the terminal's size at the start, [height, width]. */
  ConsoleSize?: [number, number];
  NetworkMode?: string;
  /** --dns, --dns-search, --dns-option: the container's resolv.conf. */
  Dns?: string[];
  DnsSearch?: string[];
  DnsOptions?: string[];
  /** --add-host "name:ip" (ip may be "host-gateway"). */
  ExtraHosts?: string[] | null;
  /** --link "name:alias" (default bridge: /etc/hosts entries). */
  Links?: string[] | null;
  PortBindings?: Record<string, PortBinding[]>;
  RestartPolicy?: RestartPolicy;
  AutoRemove?: boolean;
  ReadonlyRootfs?: boolean;
  Init?: boolean | null;
  Memory?: number;
  /** RAM + swap; -1: unlimited swap. */
  MemorySwap?: number;
  MemoryReservation?: number;
  NanoCpus?: number;
  CpuQuota?: number;
  CpuPeriod?: number;
  CpuShares?: number;
  CpusetCpus?: string;
  CpusetMems?: string;
  PidsLimit?: number | null;
  BlkioWeight?: number;
  /** "c 1:3 rwm": more devices the container may use. */
  DeviceCgroupRules?: string[] | null;
  CapAdd?: string[] | null;
  CapDrop?: string[] | null;
  Privileged?: boolean;
  /** "seccomp=…", "apparmor=…", "label=…", "no-new-privileges[=…]". */
  SecurityOpt?: string[] | null;
  /** "host": no user namespace even under --userns-remap. */
  UsernsMode?: string;
  /** --log-driver and --log-opt: skiff keeps docker's json-file only. */
  LogConfig?: LogConfig;
  Sysctls?: Record<string, string> | null;
  /** /dev/shm's size in bytes (docker's default: 64 MiB). */
  ShmSize?: number;
  /** --group-add: more groups (names or gids) for the process. */
  GroupAdd?: string[] | null;
  Devices?: DeviceMapping[] | null;
}

export interface LogConfig {
  Type: string;
  Config: Record<string, string>;
}

/** --device /dev/x[:/dev/y[:rwm]]. */
export interface DeviceMapping {
  PathOnHost: string;
  PathInContainer?: string;
  CgroupPermissions?: string;
}

/** An image's config, as in the OCI image config and docker inspect. */
export interface ImageConfig {
  Env?: string[];
  Cmd?: string[] | null;
  Entrypoint?: string[] | null;
  WorkingDir?: string;
  User?: string;
  ExposedPorts?: Record<string, object>;
  /** VOLUME lines: an anonymous volume each, unless a mount is there. */
  Volumes?: Record<string, object> | null;
  StopSignal?: string;
  Labels?: Record<string, string>;
  Healthcheck?: HealthConfig;
  Shell?: string[];
}

export interface ContainerState {
  Status: 'created' | 'running' | 'paused' | 'restarting' | 'removing' |
    'exited' | 'dead';
  Running: boolean;
  Paused: boolean;
  Restarting: boolean;
  OOMKilled: boolean;
  Dead: boolean;
  Pid: number;
  ExitCode: number;
  Error: string;
  StartedAt: string;
  FinishedAt: string;
  Health?: HealthState;
}

export const ZERO_TIME = '0001-01-01T00:00:00Z';
