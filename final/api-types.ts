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

export interface HostConfig {
  Binds?: string[];
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
  CapAdd?: string[] | null;
  CapDrop?: string[] | null;
  Privileged?: boolean;
  /** "seccomp=…", "apparmor=…", "label=…", "no-new-privileges[=…]". */
  SecurityOpt?: string[] | null;
  /** "host": no user namespace even under --userns-remap. */
  UsernsMode?: string;
  /** --log-driver and --log-opt: skiff keeps docker's json-file only. */
  LogConfig?: LogConfig;
}

export interface LogConfig {
  Type: string;
  Config: Record<string, string>;
}

/** An image's config, as in the OCI image config and docker inspect. */
export interface ImageConfig {
  Env?: string[];
  Cmd?: string[] | null;
  Entrypoint?: string[] | null;
  WorkingDir?: string;
  User?: string;
  ExposedPorts?: Record<string, object>;
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
