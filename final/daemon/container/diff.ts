// `docker diff`: what a container changed in its filesystem, read from
// its own layer by chapter 04's diff walk (the one `commit` uses).
import { diffRootfs } from '../../../chapters/04-aufs-overlay/overlay.ts';
import type { Container } from './container.ts';
import type { Containers } from './registry.ts';

/**
 * The files the start binds over (chapter 05's network step makes their
 * mount points in the container's layer). dockerd makes them in an
 * "init" layer under the container's, so its diff never shows them.
 */
const MOUNT_POINTS = ['/etc/hostname', '/etc/hosts', '/etc/resolv.conf'];

/** GET /containers/{id}/changes: docker's Kind numbers. */
const KIND = { C: 0, A: 1, D: 2 } as const;

// #region diff (unused)
/**
 * Each path the container's layer added (1), changed (0) or deleted (2);
 * a directory holding a change is itself changed, as docker reports
 * it. No change: null, as dockerd's empty Go slice.
 */
export function containerChanges(containers: Containers,
  container: Container): { Path: string; Kind: number }[] | null {
  const all = diffRootfs(containers.opts.images.store, container.id);
  const ours = (path: string) => MOUNT_POINTS.includes(path);
  const hidden = all.filter((c) => c.kind === 'A' && ours(c.path));
  const shown = all.filter((c) => !hidden.includes(c) &&
    // A directory changed only by holding our mount points.
    !(c.kind === 'C' && hidden.some((h) => h.path.startsWith(`${c.path}/`))
      && !all.some((o) => !hidden.includes(o) &&
        o.path.startsWith(`${c.path}/`))));
  const found = shown.map((change) =>
    ({ Path: change.path, Kind: KIND[change.kind] }));
  return found.length ? found : null;
}
// #endregion
