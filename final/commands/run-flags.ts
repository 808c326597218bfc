// The flags `run` and `create` share, and how they become the body of
// POST /containers/create (docker's container.Config + HostConfig).
import { readFileSync } from 'node:fs';
import { parseSize } from '../../chapters/03-cgroups/size.ts';
import {
  checkHostAddresses, parsePublish, publishMode, toEngineApi,
} from '../../chapters/05-network/ports.ts';
import type {
  CreateBody, HealthConfig, HostConfig, RestartPolicy,
} from '../api-types.ts';
import { absoluteBind, parseMountFlag, parseUlimit } from '../binds.ts';
import { parseDuration } from '../durations.ts';
import { UsageError, type FlagSpec, type Parsed } from '../flags.ts';
import { bool, list, str } from './command.ts';

/** docker's --health-* flags (its help texts). */
const HEALTH_FLAGS: FlagSpec[] = [
  { name: 'health-cmd', kind: 'string',
    help: 'Command to run to check health' },
  { name: 'health-interval', kind: 'string', value: 'duration',
    help: 'Time between running the check (ms|s|m|h) (default 0s)' },
  { name: 'health-retries', kind: 'string', value: 'int',
    help: 'Consecutive failures needed to report unhealthy' },
  { name: 'health-start-period', kind: 'string', value: 'duration',
    help: 'Start period for the container to initialize before ' +
      'starting health-retries countdown (ms|s|m|h) (default 0s)' },
  { name: 'health-timeout', kind: 'string', value: 'duration',
    help: 'Maximum time to allow one check to run (ms|s|m|h) ' +
      '(default 0s)' },
  { name: 'no-healthcheck', kind: 'bool',
    help: 'Disable any container-specified HEALTHCHECK' },
];

// #region run-flags (unused)
// #region run-flags-first
export const CREATE_FLAGS: FlagSpec[] = [
  { name: 'interactive', short: 'i', kind: 'bool',
    help: 'Keep STDIN open even if not attached' },
  { name: 'tty', short: 't', kind: 'bool', help: 'Allocate a pseudo-TTY' },
  { name: 'name', kind: 'string', help: 'Assign a name to the container' },
  { name: 'env', short: 'e', kind: 'list',
    help: 'Set environment variables' },
  { name: 'env-file', kind: 'list',
    help: 'Read in a file of environment variables' },
  { name: 'volume', short: 'v', kind: 'list',
    help: 'Bind mount a volume (/host:/ctr[:ro] or name:/ctr)' },
  { name: 'publish', short: 'p', kind: 'list',
    help: 'Publish a container\'s port(s) to the host' },
  { name: 'network', kind: 'string', value: 'network',
    help: 'Connect a container to a network', default: 'default' },
  { name: 'hostname', short: 'h', kind: 'string',
    help: 'Container host name' },
  { name: 'workdir', short: 'w', kind: 'string',
    help: 'Working directory inside the container' },
  { name: 'user', short: 'u', kind: 'string',
    help: 'Username or UID (format: <name|uid>[:<group|gid>])' },
  { name: 'entrypoint', kind: 'string',
    help: 'Overwrite the default ENTRYPOINT of the image' },
  { name: 'memory', short: 'm', kind: 'string', value: 'bytes',
// #endregion
    help: 'Memory limit' },
  { name: 'cpus', kind: 'string', value: 'decimal',
    help: 'Number of CPUs' },
  { name: 'cpu-shares', short: 'c', kind: 'string', value: 'int',
    help: 'CPU shares (relative weight)' },
  { name: 'cpuset-cpus', kind: 'string',
    help: 'CPUs in which to allow execution (0-3, 0,1)' },
  { name: 'pids-limit', kind: 'string', value: 'int',
    help: 'Tune container pids limit (set -1 for unlimited)' },
  { name: 'read-only', kind: 'bool',
    help: 'Mount the container\'s root filesystem as read only' },
  { name: 'init', kind: 'bool',
    help: 'Run an init inside the container that forwards signals and ' +
      'reaps processes' },
  { name: 'restart', kind: 'string',
    help: 'Restart policy to apply when a container exits', default: 'no' },
  { name: 'label', short: 'l', kind: 'list',
    help: 'Set meta data on a container' },
  { name: 'stop-signal', kind: 'string', help: 'Signal to stop the container' },
  { name: 'stop-timeout', kind: 'string', value: 'int',
    help: 'Timeout (in seconds) to stop a container' },
  { name: 'cap-add', kind: 'list', help: 'Add Linux capabilities' },
  { name: 'cap-drop', kind: 'list', help: 'Drop Linux capabilities' },
  { name: 'privileged', kind: 'bool',
    help: 'Give extended privileges to this container' },
  { name: 'security-opt', kind: 'list', help: 'Security Options' },
  { name: 'userns', kind: 'string', help: 'User namespace to use' },
  { name: 'network-alias', kind: 'list',
    help: 'Add network-scoped alias for the container' },
  { name: 'ip', kind: 'string', help: 'IPv4 address (e.g., 172.30.100.104)' },
  { name: 'add-host', kind: 'list',
    help: 'Add a custom host-to-IP mapping (host:ip)' },
  { name: 'dns', kind: 'list', help: 'Set custom DNS servers' },
  { name: 'dns-search', kind: 'list', help: 'Set custom DNS search domains' },
  { name: 'dns-option', kind: 'list', help: 'Set DNS options' },
  { name: 'link', kind: 'list', help: 'Add link to another container' },
  ...HEALTH_FLAGS,
  { name: 'mount', kind: 'list',
    help: 'Attach a filesystem mount to the container' },
  { name: 'tmpfs', kind: 'list', help: 'Mount a tmpfs directory' },
  { name: 'ulimit', kind: 'list', help: 'Ulimit options' },
  { name: 'expose', kind: 'list', help: 'Expose a port or a range of ports' },
  { name: 'publish-all', short: 'P', kind: 'bool',
    help: 'Publish all exposed ports to random ports' },
];
// #endregion

function parseInt10(text: string, flag: string): number {
  if (!/^-?\d+$/.test(text)) {
    throw new UsageError(`invalid argument "${text}" for "--${flag}" ` +
      'flag: strconv.ParseInt: parsing: invalid syntax');
  }
  return Number(text);
}

/** -e NAME takes NAME's value from our environment, as docker does. */
function envEntry(kv: string): string | undefined {
  if (kv.includes('=')) return kv;
  const v = process.env[kv];
  return v === undefined ? undefined : `${kv}=${v}`;
}

function readEnvFile(path: string): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new UsageError(`open ${path}: ${(err as NodeJS.ErrnoException)
      .code === 'ENOENT' ? 'no such file or directory' : String(err)}`);
  }
  return text.split('\n').map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map(envEntry).filter((e): e is string => !!e);
}

export function parseRestart(text: string): RestartPolicy {
  const [name, count] = text.split(':');
  if (!['no', 'always', 'on-failure', 'unless-stopped'].includes(name) ||
    (count !== undefined && (name !== 'on-failure' || !/^\d+$/.test(count)))) {
    throw new UsageError(`invalid restart policy: '${text}'`);
  }
  return { Name: name as RestartPolicy['Name'],
    MaximumRetryCount: count ? Number(count) : 0 };
}

// #region publish
/**
 * -p, parsed by chapter 05 (its rules, its errors) and checked before
 * anything is created: a warning for host and none, an error for
 * container:<name>, and a host IP the host must have. Then docker's
 * two maps: ExposedPorts and HostConfig.PortBindings.
 */
function publish(p: Parsed): ReturnType<typeof toEngineApi> {
  const mappings = list(p, 'publish').map(parsePublish);
  const { ports, warning } = publishMode(str(p, 'network') ?? 'default',
    mappings);
  if (warning) process.stderr.write(`WARNING: ${warning}\n`);
  checkHostAddresses(ports);
  return toEngineApi(mappings);
}
// #endregion

// #region security-opt
/**
 * `--security-opt seccomp=FILE` is read here, on the client, as the
 * docker CLI does: the daemon gets the profile's JSON itself.
 */
export function securityOpts(opts: string[]): string[] {
  return opts.map((opt) => {
    const m = /^seccomp[=:](.*)$/s.exec(opt);
    if (!m || m[1] === 'unconfined' || m[1] === 'builtin') return opt;
    let text: string;
    try {
      text = readFileSync(m[1], 'utf8');
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      throw new UsageError(`opening seccomp profile (${m[1]}) failed: ` +
        `open ${m[1]}: ${e.code === 'ENOENT'
          ? 'no such file or directory' : e.code ?? e.message}`);
    }
    try {
      return `seccomp=${JSON.stringify(JSON.parse(text))}`;
    } catch (err) {
      throw new UsageError(`compacting json for seccomp profile ` +
        `(${m[1]}) failed: ${(err as Error).message}`);
    }
  });
}
// #endregion

/**
 * --network-alias and --ip: what the container asks of its --network,
 * as docker's NetworkingConfig (the daemon checks them).
 */
function networking(p: Parsed): CreateBody['NetworkingConfig'] {
  const aliases = list(p, 'network-alias');
  const ip = str(p, 'ip');
  if (!aliases.length && !ip) return undefined;
  const network = str(p, 'network') ?? 'default';
  return { EndpointsConfig: { [network]: { Aliases: aliases,
    IPAMConfig: ip ? { IPv4Address: ip } : null } } };
}

/**
 * Config.Healthcheck from the flags, as the docker CLI makes it: none
 * when no flag is given (the image's check stands), ["NONE"] for
 * --no-healthcheck, else CMD-SHELL and durations in nanoseconds (0:
 * the daemon's default, or the image's).
 */
// #region health-flags
export function healthcheck(p: Parsed): HealthConfig | undefined {
  const ns = (name: string) => {
    const text = str(p, `health-${name}`);
    if (text === undefined) return 0;
    try {
      return parseDuration(text);
    } catch (err) {
      throw new UsageError(`invalid argument "${text}" for ` +
        `"--health-${name}" flag: ${(err as Error).message}`);
    }
  };
  const cmd = str(p, 'health-cmd') ?? '';
  const retries = str(p, 'health-retries');
  const config: HealthConfig = { Test: cmd ? ['CMD-SHELL', cmd] : null,
    Interval: ns('interval'), Timeout: ns('timeout'),
    StartPeriod: ns('start-period'),
    Retries: retries ? parseInt10(retries, 'health-retries') : 0 };
  const any = cmd || config.Interval || config.Timeout ||
    config.StartPeriod || config.Retries;
  if (bool(p, 'no-healthcheck')) {
    if (any) {
      throw new UsageError('--no-healthcheck conflicts with --health-* ' +
        'options');
    }
    return { Test: ['NONE'] };
  }
  for (const [key, flag] of [['Interval', 'interval'],
    ['Timeout', 'timeout'], ['Retries', 'retries'],
    ['StartPeriod', 'start-period']] as const) {
    if (config[key]! < 0) {
      throw new UsageError(`--health-${flag} cannot be negative`);
    }
  }
  return any ? config : undefined;
}
// #endregion

/** --expose 80, 53/udp, 8000-8001: more ports for -P. */
function exposed(p: Parsed): Record<string, object> {
  const out: Record<string, object> = {};
  for (const text of list(p, 'expose')) {
    const { containerPort: { start, end }, protocol } =
      parsePublish(text);
    for (let port = start; port <= end; port++) out[`${port}/${protocol}`] = {};
  }
  return out;
}

/** --mount, --tmpfs, --ulimit, -P, as the docker CLI sends them. */
function mountFlags(p: Parsed): Partial<HostConfig> {
  const tmpfs = list(p, 'tmpfs').map((t) => {
    const at = t.indexOf(':');
    return at < 0 ? [t, ''] : [t.slice(0, at), t.slice(at + 1)];
  });
  return { Mounts: list(p, 'mount').map(parseMountFlag),
    Tmpfs: Object.fromEntries(tmpfs),
    Ulimits: list(p, 'ulimit').map(parseUlimit),
    PublishAllPorts: bool(p, 'publish-all') };
}

// #region create-body (unused)
// #region create-body-checks
export function createBody(p: Parsed): CreateBody {
  const [image, ...cmd] = p.args;
  const envFiles = list(p, 'env-file').flatMap(readEnvFile);
  const env = [...envFiles, ...list(p, 'env').map(envEntry)
    .filter((e): e is string => !!e)];
  const restart = parseRestart(str(p, 'restart') ?? 'no');
  if (bool(p, 'rm') && restart.Name !== 'no') {
    throw new UsageError('conflicting options: cannot specify both ' +
      '--restart and --rm');
  }
  const ports = publish(p);
  const entrypoint = str(p, 'entrypoint');
  const cpus = str(p, 'cpus');
  if (cpus !== undefined && !(Number(cpus) > 0)) {
    throw new UsageError(`invalid argument "${cpus}" for "--cpus" flag`);
  }
  const num = (name: string) => {
    const v = str(p, name);
    return v === undefined ? undefined : parseInt10(v, name);
  };
  const interactive = bool(p, 'interactive');
  const userns = str(p, 'userns') ?? '';
  if (userns && userns !== 'host') {
    throw new UsageError('--userns: invalid USER mode'); // docker's words
  }
// #endregion
  return {
    Image: image, Cmd: cmd.length ? cmd : null,
    Entrypoint: entrypoint === undefined ? null
      : entrypoint === '' ? [] : [entrypoint],
    Env: env, Hostname: str(p, 'hostname') ?? '',
    WorkingDir: str(p, 'workdir') ?? '', User: str(p, 'user') ?? '',
    Tty: bool(p, 'tty'), OpenStdin: interactive,
    StdinOnce: interactive && !bool(p, 'detach'),
    AttachStdin: interactive, AttachStdout: !bool(p, 'detach'),
    AttachStderr: !bool(p, 'detach'),
    Labels: Object.fromEntries(list(p, 'label').map((l) => {
      const eq = l.indexOf('=');
      return eq < 0 ? [l, ''] : [l.slice(0, eq), l.slice(eq + 1)];
    })),
    ExposedPorts: { ...ports.ExposedPorts, ...exposed(p) },
    NetworkingConfig: networking(p),
    StopSignal: str(p, 'stop-signal'),
    StopTimeout: num('stop-timeout'),
    Healthcheck: healthcheck(p),
    // #region create-body-host
    HostConfig: {
      Binds: list(p, 'volume').map((v) => absoluteBind(v)),
      NetworkMode: str(p, 'network') ?? 'default',
      PortBindings: ports.PortBindings, RestartPolicy: restart,
      AutoRemove: bool(p, 'rm'), ReadonlyRootfs: bool(p, 'read-only'),
      Init: bool(p, 'init') || null,
      Memory: str(p, 'memory') ? parseSize(str(p, 'memory')!, '--memory')
        : 0,
      NanoCpus: cpus ? Math.round(Number(cpus) * 1e9) : 0,
      CpuShares: num('cpu-shares') ?? 0,
      CpusetCpus: str(p, 'cpuset-cpus') ?? '',
      PidsLimit: num('pids-limit') ?? null,
      CapAdd: list(p, 'cap-add'), CapDrop: list(p, 'cap-drop'),
      Privileged: bool(p, 'privileged'),
      SecurityOpt: securityOpts(list(p, 'security-opt')),
      UsernsMode: userns,
      Dns: list(p, 'dns'), DnsSearch: list(p, 'dns-search'),
      DnsOptions: list(p, 'dns-option'), ExtraHosts: list(p, 'add-host'),
      Links: list(p, 'link'),
    // #endregion
      ...mountFlags(p),
    },
  };
}
// #endregion
