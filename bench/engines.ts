// docker and podman for bench/run.ts, each with state of its own under
// the benchmark's directory, so that timing them changes nothing on the
// host: no image, container, mount, cgroup, bridge or iptables rule of
// theirs is left when the benchmark ends.
//
// docker: the daemon that answers if there is one (`docker info`);
// otherwise, where dockerd is installed but nothing starts it (no
// systemd), a private dockerd started here and stopped after the
// rounds. podman has no daemon: it gets its own storage and runtime
// state. Both time `run --rm --network none busybox true`.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import {
  closeSync, existsSync, mkdirSync, openSync, readFileSync, rmdirSync,
  rmSync, statSync, writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { procStatus } from '../chapters/02-namespaces/procfs.ts';
import { removeEngineLeftovers } from '../final/testing.ts';

/** A CLI to time, with what its calls need. */
export interface Engine {
  /** The row's name in the table. */
  name: string;
  cli: string;
  /** Flags before the command: podman's storage and runtime. */
  global: string[];
  /** Flags after `run`, before the image. */
  runFlags: string[];
  env: NodeJS.ProcessEnv;
  /** Stops what was started for the bench and removes what it left. */
  stop(): Promise<void>;
}

/** Where an engine may keep its state, and its cgroup parent. */
export interface Place {
  dir: string;
  env: NodeJS.ProcessEnv;
  cgroupParent: string;
}

const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`])
  .status === 0;

/** Whether the engine's server side answers (dockerd, podman's store). */
const answers = (e: Engine) => spawnSync(e.cli, [...e.global, 'info'],
  { env: e.env, stdio: 'ignore' }).status === 0;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Paths the engines create outside their directories whatever their
 * flags say, children before parents: dockerd's plugin directory,
 * containerd's shim sockets (both fixed paths in 20.10/1.6), runc's
 * and crun's default state roots (podman passes no --root to them),
 * and the image library's blob cache, fixed for root.
 */
const FIXED_PATHS = ['/run/docker/plugins', '/run/docker',
  '/run/containerd/s', '/run/containerd', '/run/runc', '/run/crun',
  '/var/lib/containers/cache/blob-info-cache-v1.boltdb'];

/** Removes `paths` (directories only if empty: someone else's stay). */
function removeFixed(paths: string[]): void {
  for (const p of paths) {
    try {
      if (statSync(p).isDirectory()) rmdirSync(p);
      else rmSync(p);
    } catch { /* not there, or not empty */ }
  }
}

/**
 * After an engine stopped: unmounts and removes its directory, its
 * cgroups, and the fixed paths it created (`fresh`: absent before).
 */
function removeLeftovers(name: string, d: string, parent: string,
  fresh: string[]): void {
  const mounts = removeEngineLeftovers(d, parent);
  if (mounts.length) {
    console.error(`bench: ${name} left mounted: ${mounts.join(' ')}`);
  }
  removeFixed(fresh);
}

/**
 * dockerd's flags for a daemon of our own: state, socket and cgroups
 * under our names, and no host network state (no bridge, iptables
 * rules, forwarding or masquerading: the rounds use --network none).
 */
function dockerdArgs(d: string, parent: string): string[] {
  return ['--config-file', join(d, 'daemon.json'),
    '--data-root', join(d, 'data'), '--exec-root', join(d, 'exec'),
    '--pidfile', join(d, 'dockerd.pid'),
    '--host', `unix://${join(d, 'docker.sock')}`,
    '--cgroup-parent', parent, '--iptables=false', '--ip6tables=false',
    '--ip-forward=false', '--ip-masq=false', '--bridge=none'];
}

/** SIGTERM, then its exit; SIGKILL if it takes over 30 s. */
async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  await exited;
  clearTimeout(timer);
}

/** Polls `e` until it answers; fails if dockerd exits or after 60 s. */
async function waitAnswer(e: Engine, child: ChildProcess, log: string)
  : Promise<void> {
  const end = Date.now() + 60_000;
  while (!answers(e)) {
    if (child.exitCode !== null || Date.now() > end) {
      const last = readFileSync(log, 'utf8').trim().split('\n').pop();
      throw new Error(`dockerd did not answer: ${last}`);
    }
    await sleep(200);
  }
}

/**
 * Starts dockerd in `p.dir`/docker, waits until it answers, and returns
 * the docker CLI pointed at it (DOCKER_HOST). dockerd 20.10 starts its
 * own containerd under --exec-root and stops it on SIGTERM.
 */
async function privateDockerd(p: Place): Promise<Engine> {
  const d = join(p.dir, 'docker');
  const parent = `${p.cgroupParent}-docker`;
  const fresh = FIXED_PATHS.filter((f) => !existsSync(f));
  mkdirSync(d, { recursive: true });
  // Its identity key goes to /etc/docker/key.json unless the config
  // file says otherwise (no flag does); a config file of our own also
  // keeps the host's /etc/docker/daemon.json out.
  writeFileSync(join(d, 'daemon.json'),
    JSON.stringify({ 'deprecated-key-path': join(d, 'key.json') }));
  const log = join(d, 'dockerd.log');
  const fd = openSync(log, 'w');
  const child = spawn('dockerd', dockerdArgs(d, parent),
    { stdio: ['ignore', fd, fd] });
  closeSync(fd);
  const engine: Engine = { name: 'docker run --rm (own dockerd)',
    cli: 'docker', global: [], runFlags: ['--network', 'none'],
    env: { ...p.env, DOCKER_HOST: `unix://${join(d, 'docker.sock')}` },
    stop: async () => {
      await stopChild(child);
      removeLeftovers('dockerd', d, parent, fresh);
    } };
  try {
    await waitAnswer(engine, child, log);
  } catch (err) {
    await engine.stop();
    throw err;
  }
  return engine;
}

/**
 * The docker CLI and a daemon that answers: the host's, or else one of
 * our own; a line saying why not where there is neither.
 */
export async function docker(p: Place): Promise<Engine | string> {
  if (!has('docker')) return 'not installed';
  const host: Engine = { name: 'docker run --rm', cli: 'docker',
    global: [], runFlags: ['--network', 'none'], env: p.env,
    stop: async () => {} };
  if (answers(host)) return host;
  if (!has('dockerd')) {
    return 'docker is installed but its daemon does not answer';
  }
  try {
    return await privateDockerd(p);
  } catch (err) {
    return (err as Error).message;
  }
}

/**
 * Whether this process may raise a hard rlimit (CAP_SYS_RESOURCE, bit
 * 24 of CapEff in /proc/self/status; capabilities(7)). Some sandboxes
 * drop it even for root.
 */
function canRaiseLimits(): boolean {
  const eff = procStatus()?.get('CapEff');
  return eff !== undefined && ((BigInt(`0x${eff}`) >> 24n) & 1n) === 1n;
}

/**
 * podman's global flags: root, runroot and tmpdir of our own, cgroupfs
 * (there is no systemd to ask), no event log. On the hybrid cgroup
 * layout crun (podman's default runtime) refuses to run ("cgroups in
 * hybrid mode not supported"), so runc there.
 */
function podmanGlobal(d: string, hybrid: boolean): string[] {
  return ['--root', join(d, 'root'), '--runroot', join(d, 'run'),
    '--tmpdir', join(d, 'tmp'), '--cgroup-manager', 'cgroupfs',
    '--events-backend', 'none', ...hybrid ? ['--runtime', 'runc'] : []];
}

/**
 * `run`'s flags. A rootful podman asks for 1048576 open files and
 * 4194304 processes, which runc cannot set without CAP_SYS_RESOURCE:
 * there the container gets 1024 of each (`true` needs neither).
 */
function podmanRunFlags(parent: string): string[] {
  const limits = canRaiseLimits() ? []
    : ['--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=1024:1024'];
  return ['--network', 'none', '--cgroup-parent', parent, ...limits];
}

/** podman with storage of its own in `p.dir`/podman, or why not. */
export function podman(p: Place, hybrid: boolean): Engine | string {
  if (!has('podman')) return 'not installed';
  const d = join(p.dir, 'podman');
  const parent = `${p.cgroupParent}-podman`;
  const fresh = FIXED_PATHS.filter((f) => !existsSync(f));
  const global = podmanGlobal(d, hybrid);
  const runtime = spawnSync('podman', [...global, 'info', '--format',
    '{{.Host.OCIRuntime.Name}}'], { encoding: 'utf8', env: p.env });
  const engine: Engine = {
    name: `podman run --rm (${runtime.stdout.trim() || '?'})`,
    cli: 'podman', global, runFlags: podmanRunFlags(parent),
    env: p.env, stop: async () => {
      removeLeftovers('podman', d, parent, fresh);
    } };
  if (runtime.status !== 0) {
    removeLeftovers('podman', d, parent, fresh);
    return `podman info failed: ${runtime.stderr.trim()}`;
  }
  return engine;
}
