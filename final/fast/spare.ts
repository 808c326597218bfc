// Spare inits: a container's init made before the container is asked
// for. Most of a start is Node starting up in the init (node's own
// start-up and loading koffi), and none of that depends on the
// container: the trampoline can clone an init into fresh namespaces
// and leave it blocked reading its config. When a container comes, the
// engine hands it its stdio and mount trees over fd 6 (chapter 02's
// handOver) and writes its config; the init goes on as a fresh one
// would. An engine keeps one spare, not one per container.
import { closeSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  handable, handOver, launch, type LaunchRequest, type Launched,
  spawnInit, type Waiting,
} from '../../chapters/02-namespaces/launch.ts';
import { CLONE_NEW } from '../../chapters/02-namespaces/start.ts';

/**
 * The engine's init bundle entry (chapter 02's build.ts bundles it):
 * chapter 06's init, which warms up while it waits as a spare (warm.ts).
 */
export const FAST_INIT = fileURLToPath(
  new URL('./init-main.ts', import.meta.url));

// #region spare-key
/**
 * The spare that fits a trampoline run: only new namespaces (-f), a
 * mount one among them, since the rootfs and bind sources come as
 * trees (-b/-B are made by the engine then). Joining namespaces, a user
 * namespace or a kept fd need a trampoline run of their own.
 */
export function spareKey(nsexecArgs: string[]): string | undefined {
  let flags = 0;
  for (let i = 0; i < nsexecArgs.length; i += 2) {
    const [opt, value] = [nsexecArgs[i], nsexecArgs[i + 1]];
    if (opt === '-f') flags = Number(value);
    else if (opt !== '-b' && opt !== '-B') return undefined;
  }
  return flags & CLONE_NEW.mount ? String(flags) : undefined;
}
// #endregion

interface Spare {
  key: string;
  init: Promise<Waiting>;
  dead: boolean;
}

// #region spare-inits
export class SpareInits {
  private next?: Spare;
  private closed = false;

  /** `init`: the entry of the inits to keep (build.ts), if not ours. */
  constructor(private readonly init?: string) {}

  /**
   * Chapter 02's launch, with a spare where one fits: startContainer's
   * `launcher`. A spare that failed to start: the plain launch says
   * why, if it fails too.
   */
  readonly launch = async (req: LaunchRequest): Promise<Launched> => {
    const spare = handable(req) && req.init === this.init
      ? this.take(req.nsexecArgs) : undefined;
    const waiting = await spare?.catch(() => undefined);
    return waiting ? handOver(waiting, req) : launch(req);
  };

  /**
   * The waiting spare if it fits, else a new one (still faster to hand
   * over than a cold start). The next one starts at once: starts that
   * come back to back find it partly started up at least.
   */
  take(nsexecArgs: string[]): Promise<Waiting> | undefined {
    const key = spareKey(nsexecArgs);
    if (key === undefined || this.closed) return undefined;
    let spare = this.next;
    this.next = undefined;
    if (spare?.key !== key || spare.dead) {
      if (spare) void discard(spare);
      spare = this.spawn(key);
    }
    void spare.init.finally(() => this.refill(key)).catch(() => {});
    return spare.init;
  }
  // #endregion

  /**
   * Makes a spare for these arguments now (an engine starting up, for
   * its first container); resolves with its pid once it waits.
   */
  async prepare(nsexecArgs: string[]): Promise<number | undefined> {
    const key = spareKey(nsexecArgs);
    if (key === undefined || this.closed) return undefined;
    if (this.next?.key !== key || this.next.dead) {
      if (this.next) void discard(this.next);
      this.next = this.spawn(key);
    }
    return (await this.next.init).pid;
  }

  /** Stops the waiting spare; resolves once it is gone. */
  async close(): Promise<void> {
    this.closed = true;
    const spare = this.next;
    this.next = undefined;
    if (spare) await discard(spare);
  }

  private refill(key: string): void {
    if (this.closed || this.next) return;
    this.next = this.spawn(key);
  }

  private spawn(key: string): Spare {
    const init = spawnInit({ nsexecArgs: ['-f', key],
      stdio: ['ignore', 'ignore', 'ignore'], console: true,
      init: this.init });
    const spare: Spare = { key, init, dead: false };
    init.then((w) => w.exited, () => undefined)
      .finally(() => { spare.dead = true; });
    return spare;
  }
}

/** EOF on its config tells a spare to exit; it is reaped as it does. */
async function discard(spare: Spare): Promise<void> {
  const w = await spare.init.catch(() => undefined);
  if (!w) return;
  w.config.end();
  w.sync.destroy();
  if (w.console !== undefined) closeSync(w.console);
  await w.exited;
}
