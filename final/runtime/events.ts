// `events --stats ID`: one JSON line of the container's resource use,
// in runc's shape (types.Event with types.Stats), from chapter 03's
// cgroup statistics.
import { openCgroup } from '../../chapters/03-cgroups/cgroups/manager.ts';
import { RuntimeError, type Store } from './store.ts';

export function statsEvent(store: Store, id: string): string {
  const s = store.load(id);
  if (store.status(s) === 'stopped') {
    throw new RuntimeError('container not running');
  }
  const st = openCgroup(s.cgroup).stats();
  return JSON.stringify({ type: 'stats', id, data: {
    cpu: { usage: { total: st.cpuUsageNs } },
    memory: { usage: { usage: st.memoryBytes, max: st.memoryPeakBytes,
      limit: st.memoryLimit ?? 0 }, cache: st.memoryCacheBytes },
    pids: { current: st.pids, limit: st.pidsLimit ?? 0 },
    blkio: { ioServiceBytesRecursive: [
      { op: 'Read', value: st.ioReadBytes },
      { op: 'Write', value: st.ioWriteBytes }] },
  } });
}
