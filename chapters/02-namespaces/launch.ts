// The engine's side of the two-step start, shared by `startContainer`
// and `execInContainer`: spawn the trampoline, answer it, learn the
// init's pid, hold the init at the barrier while the caller works on
// it, release it and read the verdict from the error pipe.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, writeFileSync } from 'node:fs';
import { Socket, type SocketConstructorOpts } from 'node:net';
import type { Readable, Stream, Writable } from 'node:stream';
import { SyscallError, syscall } from '../01-chroot/kernel.ts';
import { nsexecPath, publishedInitPath } from './build.ts';
import { consolePair, receiveFd, sendFds } from './console.ts';
import { idmapTree } from './idmap.ts';
import { bindSources, cloneMount } from './mounts.ts';
import {
  CONFIG_FD, ERROR_FD, EXECING, GO, type InitConfig, type InitFailure,
  SYNC_FD,
} from './protocol.ts';
import { type ExitStatus, waitForChild } from './reap.ts';
import type { IdMapping, Spec } from './spec.ts';

export type StdioEntry = 'inherit' | 'pipe' | 'ignore' | number | Stream;

/** A failed start: one line, and Docker's exit status for it. */
export class StartError extends Error {
  constructor(message: string, readonly exitCode: 125 | 126 | 127,
    options?: ErrorOptions) {
    super(message, options);
    this.name = 'StartError';
  }
}

export interface LaunchRequest {
  /** Arguments for `nsexec spawn` before "--": -U, -f, -j, -k. */
  nsexecArgs: string[];
  config: InitConfig;
  stdio: [StdioEntry, StdioEntry, StdioEntry];
  /** Written to /proc/PID/{uid,gid}_map when the trampoline asks. */
  uidMappings?: IdMapping[];
  gidMappings?: IdMapping[];
  /** The init's entry (build.ts), if not this chapter's own. */
  init?: string;
  /**
   * In a new user namespace: give the rootfs the namespace's id mapping
   * (idmap.ts), so its files owned by host uid 0 belong to root inside.
   * Default true; false where the engine chown'd the rootfs instead.
   * The kernel may refuse (an old one, a filesystem that cannot): the
   * rootfs is then used as it is.
   */
  idmapRoot?: boolean;
  /**
   * Makes the rootfs tree for the user namespace at `userns` itself,
   * where a clone of spec.root.path cannot be idmapped (final/: an
   * overlay mount, remade over idmapped layers).
   */
  rootTree?: (userns: string) => number;
}

/** An init waiting at the barrier. */
export interface Launched {
  /** Host pid of the init (later: of the command it becomes). */
  readonly pid: number;
  readonly exited: Promise<ExitStatus>;
  readonly stdin: Writable | null;
  readonly stdout: Readable | null;
  readonly stderr: Readable | null;
  /** Opens the barrier; resolves once the command runs, else throws. */
  release(): Promise<void>;
  /**
   * With process.terminal, after release(): the master of the terminal
   * the init made inside the container. The caller owns it.
   */
  readonly console?: number;
  kill(signal?: NodeJS.Signals | number): void;
}

/** Line-at-a-time reader for the sync socket. */
function lineReader(stream: Readable): () => Promise<string> {
  let buffered = '';
  let ended = false;
  let wake: (() => void) | undefined;
  stream.on('data', (d: Buffer) => { buffered += d.toString(); wake?.(); });
  stream.on('close', () => { ended = true; wake?.(); });
  stream.on('error', () => { ended = true; wake?.(); });
  return async () => {
    for (;;) {
      const nl = buffered.indexOf('\n');
      if (nl >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        return line;
      }
      if (ended) throw new Error('sync pipe closed');
      await new Promise<void>((r) => { wake = r; });
      wake = undefined;
    }
  };
}

/** Everything written to a stream until its end. */
function readToEnd(stream: Readable): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    stream.on('data', (d: Buffer) => { text += d.toString(); });
    stream.on('close', () => resolve(text));
    stream.on('error', () => resolve(text));
  });
}

function mapLines(maps: IdMapping[]): string {
  return maps.map((m) => `${m.containerID} ${m.hostID} ${m.size}\n`)
    .join('');
}

// #region id-maps
/**
 * Maps ids of the trampoline's new user namespace, from outside: only a
 * process with privilege in the parent namespace may map ranges other
 * than its own id (user_namespaces(7)). Each file is written once, in a
 * single write(2).
 */
function writeIdMaps(pid: number, req: SpawnRequest): void {
  const write = (file: string, maps: IdMapping[]) => {
    try {
      writeFileSync(`/proc/${pid}/${file}`, mapLines(maps));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new Error(`write /proc/${pid}/${file}: ${code}`, { cause: err });
    }
  };
  write('uid_map', req.uidMappings ?? []);
  write('gid_map', req.gidMappings ?? []);
}
// #endregion

/** Turns what the init wrote on the error pipe into an error, or null. */
function verdict(text: string, status?: ExitStatus): StartError | null {
  if (text === EXECING) return null;
  const line = text.startsWith(EXECING) ? text.slice(1) : text;
  if (line.trim() === '') {
    const how = status?.signal ? `killed by ${status.signal}`
      : `exit status ${status?.code ?? 'unknown'}`;
    return new StartError(`container init died during setup (${how})`, 125);
  }
  try {
    const f = JSON.parse(line) as InitFailure;
    const code = f.exitCode === 126 || f.exitCode === 127 ? f.exitCode : 125;
    return new StartError(f.message, code);
  } catch {
    return new StartError(line.trim().split('\n')[0], 125);
  }
}

const pipe2 = syscall<[Int32Array, number]>(
  'int pipe2(_Out_ int *fds, int flags)');
const O_CLOEXEC = 0o2000000;
const O_PATH = 0o10000000;
const O_DIRECTORY = 0o200000;

interface Piped {
  /** What spawn passes on as fds 0-2: our pipes' far ends as numbers. */
  stdio: StdioEntry[];
  /** Our ends, for the Container's stdin, stdout, stderr. */
  ends: (Socket | null)[];
  /** Closes the far ends in the engine once the child has them. */
  closeFar(): void;
}

// #region own-pipes
/**
 * Pipes of our own for the container's stdio. Node's own 'pipe' belongs
 * to the trampoline's ChildProcess: when the trampoline exits, an instant
 * after cloning the init, Node destroys its stdin and lets its stdout
 * flow with nobody listening, so the container would lose input and
 * its first lines of output.
 */
function ownPipes(stdio: StdioEntry[]): Piped {
  const far: number[] = [];
  const ends = stdio.map((entry, i) => {
    if (entry !== 'pipe') return null;
    const fds = new Int32Array(2);
    pipe2(fds, O_CLOEXEC);
    const [ours, theirs] = i === 0 ? [fds[1], fds[0]] : [fds[0], fds[1]];
    far[i] = theirs;
    // manualStart: read only once the caller does, so that a command
    // that printed nothing and ended does not close the stream before
    // the caller listens (a net.Socket reads at once by default).
    return new Socket({ fd: ours, readable: i !== 0, writable: i === 0,
      manualStart: true } as SocketConstructorOpts);
  });
  return {
    stdio: stdio.map((entry, i) => far[i] ?? entry),
    ends,
    closeFar: () => far.forEach((fd) => fd !== undefined && closeSync(fd)),
  };
}
// #endregion

function wantsConsole(config: InitConfig): boolean {
  const proc = config.mode === 'start' ? config.spec.process
    : config.process;
  return !!proc.terminal;
}

/** An init cloned into its namespaces, waiting for its config. */
export interface Waiting {
  readonly pid: number;
  readonly exited: Promise<ExitStatus>;
  readonly sync: Readable & Writable;
  /** All the init writes on the error pipe, once it closes. */
  readonly errors: Promise<string>;
  readonly config: Writable;
  /** Our end of the console socket (fd 6), if it has one. */
  readonly console?: number;
}

export interface SpawnRequest {
  nsexecArgs: string[];
  /** fds 0-2 of the init, as spawn takes them. */
  stdio: StdioEntry[];
  /** Give it fd 6, the console socket. */
  console: boolean;
  uidMappings?: IdMapping[];
  gidMappings?: IdMapping[];
  /** The init's entry (build.ts), if not this chapter's own. */
  init?: string;
}

// #region spawn-init
/** Runs the trampoline; resolves once it has cloned the init. */
export async function spawnInit(req: SpawnRequest): Promise<Waiting> {
  const [ours, far] = req.console ? consolePair() : [];
  let child: ChildProcess;
  try {
    child = spawn(nsexecPath(), ['spawn', ...req.nsexecArgs, '--',
      process.execPath, publishedInitPath(req.init)], {
      stdio: [...req.stdio, 'pipe', 'pipe', 'pipe', ...far ? [far] : []],
      env: {}, cwd: '/',
    });
  } catch (err) {
    if (ours !== undefined) closeSync(ours);
    throw err;
  } finally {
    if (far !== undefined) closeSync(far);
  }
  const spawned = new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', reject);
  });
  const sync = child.stdio[SYNC_FD] as unknown as Readable & Writable;
  const nextLine = lineReader(sync);
  const errors = readToEnd(
    (child.stdio as unknown as Readable[])[ERROR_FD]);
  const config = child.stdio[CONFIG_FD] as Writable;
  // If the trampoline fails first, the error pipe says why: not EPIPE.
  config.on('error', () => {});
  // #endregion
  // #region spawn-init-talk
  try {
    await spawned;
    let line = await nextLine();
    if (line === 'U') {
      writeIdMaps(child.pid!, req);
      sync.write('M');
      line = await nextLine();
    }
    const pid = Number(/^P (\d+)$/.exec(line)?.[1]);
    if (!pid) throw new Error(`unexpected message "${line}"`);
    return { pid, exited: waitForChild(pid), sync, errors, config,
      console: ours };
  } catch (err) {
    child.kill('SIGKILL');
    if (ours !== undefined) closeSync(ours);
    const reported = verdict(await errors);
    throw reported ?? new StartError(`start the container init: ${
      (err as Error).message}`, 125, { cause: err });
  }
}
// #endregion

/**
 * How a start gets its init: `launch` below, unless the caller has a
 * way of its own (an engine may keep inits made ahead of their
 * containers and hand one over, with handOver below).
 */
export type Launcher = (req: LaunchRequest) => Promise<Launched>;

// #region launch
export async function launch(req: LaunchRequest): Promise<Launched> {
  if (handable(req) && ownUserNs(req.nsexecArgs)) {
    return handOver(await spawnInit({ ...req, console: true,
      nsexecArgs: withoutBinds(req.nsexecArgs),
      stdio: ['ignore', 'ignore', 'ignore'] }), req);
  }
  const pipes = ownPipes(req.stdio);
  let init: Waiting;
  try {
    init = await spawnInit({ ...req, stdio: pipes.stdio,
      console: wantsConsole(req.config) });
  } catch (err) {
    pipes.ends.forEach((end) => end?.destroy());
    throw err;
  } finally {
    pipes.closeFar();
  }
  init.config.end(JSON.stringify(req.config));
  return launched(pipes.ends, init);
}
// #endregion

// #region own-user-ns
/**
 * A start in a new user namespace gets its trees handed over (below)
 * by the engine, the host's root, which clones the rootfs (and idmaps
 * it, which only it may) once the init's user namespace exists. Root
 * of that namespace, an unprivileged host uid, need not reach the
 * rootfs's path at all. Without a mount namespace the "tree" is the
 * rootfs directory opened, to chroot into.
 */
function ownUserNs(nsexecArgs: string[]): boolean {
  return nsexecArgs.includes('-U');
}

function withoutBinds(nsexecArgs: string[]): string[] {
  return nsexecArgs.filter((a, i) => a !== '-b' && a !== '-B' &&
    nsexecArgs[i - 1] !== '-b' && nsexecArgs[i - 1] !== '-B');
}
// #endregion

/**
 * Stdio and trees can be handed over for a start whose stdio are plain
 * descriptors (a Stream lives in this process only).
 */
export function handable(req: LaunchRequest): boolean {
  return req.config.mode === 'start' &&
    req.stdio.every((e) => typeof e === 'number' || typeof e === 'string');
}

// #region hand-over
/**
 * Gives an init made with the console socket (fd 6) and no stdio what
 * it would otherwise have inherited: stdio, and clones of the rootfs
 * and bind sources, made now that its namespaces exist (so the rootfs
 * can be idmapped into its user namespace).
 */
export function handOver(init: Waiting, req: LaunchRequest): Launched {
  const spec = (req.config as { spec: Spec }).spec;
  const pipes = ownPipes(req.stdio);
  const opened: number[] = [];
  let binds = 0;
  try {
    const stdio = pipes.stdio.map((e, i) => stdioFd(e, i, opened));
    const mountNs = spec.linux.namespaces
      .some((ns) => ns.type === 'mount' && !ns.path);
    const trees = mountNs ? [rootTree(req, spec, init.pid)]
      : [openSync(spec.root.path, O_PATH | O_DIRECTORY | O_CLOEXEC)];
    opened.push(...trees);
    if (mountNs) {
      trees.push(...bindSources(spec)
        .map((b) => cloneTree(b.path, b.recursive)));
      opened.push(...trees.slice(1));
    }
    binds = trees.length - 1;
    sendFds(init.console!, [...stdio, ...trees]);
  } catch (err) {
    process.kill(init.pid, 'SIGKILL');
    pipes.ends.forEach((end) => end?.destroy());
    closeSync(init.console!);
    throw err;
  } finally {
    opened.forEach((fd) => closeSync(fd));
    pipes.closeFar();
  }
  init.config.end(JSON.stringify({ ...req.config, handed: { binds } }));
  if (wantsConsole(req.config)) return launched(pipes.ends, init);
  closeSync(init.console!);
  return launched(pipes.ends, { ...init, console: undefined });
}
// #endregion

// #region root-tree
/**
 * The rootfs as a tree for the init to attach. In a new user namespace
 * it gets the namespace's id mapping (idmap.ts) where the kernel can;
 * where it cannot, the tree stays as it is.
 */
function rootTree(req: LaunchRequest, spec: Spec, pid: number): number {
  const userns = req.uidMappings?.length && req.idmapRoot !== false
    ? `/proc/${pid}/ns/user` : undefined;
  if (userns && req.rootTree) {
    try {
      return req.rootTree(userns);
    } catch (err) {
      throw new StartError(`idmapped rootfs: ${(err as Error).message}`,
        125, { cause: err });
    }
  }
  const tree = cloneTree(spec.root.path, true);
  try {
    if (userns) idmapTree(tree, userns);
  } catch (err) {
    if (!(err instanceof SyscallError)) throw err;
  }
  return tree;
}
// #endregion

function stdioFd(entry: StdioEntry, i: number, opened: number[]): number {
  if (typeof entry === 'number') return entry;
  if (entry === 'inherit') return i;
  const fd = openSync('/dev/null', 'r+');
  opened.push(fd);
  return fd;
}

/** Like the trampoline's -b: one line and exit status 125 if it fails. */
function cloneTree(path: string, recursive: boolean): number {
  try {
    return cloneMount(path, recursive);
  } catch (err) {
    const code = (err as { code?: string }).code ?? String(err);
    throw new StartError(`bind mount source ${path}: ${code}`, 125,
      { cause: err });
  }
}

function launched(ends: (Socket | null)[], init: Waiting): Launched {
  const { pid, exited, sync, errors, console: consoleSocket } = init;
  let done = false;
  let master: number | undefined;
  void exited.then(() => { done = true; });
  return {
    pid, exited, stdin: ends[0], stdout: ends[1], stderr: ends[2],
    get console() { return master; },
    async release() {
      sync.end(GO);
      const text = await errors;
      const status = text === EXECING ? undefined : await exited;
      const err = verdict(text, status);
      try {
        // Sent before "X": it waits in the socket once the verdict came.
        if (!err && consoleSocket !== undefined) {
          master = receiveFd(consoleSocket);
        }
      } finally {
        if (consoleSocket !== undefined) closeSync(consoleSocket);
      }
      if (err) throw err;
    },
    kill(signal = 'SIGKILL') {
      if (!done) process.kill(pid, signal);
    },
  };
}
