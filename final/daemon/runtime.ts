// How the daemon starts a container's process: the one seam between the
// engine and chapter 02's start sequence. Everything else in the daemon
// (state, logs, restart policies) only sees this interface.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { constants } from 'node:os';
import type { Spec } from '../../chapters/02-namespaces/spec.ts';
import type { StartStep } from '../../chapters/02-namespaces/steps.ts';
import type { ContainerFds } from './io.ts';

/** How a process ended: docker's exit code (128+N for signal N). */
export interface ExitStatus {
  code: number;
  signal?: NodeJS.Signals;
}

export interface Running {
  /** Host pid of the container's first process. */
  pid: number;
  /** Resolves once the process is reaped. */
  exited: Promise<ExitStatus>;
  kill(signal: NodeJS.Signals | number): void;
  /** Undoes the start steps (mounts, cgroups, veths). Idempotent. */
  release(): Promise<void>;
}

export interface Runtime {
  readonly name: string;
  start(id: string, spec: Spec, fds: ContainerFds, steps: StartStep[])
    : Promise<Running>;
}

export function signalNumber(sig: NodeJS.Signals | number | string)
  : number {
  if (typeof sig === 'number') return sig;
  if (/^\d+$/.test(sig)) return Number(sig);
  const name = (sig.startsWith('SIG') ? sig : `SIG${sig}`).toUpperCase();
  const n = constants.signals[name as NodeJS.Signals];
  if (n === undefined) throw new Error(`invalid signal: ${sig}`);
  return n;
}

export function exitStatus(code: number | null,
  signal: NodeJS.Signals | null): ExitStatus {
  if (signal) return { code: 128 + signalNumber(signal), signal };
  return { code: code ?? 255 };
}

/** Field 22 of /proc/PID/stat: start time in clock ticks since boot. */
export function processStartTime(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[22 - 3]);
  } catch {
    return undefined;
  }
}

// #region temporary-runtime
/**
 * TEMPORARY, until chapter 02's startContainer lands: util-linux's
 * unshare(1) in new pid, mount, uts and ipc namespaces, chrooted into
 * the rootfs. No hostname, no /dev, no capabilities dropped.
 */
export const unshareRuntime: Runtime = {
  name: 'unshare (temporary)',
  async start(_id, spec, fds) {
    const { uid, gid } = spec.process.user;
    const args = ['--pid', '--fork', '--kill-child', '--mount', '--uts',
      '--ipc', '--mount-proc', `--root=${spec.root.path}`,
      `--wd=${spec.process.cwd}`, `--setuid=${uid}`, `--setgid=${gid}`,
      '--', ...spec.process.args];
    const cmd = spec.process.terminal ? 'setsid' : 'unshare';
    const argv = spec.process.terminal ? ['-c', 'unshare', ...args] : args;
    const child = spawn(cmd, argv, {
      stdio: [fds.stdin, fds.stdout, fds.stderr],
      env: Object.fromEntries(spec.process.env.map((kv) => {
        const eq = kv.indexOf('=');
        return [kv.slice(0, eq), kv.slice(eq + 1)];
      })),
    });
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', reject);
    });
    const exited = new Promise<ExitStatus>((resolve) => {
      child.once('exit', (code, sig) => resolve(exitStatus(code, sig)));
    });
    const pid = child.pid!;
    const init = () => {
      try {
        const kids = readFileSync(`/proc/${pid}/task/${pid}/children`,
          'utf8').trim().split(' ').filter(Boolean);
        return kids.length ? Number(kids[0]) : pid;
      } catch {
        return pid;
      }
    };
    return {
      get pid() { return init(); },
      exited,
      kill(sig) { process.kill(init(), signalNumber(sig)); },
      async release() {},
    };
  },
};
// #endregion

/** Every pid in a process's tree, for `top`. */
export function descendants(pid: number): number[] {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    let kids: string[] = [];
    try {
      for (const t of readdirSync(`/proc/${out[i]}/task`)) {
        kids.push(...readFileSync(`/proc/${out[i]}/task/${t}/children`,
          'utf8').trim().split(' ').filter(Boolean));
      }
    } catch { kids = []; }
    out.push(...kids.map(Number));
  }
  return out;
}
