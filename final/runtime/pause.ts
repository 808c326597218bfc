// `pause ID` and `resume ID`: the cgroup freezer (chapter 03).
import { openCgroup } from '../../chapters/03-cgroups/cgroups/manager.ts';
import { RuntimeError, type Store } from './store.ts';

export async function pause(store: Store, id: string): Promise<void> {
  const s = store.load(id);
  const status = store.status(s);
  if (status !== 'running') {
    throw new RuntimeError(`container not running: ${status}`);
  }
  await openCgroup(s.cgroup).freeze();
}

export async function resume(store: Store, id: string): Promise<void> {
  const s = store.load(id);
  if (store.status(s) !== 'paused') {
    throw new RuntimeError('container not paused');
  }
  await openCgroup(s.cgroup).thaw();
}
