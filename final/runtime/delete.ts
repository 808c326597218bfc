// `skiff-runtime delete [--force] ID`: a stopped container's resources
// go (its cgroup, its directory), then the poststop hooks run. A
// created one is killed first, as runc does; a running or paused one
// only with --force.
import { openCgroup } from '../../chapters/03-cgroups/cgroups/manager.ts';
import { runHooksWarning } from './hooks.ts';
import { alive, RuntimeError, type Saved, type Store } from './store.ts';

// #region delete
export async function remove(store: Store, id: string, force: boolean,
  warn: (msg: string) => void): Promise<void> {
  let s: Saved;
  try {
    s = store.load(id);
  } catch (err) {
    // containerd's cleanup deletes with --force what may be gone.
    if (force) return store.forget(id);
    throw err;
  }
  const status = store.status(s);
  if ((status === 'running' || status === 'paused') && !force) {
    throw new RuntimeError(`cannot delete container ${id} that is not ` +
      `stopped: ${status}`);
  }
  // #endregion
  // #region delete-stop
  const cgroup = openCgroup(s.cgroup);
  if (status !== 'stopped') {
    if (status === 'paused') await cgroup.thaw().catch(() => {});
    try {
      process.kill(s.pid, 'SIGKILL');
    } catch { /* gone meanwhile */ }
    await cgroup.killAll('SIGKILL').catch(() => {});
    await gone(s);
  }
  await cgroup.destroy().catch((err) => warn(`remove cgroup ${s.cgroup}: ${
    (err as Error).message}`));
  store.forget(id);
  runHooksWarning('poststop', s.hooks.poststop,
    store.ociState(s, 'stopped'), warn);
}
// #endregion

/** Until the process has died (its parent reaps it, not us). */
async function gone(s: Saved): Promise<void> {
  for (let i = 0; i < 1000 && alive(s.pid, s.startTime); i++) {
    await new Promise((r) => setTimeout(r, 10));
  }
}
