// The request bodies of the Engine API, as moby's Go types declare them
// (api/types/container, network, swagger.yaml v1.41), for schema.ts's
// check, and the few ranges dockerd verifies before it creates anything.
// Fields skiff does not use are typed too: a client that sends them
// wrongly typed gets dockerd's 400, not silence.
import { isIPv4 } from 'node:net';
import { parseSubnet } from '../../../chapters/05-network/cidr.ts';
import {
  formatCpuList, onlineCpus, parseCpuList,
} from '../../../chapters/03-cgroups/flags.ts';
import { BadRequest } from '../errors.ts';
import { MAX_STRING } from '../limits.ts';
import { check, checkDepth, type Schema } from './schema.ts';

const S = 'string';
const strings: Schema = { array: S };
const struct = (name: string, fields: Record<string, Schema>): Schema =>
  ({ struct: name, fields });
const rate = (name: string) => ({ array: struct(name,
  { Path: S, Rate: 'uint', Weight: 'uint' }) });

const HEALTHCHECK = struct('container.HealthConfig', { Test: strings,
  Interval: 'int', Timeout: 'int', StartPeriod: 'int', Retries: 'int' });

const RESOURCES: Record<string, Schema> = {
  CpuShares: 'int', Memory: 'int', NanoCpus: 'int', CgroupParent: S,
  BlkioWeight: 'uint', BlkioWeightDevice: rate('blkiodev.WeightDevice'),
  BlkioDeviceReadBps: rate('blkiodev.ThrottleDevice'),
  BlkioDeviceWriteBps: rate('blkiodev.ThrottleDevice'),
  BlkioDeviceReadIOps: rate('blkiodev.ThrottleDevice'),
  BlkioDeviceWriteIOps: rate('blkiodev.ThrottleDevice'),
  CpuPeriod: 'int', CpuQuota: 'int', CpuRealtimePeriod: 'int',
  CpuRealtimeRuntime: 'int', CpusetCpus: S, CpusetMems: S,
  Devices: { array: struct('container.DeviceMapping', { PathOnHost: S,
    PathInContainer: S, CgroupPermissions: S }) },
  DeviceCgroupRules: strings, KernelMemory: 'int', KernelMemoryTCP: 'int',
  MemoryReservation: 'int', MemorySwap: 'int', MemorySwappiness: 'int',
  OomKillDisable: 'bool', PidsLimit: 'int',
  Ulimits: { array: struct('units.Ulimit',
    { Name: S, Soft: 'int', Hard: 'int' }) },
  CpuCount: 'int', CpuPercent: 'int', IOMaximumIOps: 'uint',
  IOMaximumBandwidth: 'uint',
};

const RESTART = struct('container.RestartPolicy',
  { Name: S, MaximumRetryCount: 'int' });

const MOUNT = struct('mount.Mount', { Type: S, Source: S, Target: S,
  ReadOnly: 'bool', Consistency: S,
  BindOptions: struct('mount.BindOptions',
    { Propagation: S, NonRecursive: 'bool' }),
  VolumeOptions: struct('mount.VolumeOptions', { NoCopy: 'bool',
    Labels: { map: S }, DriverConfig: struct('mount.Driver',
      { Name: S, Options: { map: S } }) }),
  TmpfsOptions: struct('mount.TmpfsOptions',
    { SizeBytes: 'int', Mode: 'uint' }) });

const HOST_CONFIG = struct('container.HostConfig', { ...RESOURCES,
  Binds: strings, ContainerIDFile: S,
  LogConfig: struct('container.LogConfig', { Type: S, Config: { map: S } }),
  NetworkMode: S, PortBindings: { map: { array: struct('nat.PortBinding',
    { HostIp: S, HostPort: S }) } },
  RestartPolicy: RESTART, AutoRemove: 'bool', VolumeDriver: S,
  VolumesFrom: strings, CapAdd: 'strslice', CapDrop: 'strslice',
  CgroupnsMode: S, Dns: strings, DnsOptions: strings, DnsSearch: strings,
  ExtraHosts: strings, GroupAdd: strings, IpcMode: S, Cgroup: S,
  Links: strings, OomScoreAdj: 'int', PidMode: S, Privileged: 'bool',
  PublishAllPorts: 'bool', ReadonlyRootfs: 'bool', SecurityOpt: strings,
  StorageOpt: { map: S }, Tmpfs: { map: S }, UTSMode: S, UsernsMode: S,
  ShmSize: 'int', Sysctls: { map: S }, Runtime: S,
  ConsoleSize: { array: 'uint' }, Isolation: S, Mounts: { array: MOUNT },
  MaskedPaths: strings, ReadonlyPaths: strings, Init: 'bool' });

const ENDPOINT = struct('network.EndpointSettings', {
  IPAMConfig: struct('network.EndpointIPAMConfig',
    { IPv4Address: S, IPv6Address: S, LinkLocalIPs: strings }),
  Links: strings, Aliases: strings, NetworkID: S, EndpointID: S,
  Gateway: S, IPAddress: S, IPPrefixLen: 'int', MacAddress: S,
  DriverOpts: { map: S } });

const CREATE = struct('container.ContainerConfigWrapper', {
  Hostname: S, Domainname: S, User: S, AttachStdin: 'bool',
  AttachStdout: 'bool', AttachStderr: 'bool', ExposedPorts: { map: 'any' },
  Tty: 'bool', OpenStdin: 'bool', StdinOnce: 'bool', Env: strings,
  Cmd: 'strslice', Healthcheck: HEALTHCHECK, ArgsEscaped: 'bool',
  Image: S, Volumes: { map: 'any' }, WorkingDir: S, Entrypoint: 'strslice',
  NetworkDisabled: 'bool', MacAddress: S, OnBuild: strings,
  Labels: { map: S }, StopSignal: S, StopTimeout: 'int', Shell: strings,
  HostConfig: HOST_CONFIG,
  NetworkingConfig: struct('network.NetworkingConfig',
    { EndpointsConfig: { map: ENDPOINT } }) });

const NETWORK_CREATE = struct('types.NetworkCreateRequest', { Name: S,
  CheckDuplicate: 'bool', Driver: S, Scope: S, EnableIPv6: 'bool',
  IPAM: struct('network.IPAM', { Driver: S, Options: { map: S },
    Config: { array: struct('network.IPAMConfig', { Subnet: S,
      IPRange: S, Gateway: S, AuxiliaryAddresses: { map: S } }) } }),
  Internal: 'bool', Attachable: 'bool', Ingress: 'bool',
  Options: { map: S }, Labels: { map: S } });

const EXEC_CREATE = struct('types.ExecConfig', { User: S,
  Privileged: 'bool', Tty: 'bool', ConsoleSize: { array: 'uint' },
  AttachStdin: 'bool', AttachStderr: 'bool', AttachStdout: 'bool',
  Detach: 'bool', DetachKeys: S, Env: strings, WorkingDir: S,
  Cmd: 'strslice' });

const UPDATE = struct('container.UpdateConfig',
  { ...RESOURCES, RestartPolicy: RESTART });

const VOLUME_CREATE = struct('volume.VolumeCreateBody', { Name: S,
  Driver: S, DriverOpts: { map: S }, Labels: { map: S } });

const CONNECT = struct('types.NetworkConnect',
  { Container: S, EndpointConfig: ENDPOINT, Force: 'bool' });

// #region body-schemas (unused)
/** [method, path, the body's type, what dockerd checks beyond types]. */
const BODIES: [string, RegExp, Schema, ((body: any) => void)?][] = [
  ['POST', /^\/containers\/create$/, CREATE, createRanges],
  ['POST', /^\/containers\/[^/]+\/update$/, UPDATE, resourceRanges],
  ['POST', /^\/containers\/[^/]+\/exec$/, EXEC_CREATE, execRanges],
  ['POST', /^\/networks\/create$/, NETWORK_CREATE, networkRanges],
  ['POST', /^\/networks\/[^/]+\/(dis)?connect$/, CONNECT],
  ['POST', /^\/volumes\/create$/, VOLUME_CREATE, labelsOf],
];

/** Checks a JSON body before its route runs: a 400 if it is wrong. */
export function checkBody(method: string, path: string, body: unknown)
  : void {
  checkDepth(body);
  const found = BODIES.find(([m, p]) => m === method && p.test(path));
  if (!found) return;
  const [, , schema, ranges] = found;
  // null decodes as Go's zero value, as no body does.
  if (body != null && (typeof body !== 'object' || Array.isArray(body))) {
    const type = (schema as { struct: string }).struct;
    throw new BadRequest(`json: cannot unmarshal ${Array.isArray(body)
      ? 'array' : typeof body} into Go value of type ${type}`);
  }
  check(body, schema, '');
  ranges?.(body ?? {});
}
// #endregion

// #region ranges (unused)
function createRanges(body: Record<string, any>): void {
  if (!body.Image) {
    throw new BadRequest(Object.keys(body).length ? 'No image specified'
      : 'Config cannot be empty in order to create a container');
  }
  const dir = body.WorkingDir;
  if (dir && !dir.startsWith('/')) {
    throw new BadRequest(`the working directory '${dir}' is invalid, it ` +
      'needs to be an absolute path');
  }
  sizes(body);
  const host = body.HostConfig ?? {};
  resourceRanges(host);
  for (const [key, bindings] of Object.entries(host.PortBindings ?? {})) {
    if (!/^\d{1,5}(-\d{1,5})?(\/(tcp|udp|sctp))?$/.test(key)) {
      throw new BadRequest(`invalid port specification: "${key}"`);
    }
    for (const b of (bindings as { HostPort?: string }[] | null) ?? []) {
      const port = b?.HostPort ?? '';
      if (port && !validPorts(port)) {
        throw new BadRequest(`invalid port specification: "${port}"`);
      }
    }
  }
}

function validPorts(spec: string): boolean {
  const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(spec);
  return !!m && [m[1], m[2] ?? m[1]].every((p) => Number(p) <= 65535);
}

const POLICIES = ['', 'no', 'always', 'on-failure', 'unless-stopped'];

function resourceRanges(r: Record<string, any>): void {
  dockerdRanges(r);
  for (const key of ['MemoryReservation', 'CpuShares', 'CpuQuota']) {
    if (typeof r[key] === 'number' && r[key] < 0) {
      throw new BadRequest(`invalid ${key}: ${r[key]} is negative`);
    }
  }
  const policy = r.RestartPolicy?.Name;
  if (typeof policy === 'string' && !POLICIES.includes(policy)) {
    throw new BadRequest(`invalid restart policy '${policy}'`);
  }
  if ((r.RestartPolicy?.MaximumRetryCount ?? 0) < 0) {
    throw new BadRequest('maximum retry count cannot be negative');
  }
  if (r.CpusetCpus) cpusetRange(r.CpusetCpus);
  if (r.CpusetMems) {
    fromChapter(() => parseCpuList(r.CpusetMems, '--cpuset-mems'));
  }
}

/** moby's verifyPlatformContainerResources: its ranges, its words. */
function dockerdRanges(r: Record<string, any>): void {
  const ncpu = onlineCpus().length;
  if (r.Memory && r.Memory < 6 << 20) {
    throw new BadRequest('Minimum memory limit allowed is 6MB');
  }
  if (r.NanoCpus && (r.NanoCpus < 0 || r.NanoCpus > ncpu * 1e9)) {
    throw new BadRequest(`Range of CPUs is from 0.01 to ${ncpu}.00, as ` +
      `there are only ${ncpu} CPUs available`);
  }
  if (r.CpuPeriod && (r.CpuPeriod < 1000 || r.CpuPeriod > 1_000_000)) {
    throw new BadRequest('CPU cfs period can not be less than 1ms (i.e. ' +
      '1000) or larger than 1s (i.e. 1000000)');
  }
  if (r.ShmSize < 0) {
    throw new BadRequest('SHM size can not be less than 0');
  }
}

/** A cpuset of CPUs this host has online (chapter 03's parser). */
function cpusetRange(value: string): void {
  let cpus: number[];
  try {
    cpus = parseCpuList(value);
  } catch (err) {
    throw new BadRequest(`Invalid value ${value} for cpuset cpus: ` +
      `invalid format: ${value}`, { cause: err });
  }
  const online = onlineCpus();
  if (cpus.some((cpu) => !online.includes(cpu))) {
    throw new BadRequest(`Requested CPUs are not available - requested ` +
      `${value}, available: ${formatCpuList(online)}`);
  }
}

function execRanges(body: Record<string, any>): void {
  const cmd = body.Cmd;
  if (!cmd || cmd.length === 0) {
    throw new BadRequest('No exec command specified');
  }
  sizes(body);
}

function networkRanges(body: Record<string, any>): void {
  if (!body.Name) throw new BadRequest('network name is required');
  labelsOf(body);
  for (const c of body.IPAM?.Config ?? []) {
    for (const key of ['Subnet', 'IPRange'] as const) {
      const value = c?.[key];
      if (value && !isCidr(value)) {
        throw new BadRequest(`invalid CIDR address: ${value}`);
      }
    }
    if (c?.Gateway && !isIPv4(c.Gateway)) {
      throw new BadRequest(`invalid gateway address: ${c.Gateway}`);
    }
    // A valid CIDR chapter 05 cannot make a bridge of (/31, /0).
    if (c?.Subnet) fromChapter(() => parseSubnet(c.Subnet));
  }
  const driver = body.Driver ?? '';
  if (driver !== '' && driver !== 'bridge') {
    throw new BadRequest(`network driver "${driver}": skiff has the ` +
      'bridge driver only');
  }
}

/** A chapter's parser's refusal, as the client's error. */
function fromChapter(parse: () => unknown): void {
  try {
    parse();
  } catch (err) {
    throw new BadRequest((err as Error).message, { cause: err });
  }
}
// #endregion

// #region sizes (unused)
/** Env entries and labels within MAX_STRING (limits.ts); env named. */
function sizes(body: Record<string, any>): void {
  for (const env of body.Env ?? []) {
    if (env === null) continue;
    if (env.startsWith('=')) {
      throw new BadRequest(`invalid environment variable: ${env}`);
    }
    if (Buffer.byteLength(env) > MAX_STRING) {
      throw new BadRequest(`invalid environment variable ` +
        `${env.split('=')[0].slice(0, 64)}: ${Buffer.byteLength(env)} ` +
        `bytes, over the kernel's ${MAX_STRING} (MAX_ARG_STRLEN)`);
    }
  }
  labelSizes(body.Labels);
}

function labelSizes(labels?: Record<string, string> | null): void {
  for (const [key, value] of Object.entries(labels ?? {})) {
    const bytes = Buffer.byteLength(key) + Buffer.byteLength(value ?? '');
    if (bytes > MAX_STRING) {
      throw new BadRequest(`invalid label ${key.slice(0, 64)}: ${bytes} ` +
        `bytes, over skiff's limit of ${MAX_STRING}`);
    }
  }
}

/** A volume's or network's labels (their names: volumes.ts, ch. 05). */
function labelsOf(body: Record<string, any>): void {
  labelSizes(body.Labels);
}
// #endregion

function isCidr(value: string): boolean {
  const [ip, bits, extra] = value.split('/');
  return extra === undefined && isIPv4(ip) && /^\d{1,2}$/.test(bits ?? '')
    && Number(bits) <= 32;
}
