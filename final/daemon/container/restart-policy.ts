// --restart: docker's policies (no, always, unless-stopped,
// on-failure[:N]), its back-off, and which containers start with the
// daemon.
import { ZERO_TIME } from '../../api-types.ts';
import type { ExitStatus } from '../runtime.ts';
import type { Container } from './container.ts';
import type { Containers } from './registry.ts';
import { startContainer } from './start.ts';

// #region restart-policy
/** Whether a container that ended with `status` starts again. */
export function shouldRestart(container: Container, status: ExitStatus)
  : boolean {
  const policy = container.rec.HostConfig.RestartPolicy;
  if (container.stopping || container.removed || !policy) return false;
  if (policy.Name === 'always' || policy.Name === 'unless-stopped') {
    return true;
  }
  if (policy.Name !== 'on-failure' || status.code === 0) return false;
  const max = policy.MaximumRetryCount ?? 0;
  return max === 0 || container.rec.RestartCount < max;
}

/** docker's back-off: 100 ms, doubling, at most a minute. */
export function scheduleRestart(containers: Containers,
  container: Container): void {
  const state = container.rec.State;
  const ran = Date.parse(state.FinishedAt) - Date.parse(state.StartedAt);
  const delay = ran > 10_000 ? 100 : Math.min(60_000,
    100 * 2 ** Math.min(container.rec.RestartCount, 10));
  container.restartTimer = setTimeout(() => {
    if (container.stopping || container.removed) return;
    container.rec.RestartCount++;
    startContainer(containers, container).catch((err) => {
      container.rec.State = { ...container.rec.State, Status: 'exited',
        Restarting: false, Error: (err as Error).message };
      container.saveOrLog();
    });
  }, delay);
}
// #endregion

/**
 * docker's restart when its daemon starts: `always` even if the user
 * stopped it, `unless-stopped` only if not; never one never started.
 */
export function startsWithDaemon(container: Container): boolean {
  const policy = container.rec.HostConfig.RestartPolicy?.Name;
  if (container.rec.State.StartedAt === ZERO_TIME) return false;
  return policy === 'always' || (policy === 'unless-stopped' &&
    !container.rec.HasBeenManuallyStopped);
}
