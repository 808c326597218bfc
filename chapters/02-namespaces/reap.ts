// Waiting for processes Node did not spawn. The trampoline clones the
// container's init with CLONE_PARENT, so the init is our child, but
// libuv only waits for the pids it spawned itself. We listen for
// SIGCHLD and call waitpid(2) with WNOHANG for each pid we track;
// pids we do not track are left alone for libuv.
import { plain } from '../01-chroot/kernel.ts';
import { signalName } from './signals.ts';

const waitpid = plain<(pid: number, status: Int32Array, opts: number)
  => number>('int waitpid(int pid, _Out_ int *status, int options)');
const WNOHANG = 1;

export interface ExitStatus {
  /** The exit code, or 128 + N when killed by signal N (as shells do). */
  code: number;
  /** The signal's name when it was killed by one. */
  signal?: string;
}

/** Decodes a wait(2) status word. */
export function decodeStatus(status: number): ExitStatus {
  const sig = status & 0x7f;
  if (sig === 0) return { code: (status >> 8) & 0xff };
  return { code: 128 + sig, signal: signalName(sig) };
}

const waiting = new Map<number, (s: ExitStatus) => void>();
let keepAlive: NodeJS.Timeout | undefined;

// #region reap
function reap(): void {
  const status = new Int32Array(1);
  for (const [pid, done] of waiting) {
    if (waitpid(pid, status, WNOHANG) !== pid) continue;
    waiting.delete(pid);
    done(decodeStatus(status[0]));
  }
  if (waiting.size === 0 && keepAlive) {
    clearInterval(keepAlive);
    keepAlive = undefined;
  }
}
// #endregion

let installed = false;
function install(): void {
  if (installed) return;
  installed = true;
  // We are not a child subreaper (prctl(2)): an orphan of a container
  // without its own pid namespace goes to the host's init, which reaps
  // it; we could not, without stealing libuv's children.
  process.on('SIGCHLD', reap);
}

/** Resolves with the exit status of `pid`, a child of this process. */
export function waitForChild(pid: number): Promise<ExitStatus> {
  install();
  return new Promise((resolve) => {
    waiting.set(pid, resolve);
    // Signal handlers do not keep Node's event loop alive; a timer does,
    // and it also catches a SIGCHLD that came before we listened.
    keepAlive ??= setInterval(reap, 500);
    reap();
  });
}
