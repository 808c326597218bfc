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
  // Output written just before the exit may still be in the pipes.
  await Promise.race([container.io?.drained,
    new Promise((resolve) => setTimeout(resolve, 1000))]);
  container.io?.destroy();
  // The kernel counts its OOM kills in the cgroup, gone after release.
  const oomKilled = oomKills(containers, container) > 0;
  if (oomKilled) {
    containers.opts.events.emit('container', 'oom', container.id,
      { name: container.name, image: container.rec.Config.Image });
  }
  await container.running?.release().catch(() => {});
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
  container.emit('exit', status);
  if (restart) return scheduleRestart(containers, container);
  if (rec.HostConfig.AutoRemove) {
    await removeContainer(containers, container, true);
  }
}
// #endregion

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
