// From `run` flags and an image's config to a container's Config (at
// create), and from a container's record to an OCI runtime config.json
// (runtime-spec config.md, at each start): how docker does it, written
// out.
import { DEFAULT_PATH } from '../../chapters/01-chroot/chroot.ts';
import { defaultSpec } from '../../chapters/02-namespaces/defaults.ts';
import type {
  LinuxResources, Mount, NamespaceType, Spec,
} from '../../chapters/02-namespaces/spec.ts';
import {
  type SecurityChoices, withSecurity,
} from '../../chapters/06-security/defaults.ts';
import type { CreateBody, HostConfig, ImageConfig } from '../api-types.ts';
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
    Shell: body.Shell?.length ? body.Shell : image.Shell };
}
// #endregion

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
    mounts: rec.Mounts.map(ociMount), env: config.Env ?? [],
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
  const secured = secure(spec, hostConfig);
  remapSpec(secured, hostConfig.UsernsMode, host.remap);
  return secured;
}
// #endregion

/** A volume or bind of the record as an OCI mount. */
function ociMount(mount: MountPoint): Mount {
  return { destination: mount.Destination, type: 'bind',
    source: mount.Source,
    options: ['rbind', 'rprivate', mount.RW ? 'rw' : 'ro'] };
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
  return limits;
}
// #endregion

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
