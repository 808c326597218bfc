// `-v` as docker reads it: `/host:/ctr[:ro]` binds a host path,
// `name:/ctr[:ro]` a named volume, `/ctr` an anonymous one. The one
// parser of -v: the CLI checks with it before it sends anything, the
// daemon turns what any API client sends into mounts with it. Kept
// free of imports but node:path (and types): `skiff run` loads it.
import { isAbsolute, posix, resolve } from 'node:path';
import type { ApiMount, Ulimit } from './api-types.ts';

export interface BindSpec {
  /** A host path (absolute), a volume's name, or "" for a new volume. */
  source: string;
  destination: string;
  readOnly: boolean;
}

// #region parse-bind
/** One `-v` value; throws, naming it, when it is not one of the forms. */
export function parseBind(text: string): BindSpec {
  const parts = text.split(':');
  if (parts.length === 1) parts.unshift('');
  const [source, destination, mode = 'rw'] = parts;
  // ro or rw, then options we accept and ignore (z, nocopy, rprivate).
  if (parts.length > 3 || !destination || !isAbsolute(destination) ||
    !/^(ro|rw)(,.*)?$|^$/.test(mode)) {
    throw Object.assign(new Error('invalid volume specification: ' +
      `'${text}'`), { exitCode: 125 });
  }
  return { source, destination, readOnly: mode.startsWith('ro') };
}
// #endregion

/**
 * As the docker CLI (since 23.0): a source that starts with "." is a
 * path relative to where the command runs, made absolute here since
 * the daemon runs elsewhere; any other relative name is a volume's.
 */
export function absoluteBind(text: string, cwd = process.cwd()): string {
  const b = parseBind(text);
  if (!b.source.startsWith('.')) return text;
  return [resolve(cwd, b.source), ...text.split(':').slice(1)].join(':');
}

// The daemon's side: every way a container asks for a mount (-v,
// --mount, --tmpfs, an image's VOLUME) read into one shape, with the
// errors moby's volume/mounts/linux_parser.go answers.

/** One mount of a container, whichever flag asked for it. */
export interface MountSpec {
  type: 'bind' | 'volume' | 'tmpfs';
  /** bind: a host path; volume: a name, "" for a new anonymous one. */
  source: string;
  destination: string;
  readOnly: boolean;
  /** bind: rprivate unless asked (mount_namespaces(7)). */
  propagation: string;
  /** volume: not seeded with the image's files (volume-nocopy). */
  noCopy: boolean;
  /** tmpfs: mount(8) options after docker's noexec,nosuid,nodev. */
  options: string[];
  /** What docker inspect shows as Mode (-v's text after the paths). */
  mode: string;
  /** volume: labels and the local driver's options, at creation. */
  labels?: Record<string, string>;
  driverOpts?: Record<string, string>;
}

const PROPAGATIONS = ['private', 'rprivate', 'shared', 'rshared',
  'slave', 'rslave'];

/** docker's 400s; the daemon turns them into BadRequest. */
function mountError(type: string, why: string): Error {
  return Object.assign(new Error(`invalid mount config for type ` +
    `"${type}": ${why}`), { exitCode: 125 });
}

function checkTarget(type: string, target: string | undefined): string {
  if (!target) throw mountError(type, 'field Target must not be empty');
  if (!isAbsolute(target)) {
    throw mountError(type, `invalid mount path: '${target}' mount ` +
      'path must be absolute');
  }
  return target;
}

// #region bind-mount (unused)
/** One -v value as a MountSpec: its mode's ro, propagation, nocopy. */
export function bindMount(text: string): MountSpec {
  const b = parseBind(text);
  const mode = text.split(':')[2] ?? '';
  const opts = mode.split(',').filter(Boolean);
  // z/Z (SELinux) and the consistency modes of Docker Desktop: ignored
  // on Linux, as dockerd ignores them.
  const unknown = opts.find((o) => !['ro', 'rw', 'z', 'Z', 'nocopy',
    'consistent', 'cached', 'delegated', ...PROPAGATIONS].includes(o));
  if (unknown) {
    throw Object.assign(new Error('invalid mode: ' + mode),
      { exitCode: 125 });
  }
  const volume = !isAbsolute(b.source);
  // dockerd shows a volume's mode as "z" (an SELinux relabel) unless set
  return { type: volume ? 'volume' : 'bind', source: b.source,
    destination: b.destination, readOnly: b.readOnly,
    mode: volume && b.source && !mode ? 'z' : mode,
    propagation: volume ? ''
      : opts.find((o) => PROPAGATIONS.includes(o)) ?? 'rprivate',
    noCopy: opts.includes('nocopy'), options: [] };
}
// #endregion

// #region api-mount (unused)
/** One HostConfig.Mounts entry (`--mount`), checked as dockerd does. */
export function apiMount(m: ApiMount): MountSpec {
  const type = m.Type ?? '';
  if (!['bind', 'volume', 'tmpfs'].includes(type)) {
    throw mountError(type, 'mount type unknown');
  }
  const destination = checkTarget(type, m.Target);
  const source = m.Source ?? '';
  const spec: MountSpec = { type: type as MountSpec['type'], source,
    destination, readOnly: !!m.ReadOnly, propagation: '', noCopy: false,
    options: [], mode: '' };
  for (const [field, set] of [['BindOptions', m.BindOptions],
    ['VolumeOptions', m.VolumeOptions], ['TmpfsOptions', m.TmpfsOptions],
  ] as const) {
    if (set && !field.toLowerCase().startsWith(type)) {
      throw mountError(type, `field ${field} must not be specified`);
    }
  }
  if (type === 'bind') return bindOf(spec, m);
  if (type === 'tmpfs') return tmpfsOf(spec, m);
  if (!source && spec.readOnly) {
    throw mountError(type, 'must not set ReadOnly mode when using ' +
      'anonymous volumes');
  }
  const vo = m.VolumeOptions ?? {};
  return { ...spec, mode: 'z', noCopy: !!vo.NoCopy,
    labels: vo.Labels ?? undefined,
    driverOpts: vo.DriverConfig?.Options ?? undefined };
}
// #endregion

function bindOf(spec: MountSpec, m: ApiMount): MountSpec {
  if (!spec.source) throw mountError('bind', 'field Source must not be empty');
  if (!isAbsolute(spec.source)) {
    throw mountError('bind', `invalid mount path: '${spec.source}' ` +
      'mount path must be absolute');
  }
  const propagation = m.BindOptions?.Propagation || 'rprivate';
  if (!PROPAGATIONS.includes(propagation)) {
    throw mountError('bind', `invalid propagation mode: ${propagation}`);
  }
  return { ...spec, propagation };
}

/** --mount's tmpfs-size and tmpfs-mode as mount(8) options. */
function tmpfsOf(spec: MountSpec, m: ApiMount): MountSpec {
  if (spec.source) {
    throw mountError('tmpfs', 'field Source must not be specified');
  }
  const { SizeBytes: size = 0, Mode: mode = 0 } = m.TmpfsOptions ?? {};
  const options = spec.readOnly ? ['ro'] : [];
  if (mode) options.push(`mode=${mode.toString(8)}`);
  if (size) options.push(`size=${sizeText(size)}`);
  return tmpfsMount(spec.destination, options.join(','), spec);
}

/** As moby's ConvertTmpfsOptions: the largest unit that divides it. */
function sizeText(bytes: number): string {
  const units: [string, number][] = [['g', 2 ** 30], ['m', 2 ** 20],
    ['k', 1024]];
  for (const [unit, n] of units) {
    if (bytes % n === 0) return `${bytes / n}${unit}`;
  }
  return String(bytes);
}

// #region tmpfs-mount
/** mount(8)'s flags docker takes in --tmpfs options (pkg/mount). */
const TMPFS_FLAGS = ['defaults', 'ro', 'rw', 'suid', 'nosuid', 'dev',
  'nodev', 'exec', 'noexec', 'sync', 'async', 'dirsync', 'mand',
  'nomand', 'atime', 'noatime', 'diratime', 'nodiratime', 'relatime',
  'norelatime', 'strictatime', 'nostrictatime', ...PROPAGATIONS];
/** And the keys tmpfs(5) takes as data. */
const TMPFS_DATA = ['size', 'mode', 'uid', 'gid', 'nr_inodes',
  'nr_blocks', 'mpol'];

/**
 * `--tmpfs /run:size=64m,exec`: docker's defaults noexec, nosuid and
 * nodev first, so that the user's exec, suid or dev overrides them.
 */
export function tmpfsMount(destination: string, data: string,
  base?: MountSpec): MountSpec {
  if (!isAbsolute(destination)) {
    throw Object.assign(new Error(`invalid mount path: '${destination}' ` +
      'mount path must be absolute'), { exitCode: 125 });
  }
  const options = data.split(',').filter(Boolean);
  for (const o of options) {
    const kv = o.split('=');
    if (TMPFS_FLAGS.includes(o) || TMPFS_DATA.includes(kv[0])) continue;
    throw Object.assign(new Error('invalid tmpfs option ' +
      `[${kv.map((s) => JSON.stringify(s)).join(' ')}]`),
    { exitCode: 125 });
  }
  return { type: 'tmpfs', source: '', destination, propagation: '',
    noCopy: false, mode: '', ...base,
    readOnly: options.includes('ro'),
    options: ['noexec', 'nosuid', 'nodev', ...options] };
}
// #endregion

// #region container-mounts
/**
 * Everything a container mounts besides its rootfs, in the order the
 * init mounts them (parents before children, as moby's sortMounts):
 * -v (Binds), --mount (Mounts), --tmpfs, then an anonymous volume for
 * each of the image's VOLUME lines no mount covers. Run at create and
 * again at each start: the same HostConfig gives the same list.
 */
export function containerMounts(host: {
  Binds?: string[] | null; Mounts?: ApiMount[] | null;
  Tmpfs?: Record<string, string> | null;
}, imageVolumes: Record<string, object> | null = {}): MountSpec[] {
  const binds = (host.Binds ?? []).map(bindMount);
  const tmpfs = new Set(Object.keys(host.Tmpfs ?? {}).map(cleanPath));
  const byDest = new Map<string, MountSpec>();
  for (const m of [...binds, ...(host.Mounts ?? []).map(apiMount)]) {
    m.destination = cleanPath(m.destination);
    // A -v where a --tmpfs is, too (moby's registerMountPoints).
    if (byDest.has(m.destination) ||
      (binds.includes(m) && tmpfs.has(m.destination))) {
      throw Object.assign(new Error('Duplicate mount point: ' +
        m.destination), { exitCode: 125 });
    }
    byDest.set(m.destination, m);
  }
  // --tmpfs replaces a --mount at the same place, as dockerd's does.
  for (const [dest, data] of Object.entries(host.Tmpfs ?? {})) {
    const m = tmpfsMount(dest, data);
    m.destination = cleanPath(dest);
    byDest.set(m.destination, m);
  }
  for (const dest of Object.keys(imageVolumes ?? {})) {
    const clean = cleanPath(dest);
    if (!byDest.has(clean)) byDest.set(clean, { type: 'volume', source: '',
      destination: clean, readOnly: false, propagation: '', noCopy: false,
      options: [], mode: '' });
  }
  const depth = (m: MountSpec) => m.destination.split('/').length;
  return [...byDest.values()].sort((a, b) => depth(a) - depth(b));
}
// #endregion

function cleanPath(path: string): string {
  return posix.normalize(path).replace(/(.)\/+$/, '$1');
}

// #region mount-flag (unused)
/**
 * The client's side of `--mount type=bind,src=/x,dst=/y,ro`: docker's
 * CSV of key=value fields (opts/mount.go), as HostConfig.Mounts.
 */
export function parseMountFlag(text: string): ApiMount {
  const bad = (why: string) => Object.assign(new Error('invalid argument ' +
    `"${text}" for "--mount" flag: ${why}`), { exitCode: 125 });
  const m: ApiMount = { Type: 'volume' };
  const vol = () => (m.VolumeOptions ??= {});
  for (const field of text.split(',')) {
    const eq = field.indexOf('=');
    const key = (eq < 0 ? field : field.slice(0, eq)).toLowerCase();
    const value = eq < 0 ? '' : field.slice(eq + 1);
    if (eq < 0 && !['readonly', 'ro', 'volume-nocopy'].includes(key)) {
      throw bad(`invalid field '${field}' must be a key=value pair`);
    }
    const yes = eq < 0 || /^(1|true)$/i.test(value);
    if (key === 'type') m.Type = value;
    else if (key === 'source' || key === 'src') m.Source = value;
    else if (['target', 'dst', 'destination'].includes(key)) m.Target = value;
    else if (key === 'readonly' || key === 'ro') m.ReadOnly = yes;
    else if (key === 'bind-propagation') m.BindOptions = { Propagation: value };
    else if (key === 'volume-nocopy') vol().NoCopy = yes;
    else if (key === 'volume-label') {
      const [k, v = ''] = value.split('=');
      vol().Labels = { ...vol().Labels, [k]: v };
    } else if (key === 'tmpfs-size' || key === 'tmpfs-mode') {
      const t = (m.TmpfsOptions ??= {});
      if (key === 'tmpfs-mode') t.Mode = parseInt(value, 8);
      else t.SizeBytes = sizeBytes(value);
    } else throw bad(`unexpected key '${key}' in '${field}'`);
  }
  if (!m.Target) throw bad('target is required');
  if (m.VolumeOptions && m.Type !== 'volume') {
    throw bad(`cannot mix 'volume-*' options with mount type '${m.Type}'`);
  }
  return m;
}
// #endregion

/** "64m" as bytes (binary units, as docker's RAMInBytes). */
function sizeBytes(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?$/i.exec(text);
  if (!m) {
    throw Object.assign(new Error(`invalid size: '${text}'`),
      { exitCode: 125 });
  }
  const pow = ' kmgt'.indexOf(m[2].toLowerCase() || ' ');
  return Math.round(Number(m[1]) * 1024 ** pow);
}

/** `--ulimit nofile=1024[:2048]`, checked as the docker CLI does. */
export function parseUlimit(text: string): Ulimit {
  const [name, limits = ''] = text.split('=');
  const bad = (why: string) => Object.assign(new Error('invalid argument ' +
    `"${text}" for "--ulimit" flag: ${why}`), { exitCode: 125 });
  if (!ULIMIT_NAMES.includes(name)) throw bad(`invalid ulimit type: ${name}`);
  const [soft, hard = soft] = limits.split(':');
  if (!/^-?\d+$/.test(soft) || !/^-?\d+$/.test(hard)) {
    throw bad(`invalid ulimit argument: ${limits}`);
  }
  if (Number(soft) > Number(hard) && Number(hard) >= 0) {
    throw bad('ulimit soft limit must be less than or equal to hard ' +
      `limit: ${soft} > ${hard}`);
  }
  return { Name: name, Soft: Number(soft), Hard: Number(hard) };
}

/** docker's --ulimit names: setrlimit(2)'s RLIMIT_*, lowercase. */
export const ULIMIT_NAMES = ['core', 'cpu', 'data', 'fsize', 'locks',
  'memlock', 'msgqueue', 'nice', 'nofile', 'nproc', 'rss', 'rtprio',
  'rttime', 'sigpending', 'stack'];
