// When a container's process ends: the exit code recorded, the start
// steps released, then the restart policy, or --rm's removal.
import type { ExitStatus } from '../runtime.ts';
import type { Container } from './container.ts';
import type { Containers } from './registry.ts';
import { removeContainer } from './remove.ts';
import { scheduleRestart, shouldRestart } from './restart-policy.ts';

// #region exited-record
export async function exited(containers: Containers, container: Container,
  status: ExitStatus): Promise<void> {
  containers.health.unwatch(container);
  // Output written just before the exit may still be in the pipes.
  await Promise.race([container.io?.drained,
    new Promise((resolve) => setTimeout(resolve, 1000))]);
  container.io?.destroy();
  // The kernel counts its OOM kills in the cgroup, gone after release.
  const oomKilled = oomKills(containers, container) > 0;
  dieEvents(containers, container, status.code, oomKilled);
  await container.running?.release().catch(() => {});
  containers.opts.dns?.close(container.id); // adopted ones have no step
  container.io = undefined;
  container.running = undefined;
  const rec = container.rec;
  rec.State = { ...rec.State, Status: 'exited', Running: false,
    Restarting: false, Paused: false, Pid: 0, ExitCode: status.code,
    OOMKilled: oomKilled,
    FinishedAt: new Date().toISOString() };
  rec.PidStartTime = undefined;
  rec.StepData = undefined;
  const restart = shouldRestart(container, status);
  if (restart) rec.State.Status = 'restarting';
  rec.State.Restarting = restart;
  // One fsync less for `run --rm`: its directory goes in a moment (and
  // a daemon that dies before that finds it dead and removes it).
  if (restart || !rec.HostConfig.AutoRemove) container.saveOrLog();
  volumeEvents(containers, container, 'unmount');
  container.emit('exit', status);
  if (restart) return scheduleRestart(containers, container);
  if (rec.HostConfig.AutoRemove) {
    await removeContainer(containers, container, true);
  }
}
// #endregion

/**
 * The end on the bus, in dockerd's order (its monitor logs `die`, then
 * cleans up): `oom` when the kernel's OOM killer ended it, `die` with
 * the exit code; the release's network `disconnect` and the volumes'
 * `unmount` follow; `stop` comes from stop.ts when a user stopped it.
 */
function dieEvents(containers: Containers, container: Container,
  code: number, oomKilled: boolean): void {
  if (oomKilled) containers.event(container, 'oom');
  containers.event(container, 'die', { exitCode: String(code) });
}

/**
 * Each named volume the container mounts, on the bus: `mount` at its
 * start, `unmount` at its end (moby's setupMounts, UnmountVolumes).
 */
export function volumeEvents(containers: Containers, container: Container,
  action: 'mount' | 'unmount'): void {
  for (const m of container.rec.Mounts) {
    if (m.Type !== 'volume' || !m.Name) continue;
    containers.opts.events.emit('volume', action, m.Name, action === 'mount'
      ? { driver: 'local', container: container.id,
        destination: m.Destination, 'read/write': String(m.RW),
        propagation: '' }
      : { driver: 'local', container: container.id });
  }
}

/**
 * The OOM killer's kills in the container's cgroup (chapter 03's
 * memory.events oom_kill on v2, memory.oom_control on v1): docker's
 * State.OOMKilled. 0 when the cgroup cannot be read.
 */
function oomKills(containers: Containers, container: Container): number {
  if (!container.running) return 0;
  try {
    return containers.opts.runtime.cgroup(container.spec(), container.id)
      .stats().oomKills;
  } catch {
    return 0;
  }
}
