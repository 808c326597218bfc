// `update --resources FILE|- ID`: new limits for a live container, as
// containerd sends them (the OCI LinuxResources JSON), written by
// chapter 03's manager to the same cgroup.
import { readFileSync } from 'node:fs';
import type { LinuxResources } from '../../chapters/02-namespaces/spec.ts';
import { openCgroup } from '../../chapters/03-cgroups/cgroups/manager.ts';
import { RuntimeError, type Store } from './store.ts';

export async function update(store: Store, id: string,
  resources: string): Promise<void> {
  const s = store.load(id);
  if (store.status(s) === 'stopped') {
    throw new RuntimeError('container not running');
  }
  let r: LinuxResources;
  try {
    r = JSON.parse(readFileSync(resources === '-' ? 0 : resources,
      'utf8')) as LinuxResources;
  } catch (err) {
    throw new RuntimeError(`read resources ${resources}: ${
      (err as Error).message}`, { cause: err });
  }
  await openCgroup(s.cgroup).apply(r);
  s.spec.linux.resources = { ...s.spec.linux.resources, ...r };
  store.save(s);
}
