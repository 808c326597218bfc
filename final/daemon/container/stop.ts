// `docker stop`: SIGTERM (or the image's StopSignal), SIGKILL after the
// timeout; the restart policy does not apply to it.
import { NotModified } from '../errors.ts';
import type { Container } from './container.ts';
import { clientSignal, sendSignal } from './kill.ts';
import type { Containers } from './registry.ts';

// #region stop-timeout
export async function stopContainer(containers: Containers,
  container: Container, timeout?: number, signal?: string): Promise<void> {
  if (signal) clientSignal(signal);
  container.stopping = true;
  container.rec.HasBeenManuallyStopped = true;
  clearTimeout(container.restartTimer);
  if (container.rec.State.Restarting) {
    container.rec.State = { ...container.rec.State, Status: 'exited',
      Restarting: false };
    container.save();
    containers.event(container, 'stop');
    return;
  }
  if (!container.isRunning || !container.running) {
    throw new NotModified('not running');
  }
  const exit = new Promise((resolve) => container.once('exit', resolve));
  const config = container.rec.Config;
  const seconds = timeout ?? config.StopTimeout ?? 10;
  sendSignal(containers, container, signal ?? config.StopSignal ??
    'SIGTERM');
  // A negative timeout waits for ever (docker's `stop -t -1`); one past
  // setTimeout's 2^31-1 ms (24.8 days) would fire at once: capped.
  const timer = seconds < 0 ? undefined : setTimeout(() =>
    sendSignal(containers, container, 'SIGKILL'),
  Math.min(seconds * 1000, 2 ** 31 - 1));
  await exit;
  clearTimeout(timer);
  containers.event(container, 'stop');
}
// #endregion
