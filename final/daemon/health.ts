// Healthchecks: the image's HEALTHCHECK or `run --health-cmd`, run by
// the daemon inside the running container the way `docker exec` runs a
// process (execs.ts), once per interval. The results go to
// State.Health (Status, FailingStreak, the last five probes), `docker
// ps` shows them, and a change of status is a `health_status: ...`
// event. The rules are moby's daemon/health.go (docker 20.10), checked
// against a real dockerd: the first probe one interval after the start;
// failures within the start period do not count while the container
// has never been healthy; `retries` failures in a row make it
// unhealthy, one success healthy; a probe over its timeout is killed
// and fails; a monitor that stops (the container exits or is paused)
// leaves the status "unhealthy".
import { Duplex } from 'node:stream';
import type {
  CreateBody, HealthConfig, HealthLog, HealthState,
} from '../api-types.ts';
import { formatDuration } from '../durations.ts';
import { Demuxer } from '../stdcopy.ts';
import type { Container } from './container/container.ts';
import { BadRequest } from './errors.ts';
import type { Events } from './events.ts';
import type { ExecInstance, Execs } from './execs.ts';

// moby's defaults (daemon/health.go), in nanoseconds.
const DEFAULT_INTERVAL = 30e9;
const DEFAULT_TIMEOUT = 30e9;
const DEFAULT_RETRIES = 3;
/** Probes kept in State.Health.Log, and the output kept of each. */
const MAX_LOG = 5;
const MAX_OUTPUT = 4096;

// #region health-config
/**
 * The argv a probe runs, or null for none: Test is ["CMD", args...] or
 * ["CMD-SHELL", command] (run by the image's SHELL, /bin/sh -c by
 * default); ["NONE"], an empty Test or another word means no check,
 * and then no State.Health at all, as dockerd.
 */
export function probeArgs(config: CreateBody): string[] | null {
  const [kind, ...rest] = config.Healthcheck?.Test ?? [];
  if (kind === 'CMD' && rest.length) return rest;
  if (kind === 'CMD-SHELL') {
    const shell = config.Shell?.length ? config.Shell : ['/bin/sh', '-c'];
    return [...shell, rest.join(' ')];
  }
  return null;
}

/**
 * docker's merge: each field the request leaves unset (empty, 0), the
 * image's; unset fields left out, as docker's JSON omits them.
 */
export function mergeHealthcheck(user?: HealthConfig | null,
  image?: HealthConfig | null): HealthConfig | undefined {
  if (!user && !image) return undefined;
  const merged: HealthConfig = {};
  const test = user?.Test?.length ? user.Test : image?.Test;
  if (test?.length) merged.Test = test;
  for (const key of ['Interval', 'Timeout', 'StartPeriod',
    'Retries'] as const) {
    const value = user?.[key] || image?.[key];
    if (value) merged[key] = value;
  }
  return merged;
}
// #endregion

/** moby's checks at create (400): durations of 0 or at least 1ms. */
export function checkHealthcheck(config?: HealthConfig | null): void {
  if (!config) return;
  for (const key of ['Interval', 'Timeout', 'StartPeriod'] as const) {
    const ns = config[key] ?? 0;
    if (ns !== 0 && ns < 1e6) {
      throw new BadRequest(`${key} in Healthcheck cannot be less than 1ms`);
    }
  }
  if ((config.Retries ?? 0) < 0) {
    throw new BadRequest('Retries in Healthcheck cannot be negative');
  }
}

/** For ps's `health` filter: starting, healthy, unhealthy or none. */
export function healthStatus(container: Container)
  : HealthState['Status'] | 'none' {
  return container.rec.State.Health?.Status ?? 'none';
}

/** What ps's STATUS adds: "healthy", "unhealthy", "health: starting". */
export function healthText(health: HealthState): string {
  return health.Status === 'starting' ? 'health: starting' : health.Status;
}

/** One container's probes: the next one's timer, or the one running. */
interface Monitor {
  stopped: boolean;
  timer?: NodeJS.Timeout;
  probe?: ExecInstance;
}

export class Healthchecks {
  private readonly monitors = new Map<Container, Monitor>();

  constructor(private readonly execs: Execs,
    private readonly events: Events) {}

  // #region health-watch
  /**
   * At each start (and when a daemon finds the container running
   * again): "starting" with a streak of 0, the old log kept, and the
   * first probe one interval on. The caller saves the record.
   */
  watch(container: Container): void {
    this.stop(container);
    const state = container.rec.State;
    if (!probeArgs(container.rec.Config)) {
      delete state.Health;
      return;
    }
    state.Health = { Status: 'starting', FailingStreak: 0,
      Log: state.Health?.Log ?? [] };
    this.resume(container);
  }

  /** Probes again (unpause), the status left as it is till one ends. */
  resume(container: Container): void {
    if (!container.rec.State.Health || this.monitors.has(container)) return;
    const monitor: Monitor = { stopped: false };
    this.monitors.set(container, monitor);
    this.schedule(container, monitor);
  }

  /**
   * No more probes (exit, pause, removal): the one running is killed
   * and its result dropped; the status becomes "unhealthy", as moby's
   * CloseMonitorChannel does "for compatibility reasons".
   */
  unwatch(container: Container): void {
    if (!this.stop(container)) return;
    const health = container.rec.State.Health;
    if (health) health.Status = 'unhealthy';
  }
  // #endregion

  /** Daemon shutdown: timers cleared, the containers left running. */
  unwatchAll(): void {
    for (const container of [...this.monitors.keys()]) this.stop(container);
  }

  private stop(container: Container): boolean {
    const monitor = this.monitors.get(container);
    if (!monitor) return false;
    this.monitors.delete(container);
    monitor.stopped = true;
    clearTimeout(monitor.timer);
    monitor.probe?.handle?.kill('SIGKILL');
    return true;
  }

  private schedule(container: Container, monitor: Monitor): void {
    const config = container.rec.Config.Healthcheck ?? {};
    monitor.timer = setTimeout(() => {
      void this.probe(container, monitor).then((result) => {
        if (monitor.stopped) return;
        this.record(container, result);
        this.schedule(container, monitor);
      });
    }, (config.Interval || DEFAULT_INTERVAL) / 1e6);
  }

  // #region health-record
  /** moby's handleProbeResult: the log, the streak, the status. */
  private record(container: Container, result: HealthLog): void {
    const rec = container.rec;
    const health = rec.State.Health;
    if (!health) return;
    const config = rec.Config.Healthcheck ?? {};
    const before = health.Status;
    health.Log = [...health.Log, result].slice(-MAX_LOG);
    if (result.ExitCode === 0) {
      health.FailingStreak = 0;
      health.Status = 'healthy';
    } else if (!(health.Status === 'starting' &&
      Date.parse(result.Start) - Date.parse(rec.State.StartedAt) <
        (config.StartPeriod ?? 0) / 1e6)) {
      // Any other code (2, -1, 137) is a failure; within the start
      // period, before any success, failures do not count.
      health.FailingStreak++;
      if (health.FailingStreak >= (config.Retries || DEFAULT_RETRIES)) {
        health.Status = 'unhealthy';
      }
    }
    container.saveOrLog(); // a timer's: no request to fail
    if (health.Status !== before) {
      this.events.emit('container', `health_status: ${health.Status}`,
        container.id, { ...rec.Config.Labels, image: rec.Config.Image,
          name: container.name });
    }
  }
  // #endregion

  // #region health-probe
  /**
   * One probe: an exec of the check (execs.ts, as `docker exec` would
   * run it: the container's user, env, cwd and confinement), its
   * output captured, killed at the timeout. A probe that cannot start
   * fails with -1 and the error, as moby's.
   */
  private async probe(container: Container, monitor: Monitor)
    : Promise<HealthLog> {
    const config = container.rec.Config;
    const timeout = config.Healthcheck?.Timeout || DEFAULT_TIMEOUT;
    const start = new Date().toISOString();
    const output = new Capture();
    let exec: ExecInstance | undefined;
    let code: number;
    try {
      exec = this.execs.create(container, { Cmd: probeArgs(config)!,
        AttachStdout: true, AttachStderr: true, User: config.User });
      monitor.probe = exec;
      await this.execs.start(exec, output);
      code = await this.waitFor(exec, timeout, output);
    } catch (err) {
      return { Start: start, End: new Date().toISOString(),
        ExitCode: -1, Output: (err as Error).message };
    } finally {
      monitor.probe = undefined;
      if (exec) this.execs.forget(exec);
    }
    return { Start: start, End: new Date().toISOString(), ExitCode: code,
      Output: code === -1 ? `Health check exceeded timeout ` +
        `(${formatDuration(timeout)})` : output.text() };
  }
  // #endregion

  /**
   * The probe's exit code, or -1 once it ran past `timeout` (killed).
   * The clock starts once the process runs: moby's also counts runc's
   * exec, a few milliseconds; ours, a process that joins the
   * namespaces, can take most of a second on a busy host.
   */
  private async waitFor(exec: ExecInstance, timeout: number,
    output: Capture): Promise<number> {
    const handle = exec.handle!;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), timeout / 1e6);
    });
    const status = await Promise.race([handle.wait(), late]);
    clearTimeout(timer);
    if (status === 'late') {
      handle.kill('SIGKILL');
      await handle.wait();
      return -1;
    }
    // Its output may still be in the pipes; a child it left behind may
    // hold them open: a second at most.
    await Promise.race([output.done,
      new Promise((resolve) => setTimeout(resolve, 1000))]);
    return status.code;
  }
}

/**
 * Where a probe's output goes: stdout and stderr in one buffer of at
 * most 4096 bytes, "..." after it when there was more (moby's
 * limitedBuffer). execs.ts writes stdcopy frames to it.
 */
class Capture extends Duplex {
  private readonly demux = new Demuxer();
  private readonly kept: Buffer[] = [];
  private size = 0;
  private truncated = false;
  readonly done = new Promise((resolve) => this.once('finish', resolve));

  _read(): void {}

  _write(chunk: Buffer, _enc: string, next: () => void): void {
    this.demux.push(chunk, (_stream, data) => {
      const keep = Math.min(MAX_OUTPUT - this.size, data.length);
      if (keep > 0) this.kept.push(data.subarray(0, keep));
      this.size += Math.max(keep, 0);
      if (keep < data.length) this.truncated = true;
    });
    next();
  }

  text(): string {
    const text = Buffer.concat(this.kept).toString('utf8');
    return this.truncated ? `${text}...` : text;
  }
}
