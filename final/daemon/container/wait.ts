// `docker wait`: the exit code, once the condition is met.
import type { ExitStatus } from '../runtime.ts';
import type { Container } from './container.ts';

// #region wait
/** docker's conditions: not-running (default), next-exit, removed. */
export function waitContainer(container: Container,
  condition = 'not-running'): Promise<number> {
  const code = () => container.rec.State.ExitCode;
  if (condition === 'removed') {
    if (container.removed) return Promise.resolve(code());
    return new Promise((resolve) =>
      container.once('removed', () => resolve(code())));
  }
  if (condition === 'not-running' && !container.isRunning &&
    !container.rec.State.Restarting) {
    return Promise.resolve(code());
  }
  return new Promise((resolve) => container.once('exit',
    (status: ExitStatus) => resolve(status.code)));
}
// #endregion
