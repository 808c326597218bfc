// What a daemon killed in the middle of a start leaves: the steps it had
// taken (a cgroup, with the container's process in it; an IP lease, a
// veth, port rules; the union mount) and a record that still says
// Created, because the record is written once the start is done. The
// next daemon, once it has found again the containers that do run,
// undoes whatever no running container owns. Each step's things are
// named by the container's id, so ownership is a lookup.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  detectHierarchies,
} from '../../chapters/03-cgroups/cgroups/mode.ts';
import { openCgroup } from '../../chapters/03-cgroups/cgroups/manager.ts';
import {
  isMounted, rootfsOf, unmountRootfs,
} from '../../chapters/04-aufs-overlay/overlay.ts';
import { sweep } from '../../chapters/05-network/cleanup.ts';
import type { Engine } from './engine.ts';
import { cgroupParent } from './runtime.ts';

const ID = /^[0-9a-f]{64}$/;

// #region sweep-orphans (unused)
/** Undoes what no running container owns; returns what it removed. */
export async function sweepOrphans(engine: Engine): Promise<string[]> {
  const all = engine.containers.list();
  const live = new Set(all.filter((c) => c.isRunning || c.starting)
    .map((c) => c.id));
  const removed: string[] = [];
  // The processes first: a killed start's container may run, parentless.
  for (const id of cgroupIds(cgroupParent())) {
    if (live.has(id)) continue;
    await openCgroup(`${cgroupParent()}/${id}`).destroy();
    removed.push(`cgroup of ${id.slice(0, 12)}`);
  }
  removed.push(...sweep(engine.net, false,
    (lease) => live.has(lease.container)));
  const store = engine.images.store;
  for (const c of all) {
    if (live.has(c.id) || !isMounted(rootfsOf(store, c.id).merged)) continue;
    unmountRootfs(store, c.id);
    removed.push(`root mount of ${c.id.slice(0, 12)}`);
  }
  return removed;
}
// #endregion

/** Container ids with a cgroup below `parent`, in any hierarchy. */
function cgroupIds(parent: string): Set<string> {
  const h = detectHierarchies();
  const roots = h.mode === 'unified' ? [h.unified!]
    : [...new Set(h.v1.values())];
  const ids = new Set<string>();
  for (const root of roots) {
    let names: string[] = [];
    try {
      names = readdirSync(join(root, parent));
    } catch { /* no container ever started here */ }
    for (const name of names) if (ID.test(name)) ids.add(name);
  }
  return ids;
}
