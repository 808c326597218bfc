// `docker wait`: the exit code, once the condition is met.
import type { ExitStatus } from '../runtime.ts';
import type { Container } from './container.ts';

// #region wait
/**
 * docker's conditions: not-running (default), next-exit, removed.
 * `gone` (the client's hang-up) drops the listener; the promise then
 * never settles, and nothing holds it.
 */
export function waitContainer(container: Container,
  condition = 'not-running', gone?: AbortSignal): Promise<number> {
  const code = () => container.rec.State.ExitCode;
  if (condition === 'removed' && container.removed) {
    return Promise.resolve(code());
  }
  if (condition === 'not-running' && !container.isRunning &&
    !container.rec.State.Restarting) {
    return Promise.resolve(code());
  }
  return new Promise((resolve) => {
    const event = condition === 'removed' ? 'removed' : 'exit';
    const onEvent = (status?: ExitStatus) =>
      resolve(event === 'exit' ? status!.code : code());
    container.once(event, onEvent);
    gone?.addEventListener('abort', () => container.off(event, onEvent),
      { once: true });
  });
}
// #endregion
