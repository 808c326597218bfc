// `docker kill`, and the one way the daemon signals a container.
import { parseSignal } from '../../../chapters/02-namespaces/signals.ts';
import { BadRequest, Conflict } from '../errors.ts';
import type { Container } from './container.ts';
import { unpauseContainer } from './pause.ts';
import type { Containers } from './registry.ts';

/** Signals that end a container: the user's stop, not a crash. */
const ENDING = [2, 9, 15]; // SIGINT, SIGKILL, SIGTERM

// #region kill (unused)
export function killContainer(containers: Containers, container: Container,
  signal = 'SIGKILL'): void {
  const number = clientSignal(signal);
  if (!container.isRunning) {
    throw new Conflict(`Cannot kill container: ${container.id}: ` +
      `Container ${container.id} is not running`);
  }
  if (ENDING.includes(number)) {
    container.stopping = true;
    container.rec.HasBeenManuallyStopped = true;
  }
  sendSignal(containers, container, number);
}
// #endregion

/** A signal an API client named: a bad one is its error (400). */
export function clientSignal(signal: string): number {
  try {
    return parseSignal(signal);
  } catch (err) {
    throw new BadRequest((err as Error).message, { cause: err });
  }
}

/**
 * Signals the container's first process; one already gone is fine.
 * Every signal the daemon sends (kill, stop, rm -f) is a `kill` event
 * with its number, as dockerd's killWithSignal says it.
 */
export function sendSignal(containers: Containers, container: Container,
  signal: string | number): void {
  const number = parseSignal(signal);
  try {
    container.running?.kill(number);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
  containers.event(container, 'kill', { signal: String(number) });
  // A frozen process gets its signal only once thawed (docker too
  // unpauses a container it stops or kills).
  if (container.rec.State.Paused && (number === 9 || number === 15)) {
    void unpauseContainer(containers, container).catch(() => {});
  }
}
