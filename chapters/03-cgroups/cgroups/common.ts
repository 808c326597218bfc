// What both backends do the same way: signal every process of a cgroup,
// wait for it to empty, and remove its directory.
import { rmdirSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { CgroupError } from './fs.ts';

/** How long to wait for the kernel (generous: emulated VMs are slow). */
export const SETTLE_MS = 10_000;

/** Polls `done` every few ms until it holds or `ms` pass. */
export async function waitFor(done: () => boolean, ms = SETTLE_MS):
  Promise<boolean> {
  const deadline = Date.now() + ms;
  for (let delay = 1; !done(); delay = Math.min(delay * 2, 50)) {
    if (Date.now() > deadline) return false;
    await sleep(delay);
  }
  return true;
}

/** kill(2) each pid; one that already exited (ESRCH) is fine. */
export function signalEach(pids: number[], signal: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
    }
  }
}

// #region rmdir
/**
 * rmdir(2) on a cgroup fails with EBUSY while it still has processes,
 * or children, or for a moment after its last process died (the kernel
 * finishes the exit asynchronously). Retry; a missing cgroup is done.
 */
export async function removeCgroupDir(dir: string): Promise<void> {
  let last: unknown;
  const ok = await waitFor(() => {
    try {
      rmdirSync(dir);
      return true;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return true;
      if (code !== 'EBUSY') throw err;
      last = err;
      return false;
    }
  });
  if (!ok) {
    throw new CgroupError(`remove cgroup ${dir}: EBUSY`, { cause: last });
  }
}
// #endregion

/** "/skiff/abc" for "skiff/abc", refusing ".." that would climb out. */
export function normalizeCgroupPath(path: string): string {
  const parts = path.split('/').filter((p) => p && p !== '.');
  if (parts.length === 0 || parts.includes('..')) {
    throw new CgroupError(`cgroup path ${JSON.stringify(path)}: invalid`);
  }
  return `/${parts.join('/')}`;
}
