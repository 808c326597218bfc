// The engine's side of the two-step start, shared by `startContainer`
// and `execInContainer`: spawn the trampoline, answer it, learn the
// init's pid, hold the init at the barrier while the caller works on
// it, release it and read the verdict from the error pipe.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, writeFileSync } from 'node:fs';
import { Socket, type SocketConstructorOpts } from 'node:net';
import type { Readable, Stream, Writable } from 'node:stream';
import { syscall } from '../01-chroot/kernel.ts';
import { initBundlePath, nsexecPath } from './build.ts';
import { consolePair, receiveFd } from './console.ts';
import {
  CONFIG_FD, ERROR_FD, EXECING, GO, type InitConfig, type InitFailure,
  SYNC_FD,
} from './protocol.ts';
import { type ExitStatus, waitForChild } from './reap.ts';
import type { IdMapping } from './spec.ts';

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

// #region sync-lines
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
// #endregion

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
function writeIdMaps(pid: number, req: LaunchRequest): void {
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

// #region own-pipes
const pipe2 = syscall<[Int32Array, number]>(
  'int pipe2(_Out_ int *fds, int flags)');
const O_CLOEXEC = 0o2000000;

interface Piped {
  /** What spawn passes on as fds 0-2: our pipes' far ends as numbers. */
  stdio: StdioEntry[];
  /** Our ends, for the Container's stdin, stdout, stderr. */
  ends: (Socket | null)[];
  /** Closes the far ends in the engine once the child has them. */
  closeFar(): void;
}

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

// #region launch
export async function launch(req: LaunchRequest): Promise<Launched> {
  const pipes = ownPipes(req.stdio);
  // fd 6, the console socket: the init sends its terminal's master.
  const [ours, far] = wantsConsole(req.config) ? consolePair() : [];
  let child: ChildProcess;
  try {
    child = spawn(nsexecPath(), ['spawn', ...req.nsexecArgs, '--',
      process.execPath, initBundlePath()], {
      stdio: [...pipes.stdio, 'pipe', 'pipe', 'pipe', ...far ? [far] : []],
      env: {}, cwd: '/',
    });
  } catch (err) {
    pipes.ends.forEach((end) => end?.destroy());
    if (ours !== undefined) closeSync(ours);
    throw err;
  } finally {
    pipes.closeFar();
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
  config.end(JSON.stringify(req.config));
  let pid = 0;
  try {
    await spawned;
    let line = await nextLine();
    if (line === 'U') {
      writeIdMaps(child.pid!, req);
      sync.write('M');
      line = await nextLine();
    }
    pid = Number(/^P (\d+)$/.exec(line)?.[1]);
    if (!pid) throw new Error(`unexpected message "${line}"`);
  } catch (err) {
    child.kill('SIGKILL');
    pipes.ends.forEach((end) => end?.destroy());
    if (ours !== undefined) closeSync(ours);
    const reported = verdict(await errors);
    throw reported ?? new StartError(`start the container init: ${
      (err as Error).message}`, 125, { cause: err });
  }
  return launched(pipes.ends, pid, sync, errors, ours);
}
// #endregion

function launched(ends: (Socket | null)[], pid: number, sync: Writable,
  errors: Promise<string>, consoleSocket?: number): Launched {
  const exited = waitForChild(pid);
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
