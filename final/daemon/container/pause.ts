// `docker pause`: chapter 03's freezer stops every process at once.
import { Conflict } from '../errors.ts';
import type { Container } from './container.ts';
import type { Containers } from './registry.ts';

// #region pause
export async function pauseContainer(containers: Containers,
  container: Container): Promise<void> {
  if (!container.isRunning) {
    throw new Conflict(`Container ${container.id} is not running`);
  }
  if (container.rec.State.Paused) {
    throw new Conflict(`Container ${container.id} is already paused`);
  }
  await containers.opts.runtime.cgroup(container.spec(), container.id)
    .freeze();
  container.rec.State = { ...container.rec.State, Paused: true,
    Status: 'paused' };
  containers.health.unwatch(container); // moby's: no probes while paused
  container.save();
  containers.event(container, 'pause');
}

export async function unpauseContainer(containers: Containers,
  container: Container): Promise<void> {
  if (!container.rec.State.Paused) {
    throw new Conflict(`Container ${container.id} is not paused`);
  }
  await containers.opts.runtime.cgroup(container.spec(), container.id)
    .thaw();
  if (!container.isRunning) return;
  container.rec.State = { ...container.rec.State, Paused: false,
    Status: 'running' };
  containers.health.resume(container);
  container.save();
  containers.event(container, 'unpause');
}
// #endregion
