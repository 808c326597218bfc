// `skiff-runtime kill ID [SIGNAL]`: a signal (name or number, default
// SIGTERM) to the container's process, or with --all to every process
// in its cgroup.
import { parseSignal } from '../../chapters/02-namespaces/signals.ts';
import { openCgroup } from '../../chapters/03-cgroups/cgroups/manager.ts';
import { RuntimeError, type Store } from './store.ts';

export function kill(store: Store, id: string, signal = 'SIGTERM',
  all = false): void {
  const s = store.load(id);
  const n = parseSignal(signal);
  if (store.status(s) === 'stopped') {
    throw new RuntimeError('container not running');
  }
  const pids = all ? openCgroup(s.cgroup).procs() : [s.pid];
  for (const pid of pids) {
    try {
      process.kill(pid, n);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
    }
  }
}
