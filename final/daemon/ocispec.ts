// From `run` flags and an image's config to an OCI runtime config.json
// (runtime-spec config.md): how docker merges the two, written out.
import type { Mount, Spec } from '../../chapters/02-namespaces/spec.ts';
import type { CreateBody, ImageConfig } from '../api-types.ts';

export const DEFAULT_PATH =
  'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

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
export function mergeArgs(body: CreateBody, image: ImageConfig): string[] {
  const entrypoint = body.Entrypoint ?? image.Entrypoint ?? [];
  const cmd = body.Cmd?.length ? body.Cmd
    : body.Entrypoint ? [] : image.Cmd ?? [];
  return [...entrypoint, ...cmd];
}
// #endregion

/** "512m" -> 536870912, docker's RAMInBytes (binary units). */
export function parseBytes(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([bkmgt]?)i?b?$/i.exec(text.trim());
  if (!m) throw new Error(`invalid size: "${text}"`);
  const unit = 'bkmgt'.indexOf((m[2] || 'b').toLowerCase());
  return Math.round(Number(m[1]) * 1024 ** unit);
}

/** The default configuration: namespaces, /proc, /dev, /sys, masks. */
export function baseSpec(): Spec {
  return {
    ociVersion: '1.0.2',
    process: {
      terminal: false, user: { uid: 0, gid: 0 }, args: ['sh'],
      env: [DEFAULT_PATH], cwd: '/', noNewPrivileges: false,
    },
    root: { path: 'rootfs', readonly: false },
    hostname: 'skiff',
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc',
        options: ['nosuid', 'noexec', 'nodev'] },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs',
        options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
      { destination: '/dev/pts', type: 'devpts', source: 'devpts',
        options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666',
          'mode=0620'] },
      { destination: '/dev/shm', type: 'tmpfs', source: 'shm',
        options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
      { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue',
        options: ['nosuid', 'noexec', 'nodev'] },
      { destination: '/sys', type: 'sysfs', source: 'sysfs',
        options: ['nosuid', 'noexec', 'nodev', 'ro'] },
    ],
    linux: {
      namespaces: ['pid', 'network', 'ipc', 'uts', 'mount', 'cgroup']
        .map((type) => ({ type: type as 'pid' })),
      maskedPaths: ['/proc/kcore', '/proc/keys', '/proc/timer_list',
        '/proc/sched_debug', '/sys/firmware', '/proc/scsi'],
      readonlyPaths: ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys',
        '/proc/sysrq-trigger'],
    },
  };
}

export interface SpecInputs {
  id: string;
  body: CreateBody;
  image: ImageConfig;
  /** Resolved -v mounts (bind or named volume). */
  mounts: Mount[];
  /** The default to start from (chapter 02's defaultSpec when present). */
  base?: Spec;
}

// #region build-spec
export function buildSpec({ id, body, image, mounts, base }: SpecInputs)
  : Spec {
  const spec = structuredClone(base ?? baseSpec());
  const hc = body.HostConfig ?? {};
  spec.hostname = body.Hostname || id.slice(0, 12);
  spec.process.args = mergeArgs(body, image);
  if (spec.process.args.length === 0) {
    throw new Error('no command specified');
  }
  spec.process.terminal = body.Tty ?? false;
  spec.process.env = mergeEnv([DEFAULT_PATH], image.Env,
    [`HOSTNAME=${spec.hostname}`], body.Tty ? ['TERM=xterm'] : [], body.Env);
  spec.process.cwd = body.WorkingDir || image.WorkingDir || '/';
  spec.root.readonly = hc.ReadonlyRootfs ?? false;
  spec.mounts = [...spec.mounts, ...mounts];
  spec.annotations = { ...spec.annotations, 'org.skiff.user':
    body.User || image.User || '' };
  spec.linux.cgroupsPath = `/skiff/${id}`;
  spec.linux.resources = resources(body);
  return spec;
}
// #endregion

function resources(body: CreateBody): Spec['linux']['resources'] {
  const hc = body.HostConfig ?? {};
  const r: NonNullable<Spec['linux']['resources']> = {};
  if (hc.Memory) r.memory = { limit: hc.Memory, swap: hc.Memory };
  if (hc.NanoCpus || hc.CpuShares || hc.CpusetCpus) {
    r.cpu = {};
    if (hc.NanoCpus) {
      r.cpu.period = 100_000;
      r.cpu.quota = Math.round(hc.NanoCpus / 1e9 * 100_000);
    }
    if (hc.CpuShares) r.cpu.shares = hc.CpuShares;
    if (hc.CpusetCpus) r.cpu.cpus = hc.CpusetCpus;
  }
  if (hc.PidsLimit && hc.PidsLimit > 0) r.pids = { limit: hc.PidsLimit };
  return r;
}

/**
 * -u "name", "uid", "uid:gid" or "name:group" against the rootfs's
 * /etc/passwd and /etc/group, as docker resolves it at start.
 */
export function resolveUser(user: string, passwd: string, group: string)
  : { uid: number; gid: number } {
  if (!user) return { uid: 0, gid: 0 };
  const [u, g] = user.split(':');
  const entries = (text: string) => text.split('\n').filter(Boolean)
    .map((l) => l.split(':'));
  const pw = entries(passwd).find((e) => e[0] === u || e[2] === u);
  const uid = /^\d+$/.test(u) ? Number(u) : pw ? Number(pw[2]) : NaN;
  if (Number.isNaN(uid)) {
    throw new Error(`unable to find user ${u}: no matching entries in ` +
      'passwd file');
  }
  if (g === undefined) return { uid, gid: pw ? Number(pw[3]) : uid };
  const gr = entries(group).find((e) => e[0] === g || e[2] === g);
  const gid = /^\d+$/.test(g) ? Number(g) : gr ? Number(gr[2]) : NaN;
  if (Number.isNaN(gid)) {
    throw new Error(`unable to find group ${g}: no matching entries in ` +
      'group file');
  }
  return { uid, gid };
}
