// After a restart of the daemon (even kill -9): the containers a
// previous daemon started. One still running is adopted: its output
// FIFOs reopened, its pid watched, its exit code taken from the
// kernel's process events (procexits.ts), since we are not its parent.
// One that ended meanwhile is marked exited, its steps undone.
import { decodeStatus } from '../../../chapters/02-namespaces/reap.ts';
import { ContainerIo } from '../io.ts';
import { ProcExits, stillRuns } from '../procexits.ts';
import { parseSignal } from '../../../chapters/02-namespaces/signals.ts';
import type { ExitStatus } from '../runtime.ts';
import {
  DEFAULT_NETWORK,
} from '../../../chapters/05-network/networks.ts';
import type { Container } from './container.ts';
import { exited } from './exit.ts';
import type { Containers } from './registry.ts';
import { removeContainer } from './remove.ts';
import {
  scheduleRestart, shouldRestart, startsWithDaemon,
} from './restart-policy.ts';
import { startContainer } from './start.ts';

interface Adopted {
  /** Its pid's start time, against a reused pid. */
  start?: number;
  resolve: (status: ExitStatus) => void;
}

export class Adoption {
  /** Containers a previous daemon started, by pid. */
  private readonly adopted = new Map<number, Adopted>();
  private timer?: NodeJS.Timeout;
  /** Their exits, while there are any (procexits.ts). */
  private exits?: ProcExits;

  constructor(private readonly containers: Containers) {}

  // #region recover-listen
  /**
   * One marked running whose pid still runs with the same start time is
   * still ours, its output FIFOs are reopened and its pid watched; any
   * other is marked exited.
   */
  async recover(found: Container[]): Promise<void> {
    const pids = found.filter((container) => container.rec.State.Running)
      .map((container) => container.rec.State.Pid).filter((pid) => pid > 0);
    // Listen before looking at /proc: an exit between the look and the
    // listen would be lost.
    if (pids.length) {
      this.exits = ProcExits.listen(pids, (err) => console.error(
        `exit codes of containers found again unknown: ${err.message}`));
    }
    for (const container of found) await this.recoverOne(container);
    if (!this.adopted.size) this.unwatch();
  }
  // #endregion

  // #region recover-one
  private async recoverOne(container: Container): Promise<void> {
    const state = container.rec.State;
    if (!state.Running && !state.Restarting) {
      if (startsWithDaemon(container)) {
        void startContainer(this.containers, container).catch((err) =>
          console.error(`restart container ${container.id}: ` +
            (err as Error).message));
      }
      return;
    }
    if (state.Running && state.Pid > 0 &&
      stillRuns(state.Pid, container.rec.PidStartTime)) {
      this.adopt(container);
      return;
    }
    // One that was waiting for its restart had its code recorded.
    const status = state.Running ? this.lostExit(state.Pid)
      : { code: state.ExitCode };
    await this.releaseSaved(container);
    container.rec.State = { ...state, Status: 'exited', Running: false,
      Restarting: false, Pid: 0, ExitCode: status.code,
      FinishedAt: new Date().toISOString() };
    container.saveOrLog();
    if (container.rec.HostConfig.AutoRemove) {
      await removeContainer(this.containers, container, true);
    } else if (shouldRestart(container, status)) {
      scheduleRestart(this.containers, container);
    }
  }
  // #endregion

  /**
   * How a container we are not the parent of ended: the status the
   * kernel's process events gave (procexits.ts), or 255, Docker's code
   * for a container it lost, when none did: it ended while no daemon
   * was listening (its status went to the host's init, which reaped
   * it), or events are not available here.
   */
  private lostExit(pid: number): ExitStatus {
    const status = pid > 0 ? this.exits?.status(pid) : undefined;
    this.exits?.forget(pid);
    return status === undefined ? { code: 255 } : decodeStatus(status);
  }

  // #region adopt
  /** Watches a container another daemon started. */
  private adopt(container: Container): void {
    const pid = container.rec.State.Pid;
    const start = container.rec.PidStartTime;
    const io = new ContainerIo(container.dir, !!container.rec.Config.Tty,
      false);
    io.reopen(container.log);
    container.io = io;
    const ended = new Promise<ExitStatus>((resolve) => {
      this.adopted.set(pid, { start, resolve });
    });
    this.timer ??= setInterval(() => this.checkAdopted(), 250);
    container.running = {
      pid, exited: ended, saved: container.rec.StepData ?? { cgroup: '' },
      kill: (signal) => process.kill(pid, parseSignal(signal)),
      release: () => this.releaseSaved(container),
    };
    void ended.then((status) =>
      exited(this.containers, container, status));
    this.listenDns(container);
    // Its healthcheck runs again, from "starting", as moby's restore.
    if (!container.rec.State.Paused) {
      this.containers.health.watch(container);
      container.saveOrLog();
    }
  }
  // #endregion

  /**
   * Its embedded DNS server again: the sockets were the previous
   * daemon's and went with it (dns.ts).
   */
  private listenDns(container: Container): void {
    const user = Object.keys(container.rec.Endpoints ?? {})
      .some((network) => network !== DEFAULT_NETWORK);
    if (!user) return;
    try {
      this.containers.opts.dns?.listen(container.id, container.rec.State.Pid);
    } catch (err) {
      console.error(`container ${container.id}: ${(err as Error).message}`);
    }
  }

  // #region check-adopted
  private checkAdopted(): void {
    // /proc first: a process's exit event is queued before the process
    // can be reaped, so the drain after the look holds it.
    const ended = [...this.adopted].filter(([pid, adopted]) =>
      !stillRuns(pid, adopted.start));
    this.exits?.drain();
    for (const [pid, adopted] of ended) {
      this.adopted.delete(pid);
      adopted.resolve(this.lostExit(pid));
    }
    if (!this.adopted.size) this.unwatch();
  }
  // #endregion

  /** Undoes what a previous daemon's start steps did for a container. */
  private async releaseSaved(container: Container): Promise<void> {
    const saved = container.rec.StepData;
    if (!saved) return;
    await this.containers.opts.runtime.releaseSaved(container.id, saved)
      .catch((err) => console.error(`release container ${container.id}: ` +
        (err as Error).message));
    container.rec.StepData = undefined;
  }

  /** Stops watching: no adopted container left, or daemon shutdown. */
  unwatch(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.exits?.close();
    this.exits = undefined;
  }
}
