// An OCI bundle (runtime-spec bundle.md): a directory holding
// config.json and the root filesystem it names. This is the one reader
// of config.json: it checks every field against what skiff does, so
// that a field skiff cannot honour fails the create, naming the field,
// instead of a container that silently differs from its spec.
import { existsSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { RLIMITS } from '../../chapters/02-namespaces/process.ts';
import { isAbsolute, resolve } from 'node:path';
import type {
  Hook, Process, Spec,
} from '../../chapters/02-namespaces/spec.ts';
import {
  normalizeCapability,
} from '../../chapters/06-security/capabilities.ts';
import { selinuxEnabled } from '../../chapters/06-security/lsm.ts';
import { RuntimeError } from './store.ts';


export type HookName = 'prestart' | 'createRuntime' | 'createContainer'
  | 'startContainer' | 'poststart' | 'poststop';

export type Hooks = Partial<Record<HookName, Hook[]>>;

export interface Bundle {
  dir: string;
  spec: Spec;
  hooks: Hooks;
  annotations: Record<string, string>;
}

/**
 * Every field skiff reads, by its path in config.json ("[]" for each
 * element of an array, "*" for any key of a map). A field missing here
 * is refused. IGNORED are those the spec lets a runtime ignore.
 */
const KNOWN = new Set([
  'ociVersion', 'hostname', 'domainname', 'annotations', 'annotations.*',
  'root', 'root.path', 'root.readonly',
  'process', 'process.terminal', 'process.consoleSize',
  'process.consoleSize.height', 'process.consoleSize.width',
  'process.user', 'process.user.uid', 'process.user.gid',
  'process.user.umask', 'process.user.additionalGids',
  'process.user.additionalGids.[]', 'process.args', 'process.args.[]',
  'process.env', 'process.env.[]', 'process.cwd',
  'process.capabilities', 'process.capabilities.*',
  'process.capabilities.*.[]', 'process.rlimits', 'process.rlimits.[]',
  'process.rlimits.[].type', 'process.rlimits.[].soft',
  'process.rlimits.[].hard', 'process.noNewPrivileges',
  'process.oomScoreAdj', 'process.apparmorProfile',
  'process.selinuxLabel',
  'mounts', 'mounts.[]', 'mounts.[].destination', 'mounts.[].type',
  'mounts.[].source', 'mounts.[].options', 'mounts.[].options.[]',
  'hooks', 'hooks.*', 'hooks.*.[]', 'hooks.*.[].path',
  'hooks.*.[].args', 'hooks.*.[].args.[]', 'hooks.*.[].env',
  'hooks.*.[].env.[]', 'hooks.*.[].timeout',
  'linux', 'linux.namespaces', 'linux.namespaces.[]',
  'linux.namespaces.[].type', 'linux.namespaces.[].path',
  'linux.uidMappings', 'linux.uidMappings.[]', 'linux.uidMappings.[].*',
  'linux.gidMappings', 'linux.gidMappings.[]', 'linux.gidMappings.[].*',
  'linux.devices', 'linux.devices.[]', 'linux.devices.[].*',
  'linux.cgroupsPath', 'linux.rootfsPropagation',
  'linux.maskedPaths', 'linux.maskedPaths.[]',
  'linux.readonlyPaths', 'linux.readonlyPaths.[]',
  'linux.mountLabel', 'linux.personality', 'linux.personality.domain',
  'linux.personality.flags', 'linux.personality.flags.[]',
  'linux.sysctl', 'linux.sysctl.*',
  'linux.seccomp', 'linux.seccomp.defaultAction',
  'linux.seccomp.defaultErrnoRet', 'linux.seccomp.architectures',
  'linux.seccomp.architectures.[]', 'linux.seccomp.flags',
  'linux.seccomp.flags.[]', 'linux.seccomp.syscalls',
  'linux.seccomp.syscalls.[]', 'linux.seccomp.syscalls.[].*',
  'linux.seccomp.syscalls.[].*.[]', 'linux.seccomp.syscalls.[].*.[].*',
  'linux.resources', 'linux.resources.devices',
  'linux.resources.devices.[]', 'linux.resources.devices.[].*',
  'linux.resources.memory', 'linux.resources.memory.limit',
  'linux.resources.memory.reservation', 'linux.resources.memory.swap',
  'linux.resources.cpu', 'linux.resources.cpu.shares',
  'linux.resources.cpu.quota', 'linux.resources.cpu.period',
  'linux.resources.cpu.cpus', 'linux.resources.cpu.mems',
  'linux.resources.pids', 'linux.resources.pids.limit',
  'linux.resources.blockIO', 'linux.resources.blockIO.weight',
  // The rest of the resources, all applied by chapter 03's manager
  // (a field one cgroup version has no file for fails there, by name).
  ...['memory.kernel', 'memory.kernelTCP', 'memory.swappiness',
    'memory.disableOOMKiller', 'memory.useHierarchy',
    'memory.checkBeforeUpdate', 'cpu.realtimeRuntime', 'cpu.realtimePeriod',
    'cpu.idle', 'blockIO.leafWeight', 'blockIO.weightDevice',
    'blockIO.weightDevice.[]', 'blockIO.weightDevice.[].*',
    'hugepageLimits', 'hugepageLimits.[]', 'hugepageLimits.[].*',
    'network', 'network.classID', 'network.priorities',
    'network.priorities.[]', 'network.priorities.[].*', 'rdma', 'rdma.*',
    'rdma.*.*', 'unified', 'unified.*',
  ].map((f) => `linux.resources.${f}`),
  ...['Read', 'Write'].flatMap((rw) => ['Bps', 'IOPS'].flatMap((u) => {
    const f = `linux.resources.blockIO.throttle${rw}${u}Device`;
    return [f, `${f}.[]`, `${f}.[].*`];
  })),
]);
// #region known-fields
/**
 * Fields the spec defines that skiff does not do: refused by name. A
 * property the spec does not define is ignored, as config.md
 * ("Extensibility") requires. IGNORED are those the spec lets a runtime
 * ignore.
 */
const UNSUPPORTED = ['solaris', 'windows', 'vm', 'zos',
  'linux.resources.cpu.burst', // chapter 03's burst lab adds it
  'process.scheduler', 'process.ioPriority', 'process.execCPUAffinity',
  'process.commandLine', 'process.user.username',
  'mounts.[].uidMappings', 'mounts.[].gidMappings',
  'linux.timeOffsets', 'linux.memoryPolicy', 'linux.netDevices',
  'linux.seccomp.listenerPath', 'linux.seccomp.listenerMetadata',
];
const IGNORED = ['linux.intelRdt'];
// #endregion

// #region unsupported-field
/** The first field of `value` the spec has and skiff does not do. */
function unsupportedField(value: unknown, path: string,
  pattern: string): string | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const entries = Array.isArray(value)
    ? value.map((v) => ['[]', v] as const)
    : Object.entries(value);
  for (const [key, v] of entries) {
    const here = pattern ? `${pattern}.${key}` : key;
    const star = pattern ? `${pattern}.*` : '*';
    const shown = path ? (key === '[]' ? `${path}[]` : `${path}.${key}`)
      : key;
    const p = KNOWN.has(here) ? here : KNOWN.has(star) ? star : undefined;
    if (!p) {
      if (UNSUPPORTED.includes(here) && v !== undefined && v !== null &&
        !IGNORED.includes(here)) return shown;
      continue; // not the spec's: ignored
    }
    const deeper = unsupportedField(v, shown, p);
    if (deeper) return deeper;
  }
  return undefined;
}
// #endregion

/** An OCI process.json (exec --process), checked as config's process. */
export function checkProcess(p: Record<string, any>): Process {
  if (p === null || typeof p !== 'object') fail('process', 'not an object');
  const unknown = unsupportedField(p, 'process', 'process');
  if (unknown) fail(unknown, 'not supported by skiff-runtime');
  if (!Array.isArray(p.args) || p.args.length === 0) {
    fail('process.args', 'missing');
  }
  return { cwd: '/', env: [], ...p,
    user: { uid: 0, gid: 0, ...p.user } } as unknown as Process;
}

function fail(field: string, why: string): never {
  throw new RuntimeError(`config.json: ${field}: ${why}`);
}

// #region load-bundle
/** Reads and checks BUNDLE/config.json; the spec skiff will run. */
export function loadBundle(dir: string): Bundle {
  const bundle = resolve(dir);
  let config: Record<string, any>;
  try {
    config = JSON.parse(readFileSync(`${bundle}/config.json`, 'utf8'));
  } catch (err) {
    throw new RuntimeError(`read ${bundle}/config.json: ${
      (err as Error).message}`, { cause: err });
  }
  if (config === null || typeof config !== 'object') {
    fail('(top)', 'not a JSON object');
  }
  const unknown = unsupportedField(config, '', '');
  if (unknown) fail(unknown, 'not supported by skiff-runtime');
  if (!/^1\.\d+\.\d+/.test(String(config.ociVersion))) {
    fail('ociVersion', `"${config.ociVersion}" is not a 1.x version`);
  }
  if (!config.root?.path) fail('root.path', 'missing');
  checkHooks(config.hooks ?? {});
  if (config.linux?.mountLabel && selinuxEnabled()) {
    fail('linux.mountLabel', 'SELinux mount labels are not supported');
  }
  const spec = toSpec(config, bundle);
  return { dir: bundle, spec, hooks: config.hooks ?? {},
    annotations: config.annotations ?? {} };
}
// #endregion

/** config.json as chapter 02's Spec, with the bundle's paths resolved. */
function toSpec(c: Record<string, any>, bundle: string): Spec {
  const root = isAbsolute(c.root.path) ? c.root.path
    : resolve(bundle, c.root.path);
  if (!existsSync(root) || !statSync(root).isDirectory()) {
    fail('root.path', `${root}: not a directory`);
  }
  const linux = { namespaces: [], ...c.linux };
  linux.namespaces = checkNamespaces(linux.namespaces);
  const persona = linux.personality;
  if (persona && !['LINUX', 'LINUX32'].includes(persona.domain)) {
    fail('linux.personality.domain', `"${persona.domain}" not supported`);
  }
  if (persona?.flags?.length) {
    fail('linux.personality.flags', 'not supported');
  }
  checkCgroupsPath(linux.cgroupsPath);
  if (c.domainname) {
    if (!linux.namespaces.some((n: { type: string }) => n.type === 'uts')) {
      fail('domainname', 'needs a new uts namespace');
    }
    linux.sysctl = { ...linux.sysctl, 'kernel.domainname': c.domainname };
  }
  // process is optional until start (config.md): none, no args.
  const process = { cwd: '/', env: [], args: [], ...c.process,
    user: { uid: 0, gid: 0, ...c.process?.user } };
  if (c.process && (!Array.isArray(process.args) ||
    process.args.length === 0)) fail('process.args', 'missing');
  for (const [set, names] of Object.entries(process.capabilities ?? {})) {
    for (const name of names as string[]) {
      if (!name.startsWith('CAP_')) {
        fail(`process.capabilities.${set}`, `"${name}" unknown`);
      }
      try {
        normalizeCapability(name);
      } catch {
        fail(`process.capabilities.${set}`, `"${name}" unknown`);
      }
    }
  }
  for (const r of process.rlimits ?? []) {
    if (!(r.type in RLIMITS)) fail('process.rlimits', `"${r.type}" unknown`);
  }
  if (!String(process.cwd).startsWith('/')) {
    fail('process.cwd', `"${process.cwd}" is not an absolute path`);
  }
  return { ociVersion: c.ociVersion, process, hostname: c.hostname,
    root: { path: root, readonly: !!c.root.readonly },
    mounts: c.mounts ?? [], annotations: c.annotations, linux,
    hooks: c.hooks };
}

const HOOKS: HookName[] = ['prestart', 'createRuntime', 'createContainer',
  'startContainer', 'poststart', 'poststop'];

function checkHooks(hooks: Record<string, Hook[]>): void {
  for (const [name, list] of Object.entries(hooks)) {
    if (!HOOKS.includes(name as HookName)) {
      fail(`hooks.${name}`, 'not a hook the spec defines');
    }
    for (const h of list) {
      if (typeof h.path !== 'string' || !isAbsolute(h.path)) {
        fail(`hooks.${name}[].path`, `"${h.path}" is not an absolute path`);
      }
      if (h.timeout !== undefined && !(h.timeout > 0)) {
        fail(`hooks.${name}[].timeout`, 'must be greater than zero');
      }
    }
  }
}

const NAMESPACES = ['pid', 'network', 'mount', 'ipc', 'uts', 'user',
  'cgroup'];

/** The names /proc/PID/ns uses ("net:[4026531840]"). */
const PROC_NAME: Record<string, string> = { pid: 'pid', network: 'net',
  mount: 'mnt', ipc: 'ipc', uts: 'uts', user: 'user', cgroup: 'cgroup' };

/**
 * Each type once; a path must be a namespace of that type. A path to
 * one of our own namespaces means sharing it: the entry goes (joining
 * one's own user namespace is EINVAL, setns(2)).
 */
function checkNamespaces(list: { type: string; path?: string }[])
  : typeof list {
  const seen = new Set<string>();
  for (const ns of list) {
    if (!NAMESPACES.includes(ns.type)) {
      fail('linux.namespaces', `type "${ns.type}" not supported`);
    }
    if (seen.has(ns.type)) {
      fail('linux.namespaces', `type "${ns.type}" given twice`);
    }
    seen.add(ns.type);
    if (ns.path !== undefined) checkNsPath(ns.type, ns.path);
  }
  return list.filter((ns) => ns.path === undefined ||
    readlinkSync(ns.path) !== readlinkSync(
      `/proc/self/ns/${PROC_NAME[ns.type]}`));
}

function checkNsPath(type: string, path: string): void {
  let target: string;
  try {
    target = readlinkSync(path);
  } catch (err) {
    fail('linux.namespaces', `${type} path ${path}: ${
      (err as NodeJS.ErrnoException).code}`);
  }
  if (!target.startsWith(`${PROC_NAME[type]}:[`)) {
    fail('linux.namespaces', `${type} path ${path} is a ${
      target.split(':')[0]} namespace`);
  }
}

/** runc's two forms: a cgroupfs path, or systemd's slice:prefix:name. */
function checkCgroupsPath(path: unknown): void {
  if (path === undefined) return;
  if (typeof path !== 'string') fail('linux.cgroupsPath', 'not a string');
  if (path.includes(':')) {
    fail('linux.cgroupsPath', `"${path}" is systemd's slice:prefix:name ` +
      'form; skiff-runtime manages cgroupfs paths only');
  }
  if (path.split('/').includes('..')) {
    fail('linux.cgroupsPath', `"${path}" leaves the hierarchy`);
  }
}
