// Running one more process in a running container (`docker exec`):
// the same trampoline joins the namespaces of the container's PID 1,
// the init enters its mount namespace and execs the process.
import { readlinkSync } from 'node:fs';
import {
  launch, type Launched, StartError, type StdioEntry,
} from './launch.ts';
import type { LinuxSeccomp, Process } from './spec.ts';
import type { ProcessHandle } from './start.ts';

/** What an exec step sees: chapter 03 joins the container's cgroup. */
export interface Execing {
  /** Host pid of the container's PID 1. */
  readonly containerPid: number;
  /** Host pid of the new process, waiting at the barrier. */
  readonly pid: number;
  readonly process: Process;
}

export interface ExecStep {
  readonly name: string;
  attach?(e: Execing): void | Promise<void>;
}

export interface ExecOptions {
  /** Work on the new process before it runs (cgroup join, ...). */
  steps?: ExecStep[];
  stdio?: [StdioEntry, StdioEntry, StdioEntry];
  /** The init's entry (build.ts), if not this chapter's own. */
  init?: string;
  /** The container's seccomp filter, for the init's layers. */
  seccomp?: LinuxSeccomp;
}

/** The exec'd process: a handle like a container's PID 1. */
export type ExecHandle = ProcessHandle;

// #region join-args
// The order the trampoline joins them in: user first (it decides what
// the other joins may do); the mount namespace is only opened (-k) and
// left to the init, so that the host's node binary is still in reach.
const JOINED = ['user', 'ipc', 'uts', 'net', 'pid', 'cgroup'] as const;

function nsOf(pid: number | 'self', type: string): string {
  return readlinkSync(`/proc/${pid}/ns/${type}`);
}

/** Trampoline arguments to join every namespace `pid` does not share. */
export function joinArgs(pid: number): string[] {
  const args: string[] = [];
  for (const type of [...JOINED, 'mnt']) {
    let theirs: string;
    try {
      theirs = nsOf(pid, type);
    } catch (err) {
      throw new StartError(`container process ${pid}: not running`, 125,
        { cause: err });
    }
    if (theirs === nsOf('self', type)) continue; // setns(2) to our own: EINVAL
    args.push(type === 'mnt' ? '-k' : '-j', `/proc/${pid}/ns/${type}`);
  }
  return args;
}
// #endregion

// #region exec
export async function execInContainer(containerPid: number, proc: Process,
  opts: ExecOptions = {}): Promise<ExecHandle> {
  const init: Launched = await launch({
    nsexecArgs: joinArgs(containerPid),
    config: { mode: 'exec', process: proc, containerPid,
      seccomp: opts.seccomp },
    stdio: opts.stdio ?? ['inherit', 'inherit', 'inherit'],
    init: opts.init,
  });
  try {
    const e: Execing = { containerPid, pid: init.pid, process: proc };
    for (const step of opts.steps ?? []) await step.attach?.(e);
    await init.release();
  } catch (err) {
    init.kill('SIGKILL');
    await init.exited;
    if (err instanceof StartError) throw err;
    throw new StartError(`exec in container ${containerPid}: ${
      (err as Error).message}`, 125, { cause: err });
  }
  return {
    pid: init.pid, stdin: init.stdin, stdout: init.stdout,
    stderr: init.stderr, console: init.console,
    wait: () => init.exited,
    kill: (signal) => init.kill(signal),
  };
}
// #endregion
