// From `run` flags and an image's config to a container's Config (at
// create), and from a container's record to an OCI runtime config.json
// (runtime-spec config.md, at each start): how docker does it, written
// out.
import { statSync } from 'node:fs';
import { DEFAULT_PATH } from '../../chapters/01-chroot/chroot.ts';
import { defaultSpec } from '../../chapters/02-namespaces/defaults.ts';
import type {
  DeviceRule, LinuxDevice, LinuxResources, Mount, NamespaceType, Spec,
} from '../../chapters/02-namespaces/spec.ts';
import {
  DEFAULT_DEVICE_RULES,
} from '../../chapters/03-cgroups/controllers/devices.ts';
import {
  majorMinor, parseDeviceRule,
} from '../../chapters/03-cgroups/flags.ts';
import {
  type SecurityChoices, withSecurity,
} from '../../chapters/06-security/defaults.ts';
import type {
  CreateBody, DeviceMapping, HostConfig, ImageConfig, Ulimit,
} from '../api-types.ts';
import { containerMounts, ULIMIT_NAMES } from '../binds.ts';
import type {
  ContainerRecord, MountPoint,
} from './container/container.ts';
import { BadRequest } from './errors.ts';
import { mergeHealthcheck } from './health.ts';
import { remapSpec, type Remap } from './userns.ts';

// #region merge-env
/** Image Env, then the flags' -e, later keys replacing earlier ones. */
export function mergeEnv(...lists: (string[] | undefined)[]): string[] {
  const byKey = new Map<string, string>();
  for (const list of lists) {
    for (const kv of list ?? []) {
      const eq = kv.indexOf('=');
      byKey.set(eq < 0 ? kv : kv.slice(0, eq), kv);
    }
  }
  return [...byKey.values()];
}
// #endregion

// #region merge-args
/**
 * docker's rule: the entrypoint (flag, else image) comes first; then the
 * command line's arguments, else the image's Cmd - except that setting
 * --entrypoint drops the image's Cmd.
 */
export function mergeCommand(body: CreateBody, image: ImageConfig)
  : { Entrypoint: string[] | null; Cmd: string[] | null } {
  const cmd = body.Cmd?.length ? body.Cmd
    : body.Entrypoint ? null : image.Cmd ?? null;
  return { Entrypoint: body.Entrypoint ?? image.Entrypoint ?? null, Cmd: cmd };
}
// #endregion

// #region merge-config
/**
 * The container's Config as docker keeps it: the request's, with the
 * image's defaults filled in. A container needs its image no more.
 */
export function mergeConfig(id: string, body: CreateBody,
  image: ImageConfig): CreateBody {
  const { HostConfig: _hostConfig, ...config } = body;
  const command = mergeCommand(body, image);
  if (!command.Entrypoint?.length && !command.Cmd?.length) {
    throw new BadRequest('no command specified');
  }
  const hostname = body.Hostname || id.slice(0, 12);
  return { ...config, ...command, Hostname: hostname,
    Env: mergeEnv([DEFAULT_PATH], image.Env, [`HOSTNAME=${hostname}`],
      body.Tty ? ['TERM=xterm'] : [], body.Env),
    WorkingDir: body.WorkingDir || image.WorkingDir || '/',
    User: body.User || image.User || '',
    Healthcheck: mergeHealthcheck(body.Healthcheck, image.Healthcheck),
    Shell: body.Shell?.length ? body.Shell : image.Shell,
    ExposedPorts: union(image.ExposedPorts, body.ExposedPorts),
    Volumes: union(image.Volumes, body.Volumes) };
}
// #endregion

/** Two of docker's sets (maps to {}): both keys, or undefined. */
function union(a?: Record<string, object> | null,
  b?: Record<string, object> | null): Record<string, object> | undefined {
  const all = { ...a, ...b };
  return Object.keys(all).length ? all : undefined;
}

/** docker's namespaces: all but the user namespace (no userns-remap). */
export const DOCKER_NAMESPACES: NamespaceType[] =
  ['pid', 'mount', 'uts', 'ipc', 'network', 'cgroup'];

/** What a spec is built from: the container's record. */
export type SpecRecord = Pick<ContainerRecord,
  'Id' | 'Config' | 'HostConfig' | 'Mounts'>;

/** What the daemon adds: where cgroups go, its --userns-remap. */
export interface SpecHost {
  /** Where containers' cgroups go ("/skiff"). */
  cgroupParent: string;
  remap?: Remap;
}

// #region build-spec
/**
 * Chapter 02's defaultSpec, with what the container's record says. Made
 * afresh at each start; the start steps then add the rootfs, the user,
 * the network's files, before the init reads it.
 */
export function buildSpec(rec: SpecRecord, host: SpecHost): Spec {
  const config = rec.Config;
  const hostConfig = rec.HostConfig;
  const args = [...config.Entrypoint ?? [], ...config.Cmd ?? []];
  if (args.length === 0) throw new BadRequest('no command specified');
  const spec = defaultSpec({
    rootfs: '/', args, namespaces: DOCKER_NAMESPACES,
    hostname: config.Hostname, init: !!hostConfig.Init,
    readonly: hostConfig.ReadonlyRootfs ?? false,
    mounts: specMounts(rec), env: config.Env ?? [],
    cwd: config.WorkingDir || '/',
  });
  spec.process.terminal = config.Tty ?? false;
  const [height, width] = hostConfig.ConsoleSize ?? [0, 0];
  if (config.Tty && height > 0 && width > 0) {
    spec.process.consoleSize = { height, width };
  }
  spec.annotations = { 'org.skiff.user': config.User ?? '' };
  spec.linux.cgroupsPath = `${host.cgroupParent}/${rec.Id}`;
  spec.linux.resources = resources(hostConfig);
  hostSettings(spec, hostConfig, config.Domainname);
  const secured = secure(spec, hostConfig);
  remapSpec(secured, hostConfig.UsernsMode, host.remap);
  return secured;
}
// #endregion

// #region spec-mounts
/**
 * -v, --mount, --tmpfs and the image's VOLUMEs as OCI mounts, read
 * again from the record by final/binds.ts's containerMounts: a bind or
 * volume from where create found or made it (rec.Mounts), a tmpfs with
 * its options.
 */
export function specMounts(rec: SpecRecord): Mount[] {
  const made = new Map(rec.Mounts.map((m) => [m.Destination, m]));
  return containerMounts(rec.HostConfig, rec.Config.Volumes)
    .flatMap((m): Mount[] => {
      if (m.type === 'tmpfs') {
        return [{ destination: m.destination, type: 'tmpfs',
          source: 'tmpfs', options: m.options }];
      }
      // A record older than its mounts' list (made before VOLUMEs
      // were read) has none there: nothing to mount.
      const source = made.get(m.destination)?.Source;
      return source ? [{ destination: m.destination, type: 'bind', source,
        options: ['rbind', m.propagation || 'rprivate',
          m.readOnly ? 'ro' : 'rw'] }] : [];
    });
}
// #endregion

/** The volumes to seed with the image's files at a start (nocopy). */
export function volumesToSeed(rec: SpecRecord)
  : { source: string; destination: string }[] {
  const made = new Map(rec.Mounts.map((m) => [m.Destination, m]));
  return containerMounts(rec.HostConfig, rec.Config.Volumes)
    .filter((m) => m.type === 'volume' && !m.noCopy)
    .map((m) => ({ destination: m.destination,
      source: made.get(m.destination)?.Source ?? '' }))
    .filter((m) => m.source);
}

// #region host-settings (unused)
/**
 * The rest of HostConfig that lands in the spec: --ulimit, --sysctl,
 * --domainname,
 * --shm-size, --group-add (names resolved with -u at start), and
 * --device, each node made in /dev and allowed by the devices cgroup.
 */
function hostSettings(spec: Spec, hostConfig: HostConfig,
  domainname = ''): void {
  spec.process.rlimits = (hostConfig.Ulimits ?? []).map(rlimit);
  const network = hostConfig.NetworkMode ?? '';
  for (const key of Object.keys(hostConfig.Sysctls ?? {})) {
    checkSysctl(key, network);
  }
  // --domainname: the UTS namespace's, as runc sets it.
  const domain: Record<string, string> = domainname
    ? { 'kernel.domainname': domainname } : {};
  spec.linux.sysctl = { ...hostConfig.Sysctls, ...domain };
  if (hostConfig.ShmSize) {
    const shm = spec.mounts.find((m) => m.destination === '/dev/shm');
    if (shm) shm.options = [...shm.options ?? [],
      `size=${hostConfig.ShmSize}`];
  }
  if (hostConfig.GroupAdd?.length) {
    spec.annotations = { ...spec.annotations,
      'org.skiff.groups': hostConfig.GroupAdd.join(',') };
  }
  const devices = (hostConfig.Devices ?? []).map(hostDevice);
  if (devices.length) {
    spec.linux.devices = [...spec.linux.devices ?? [],
      ...devices.map((d) => d.device)];
    spec.linux.resources = { ...spec.linux.resources,
      devices: [...spec.linux.resources?.devices ?? DEFAULT_DEVICE_RULES,
        ...devices.map((d) => d.rule)] };
  }
}
// #endregion

function rlimit(u: Ulimit): { type: string; soft: number; hard: number } {
  if (!ULIMIT_NAMES.includes(u.Name)) {
    throw new BadRequest(`invalid ulimit type: ${u.Name}`);
  }
  if (u.Soft > u.Hard && u.Hard >= 0) {
    throw new BadRequest('ulimit soft limit must be less than or equal ' +
      `to hard limit: ${u.Soft} > ${u.Hard}`);
  }
  return { type: `RLIMIT_${u.Name.toUpperCase()}`, soft: u.Soft,
    hard: u.Hard };
}

/**
 * A sysctl the container may set: only those of namespaces it has of
 * its own (IPC, UTS, network unless --network host), as runc checks;
 * any other would set the host's value (sysctl(8), namespaces(7)).
 */
function checkSysctl(key: string, network: string): void {
  const ipc = ['kernel.msgmax', 'kernel.msgmnb', 'kernel.msgmni',
    'kernel.sem', 'kernel.shmall', 'kernel.shmmax', 'kernel.shmmni',
    'kernel.shm_rmid_forced'];
  const ok = ipc.includes(key) || key.startsWith('fs.mqueue.') ||
    (key.startsWith('net.') && network !== 'host');
  if (!ok) {
    throw new BadRequest(`sysctl "${key}" is not in a separate kernel ` +
      'namespace');
  }
}

/**
 * --device /dev/x[:/dev/y][:rwm]: the host's node, made at the same
 * (or the given) path, and the cgroup rule that lets it be opened.
 */
function hostDevice(d: DeviceMapping): { device: LinuxDevice;
  rule: DeviceRule } {
  const cause = (why: string) => new BadRequest('error gathering device ' +
    `information while adding custom device "${d.PathOnHost}": ${why}`);
  let st;
  try {
    st = statSync(d.PathOnHost);
  } catch {
    throw cause('no such file or directory');
  }
  if (!st.isCharacterDevice() && !st.isBlockDevice()) {
    throw cause('not a device node');
  }
  const type = st.isBlockDevice() ? 'b' as const : 'c' as const;
  const { major, minor } = majorMinor(BigInt(st.rdev));
  return {
    device: { path: d.PathInContainer || d.PathOnHost, type, major, minor,
      fileMode: st.mode & 0o7777, uid: st.uid, gid: st.gid,
      hostPath: d.PathOnHost },
    rule: { allow: true, type, major, minor,
      access: d.CgroupPermissions || 'rwm' },
  };
}

// #region security (unused)
// #region secure
/** Chapter 06's defaults, with --cap-add/--cap-drop/--privileged and
 * --security-opt; an unknown name or a bad profile is the client's
 * error (400), found before anything is created. */
function secure(spec: Spec, hostConfig: HostConfig): Spec {
  try {
    return withSecurity(spec, {
      ...securityOpts(hostConfig.SecurityOpt ?? []),
      capAdd: hostConfig.CapAdd ?? [], capDrop: hostConfig.CapDrop ?? [],
      privileged: !!hostConfig.Privileged });
  } catch (err) {
    throw new BadRequest((err as Error).message);
  }
}
// #endregion

/** docker's --security-opt forms (moby's parseSecurityOpt). */
export function securityOpts(opts: string[]): SecurityChoices {
  const choices: SecurityChoices = { label: [] };
  for (const opt of opts) {
    if (opt === 'no-new-privileges') {
      choices.noNewPrivileges = true;
      continue;
    }
    if (opt === 'disable') {
      choices.label!.push('disable');
      continue;
    }
    const sep = opt.includes('=') ? '=' : ':';
    const at = opt.indexOf(sep);
    if (at < 0) throw new Error(`invalid --security-opt 1: "${opt}"`);
    const [key, value] = [opt.slice(0, at), opt.slice(at + 1)];
    if (key === 'label') choices.label!.push(value);
    else if (key === 'apparmor') choices.apparmor = value;
    else if (key === 'seccomp') choices.seccomp = value;
    else if (key === 'no-new-privileges' && /^(true|false|1|0)$/i
      .test(value)) {
      choices.noNewPrivileges = /^(true|1)$/i.test(value);
    } else throw new Error(`invalid --security-opt 2: "${opt}"`);
  }
  return choices;
}
// #endregion

// #region resources
/** docker's HostConfig limits as OCI resources (chapter 03 applies them). */
export function resources(hostConfig: HostConfig): LinuxResources {
  const { Memory, MemorySwap, MemoryReservation, NanoCpus, CpuQuota,
    CpuPeriod, CpuShares, CpusetCpus, CpusetMems, PidsLimit,
    BlkioWeight } = hostConfig;
  const limits: LinuxResources = {};
  if (Memory || MemoryReservation) {
    limits.memory = {};
    if (Memory) limits.memory.limit = Memory;
    if (Memory && MemorySwap) limits.memory.swap = MemorySwap;
    if (MemoryReservation) limits.memory.reservation = MemoryReservation;
  }
  if (NanoCpus || CpuQuota || CpuPeriod || CpuShares || CpusetCpus ||
    CpusetMems) {
    limits.cpu = {};
    if (NanoCpus) {
      limits.cpu.period = 100_000;
      limits.cpu.quota = Math.round(NanoCpus / 1e9 * 100_000);
    }
    if (CpuPeriod) limits.cpu.period = CpuPeriod;
    if (CpuQuota) limits.cpu.quota = CpuQuota;
    if (CpuShares) limits.cpu.shares = CpuShares;
    if (CpusetCpus) limits.cpu.cpus = CpusetCpus;
    if (CpusetMems) limits.cpu.mems = CpusetMems;
  }
  if (PidsLimit && PidsLimit > 0) limits.pids = { limit: PidsLimit };
  if (BlkioWeight) limits.blockIO = { weight: BlkioWeight };
  deviceRules(limits, hostConfig);
  return limits;
}
// #endregion

/** --device-cgroup-rule: more devices (chapter 03's rule parser). */
function deviceRules(limits: LinuxResources, h: HostConfig): void {
  if (h.DeviceCgroupRules?.length) {
    try {
      limits.devices = [...DEFAULT_DEVICE_RULES,
        ...h.DeviceCgroupRules.map(parseDeviceRule)];
    } catch (err) {
      throw new BadRequest((err as Error).message, { cause: err });
    }
  }
}

/**
 * -u "name", "uid", "uid:gid" or "name:group" against the rootfs's
 * /etc/passwd and /etc/group, as docker resolves it at start.
 */
export function resolveUser(user: string, passwd: string, group: string)
  : { uid: number; gid: number } {
  if (!user) return { uid: 0, gid: 0 };
  const [userName, groupName] = user.split(':');
  const entries = (text: string) => text.split('\n').filter(Boolean)
    .map((line) => line.split(':'));
  const named = (text: string, name: string) => entries(text)
    .find((entry) => entry[0] === name || entry[2] === name);
  const userEntry = named(passwd, userName);
  const uid = /^\d+$/.test(userName) ? Number(userName)
    : userEntry ? Number(userEntry[2]) : NaN;
  if (Number.isNaN(uid)) {
    throw new Error(`unable to find user ${userName}: no matching ` +
      'entries in passwd file');
  }
  if (groupName === undefined) {
    return { uid, gid: userEntry ? Number(userEntry[3]) : uid };
  }
  const groupEntry = named(group, groupName);
  const gid = /^\d+$/.test(groupName) ? Number(groupName)
    : groupEntry ? Number(groupEntry[2]) : NaN;
  if (Number.isNaN(gid)) {
    throw new Error(`unable to find group ${groupName}: no matching ` +
      'entries in group file');
  }
  return { uid, gid };
}
