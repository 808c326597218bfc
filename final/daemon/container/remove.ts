// `docker rm`: the container's directory and its layer (chapter 04's
// removeRootfs); with -v its anonymous volumes too.
import { rmSync } from 'node:fs';
import { removeRootfs } from '../../../chapters/04-aufs-overlay/overlay.ts';
import { Conflict } from '../errors.ts';
import type { Container } from './container.ts';
import { sendSignal } from './kill.ts';
import type { Containers } from './registry.ts';

// #region remove
export async function removeContainer(containers: Containers,
  container: Container, force = false, volumes = false): Promise<void> {
  if (container.removed) return;
  if (container.isRunning && !force) {
    throw new Conflict('You cannot remove a running container ' +
      `${container.id}. Stop the container before attempting removal ` +
      'or force remove');
  }
  container.stopping = true;
  clearTimeout(container.restartTimer);
  if (container.isRunning) {
    const exit = new Promise((resolve) => container.once('exit', resolve));
    sendSignal(containers, container, 'SIGKILL');
    await exit;
  }
  if (container.removed) return;
  container.removed = true;
  container.log.close();
  containers.byId.delete(container.id);
  removeRootfs(containers.opts.images.store, container.id);
  rmSync(container.dir, { recursive: true, force: true });
  if (volumes) removeAnonymousVolumes(containers, container);
  containers.event(container, 'destroy');
  container.emit('removed');
}
// #endregion

/** `rm -v`: the volumes made for it alone (named by a random id). */
function removeAnonymousVolumes(containers: Containers,
  container: Container): void {
  for (const mount of container.rec.Mounts) {
    const name = mount.Name;
    if (mount.Type !== 'volume' || !name || !/^[0-9a-f]{64}$/.test(name)) {
      continue;
    }
    try {
      containers.opts.volumes.remove(name, containers.usersOf(name));
    } catch { /* in use elsewhere: keep it */ }
  }
}
