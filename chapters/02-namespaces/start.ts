// Starting a container: the named steps, the namespaces, the cleanup.
//
//   prepare steps -> trampoline: namespaces, init cloned (waits at the
//   barrier) -> attach steps (c.pid set) -> barrier opens -> init builds
//   the rootfs, hostname, ... and execs the command -> EOF on the error
//   pipe: it runs. Any failure: release the steps that ran, in reverse,
//   kill what was started, throw a StartError (125, 126 or 127).
import { resolve } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { checkRootfs } from '../01-chroot/chroot.ts';
import {
  launch, type Launched, type Launcher, StartError, type StdioEntry,
} from './launch.ts';
import { bindSources } from './mounts.ts';
import type { ExitStatus } from './reap.ts';
import type { StartConfig } from './protocol.ts';
import type { NamespaceType, Spec } from './spec.ts';
import type { StartStep, Starting } from './steps.ts';

export { StartError, type StdioEntry } from './launch.ts';
export type { ExitStatus } from './reap.ts';

export interface StartOptions {
  /** Unique id of the container (names cgroups, veths, state). */
  id: string;
  /** Steps later chapters add: cgroups, storage, network. */
  steps?: StartStep[];
  /**
   * stdin, stdout, stderr of the command (default: ours). With
   * spec.process.terminal, the init's only: the command gets the
   * terminal made inside the container instead.
   */
  stdio?: [StdioEntry, StdioEntry, StdioEntry];
  /** How the init is launched, if not by launch.ts's `launch`. */
  launcher?: Launcher;
  /** The init's entry (build.ts): a later chapter's, with its layers. */
  init?: string;
  /** false: do not idmap the rootfs (launch.ts LaunchRequest). */
  idmapRoot?: boolean;
  /** The rootfs tree for a user namespace (launch.ts LaunchRequest). */
  rootTree?: (userns: string) => number;
  /** Stop the init before the command (protocol.ts InitConfig). */
  hold?: StartConfig['hold'];
}

/** A process started in a container: its PID 1, or one exec'd. */
export interface ProcessHandle {
  /** Host pid of the process. */
  readonly pid: number;
  /** Its stdio, where the options asked for 'pipe'. */
  readonly stdin: Writable | null;
  readonly stdout: Readable | null;
  readonly stderr: Readable | null;
  /** With process.terminal: its master, the caller's to close. */
  readonly console?: number;
  /** Resolves when it exits (PID 1's exit ends the pid namespace). */
  wait(): Promise<ExitStatus>;
  /** Sends a signal (default SIGKILL, as `docker kill`). */
  kill(signal?: NodeJS.Signals | number): void;
}

export interface Container extends ProcessHandle {
  readonly id: string;
  /** What the steps recorded (Starting.data), e.g. to undo them later. */
  readonly data: Readonly<Record<string, unknown>>;
  /** Kills it if still running, then runs the steps' release, reversed. */
  destroy(): Promise<void>;
}

// #region clone-flags
/** CLONE_NEW* flags, from <sched.h>. */
export const CLONE_NEW: Record<NamespaceType, number> = {
  mount: 0x00020000, uts: 0x04000000, ipc: 0x08000000, user: 0x10000000,
  pid: 0x20000000, network: 0x40000000, cgroup: 0x02000000,
};

/**
 * What the trampoline does for a spec: join each namespace with a path
 * (-j), create a user namespace (-U), unshare the rest (-f). A new
 * cgroup namespace is left to the init, after the attach steps. In a
 * new mount namespace, it also clones each bind source (-b, -B).
 */
export function trampolineArgs(spec: Spec): string[] {
  const args: string[] = [];
  let flags = 0;
  for (const ns of spec.linux.namespaces) {
    if (ns.path) args.push('-j', ns.path);
    else if (ns.type === 'user') args.push('-U');
    else if (ns.type !== 'cgroup') flags |= CLONE_NEW[ns.type];
  }
  if (flags) args.push('-f', String(flags));
  if (flags & CLONE_NEW.mount) {
    for (const { path, recursive } of bindSources(spec)) {
      args.push(recursive ? '-B' : '-b', path);
    }
  }
  return args;
}
// #endregion

async function releaseAll(ran: StartStep[], c: Starting): Promise<void> {
  const errors: unknown[] = [];
  for (const step of [...ran].reverse()) {
    try {
      await step.release?.(c);
    } catch (err) {
      errors.push(err);
    }
  }
  if (errors.length) throw errors[0];
}

function asStartError(err: unknown, id: string): StartError {
  if (err instanceof StartError) return err;
  const e = err as Error & { exitCode?: number };
  const code = e?.exitCode === 126 || e?.exitCode === 127 ? e.exitCode : 125;
  const message = e?.message ?? String(err);
  return new StartError(code === 125 && !message.includes(id)
    ? `start container ${id}: ${message}` : message, code, { cause: err });
}

// #region start
export async function startContainer(spec: Spec,
  opts: StartOptions): Promise<Container> {
  const c: Starting = { id: opts.id, spec, pid: 0, data: {} };
  const steps = opts.steps ?? [];
  const ran: StartStep[] = [];
  let init: Launched | undefined;
  try {
    for (const step of steps) {
      ran.push(step);
      await step.prepare?.(c);
    }
    const root = resolve(spec.root.path);
    checkRootfs(root);
    init = await (opts.launcher ?? launch)({
      nsexecArgs: trampolineArgs(spec),
      config: { mode: 'start', hold: opts.hold,
        spec: { ...spec, root: { ...spec.root, path: root } } },
      stdio: opts.stdio ?? ['inherit', 'inherit', 'inherit'],
      uidMappings: spec.linux.uidMappings,
      gidMappings: spec.linux.gidMappings,
      init: opts.init,
      idmapRoot: opts.idmapRoot, rootTree: opts.rootTree,
    });
    c.pid = init.pid;
    for (const step of steps) await step.attach?.(c);
    await init.release();
    // #endregion
    // #region start-cleanup
  } catch (err) {
    if (init) {
      init.kill('SIGKILL');
      await init.exited;
    }
    await releaseAll(ran, c).catch(() => {});
    throw asStartError(err, opts.id);
  }
  return running(c, init, ran);
}
// #endregion

function running(c: Starting, init: Launched, ran: StartStep[]): Container {
  let destroyed: Promise<void> | undefined;
  return {
    id: c.id, pid: init.pid,
    stdin: init.stdin, stdout: init.stdout, stderr: init.stderr,
    console: init.console, data: c.data,
    wait: () => init.exited,
    kill: (signal) => init.kill(signal),
    destroy() {
      destroyed ??= (async () => {
        init.kill('SIGKILL');
        await init.exited;
        await releaseAll(ran, c);
      })();
      return destroyed;
    },
  };
}
