// The daemon's containers: create, start, supervise, stop, remove. Each
// lives in <root>/containers/<id>/ as config.json (the OCI config),
// state.json (docker inspect's shape, written atomically) and
// <id>-json.log. The daemon is every container's parent: it keeps the
// exit code and the logs, and applies the restart policy. Containers a
// previous daemon started are found again; their exit codes come from
// the kernel's process events (procexits.ts).
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import {
  existsSync, mkdirSync, readdirSync, rmSync,
} from 'node:fs';
import { join } from 'node:path';
import { parseSignal } from '../../chapters/02-namespaces/signals.ts';
import type { Spec } from '../../chapters/02-namespaces/spec.ts';
import {
  fromPortBindings, publishMode,
} from '../../chapters/05-network/ports.ts';
import {
  mkdirInRoot, readFileInRoot,
} from '../../chapters/06-security/inroot.ts';
import {
  ZERO_TIME, type ContainerState, type CreateBody, type HostConfig,
} from '../api-types.ts';
import { normalizeRef, type Image, type ImageSource } from './images.ts';
import { ContainerIo } from './io.ts';
import { LogFile } from './logs.ts';
import { randomName } from './names.ts';
import { buildSpec, resolveUser } from './ocispec.ts';
import { decodeStatus } from '../../chapters/02-namespaces/reap.ts';
import { ProcExits, stillRuns } from './procexits.ts';
import {
  cgroupParent, processStartTime, type StartPlan,
  type ExitStatus, type Runtime, type Running, type SavedSteps,
} from './runtime.ts';
import { readJson, writeJson } from './state.ts';
import {
  checkUsernsMode, chownRootfs, idmappedRootfs, isChowned, type Remap,
  remapSpec,
} from './userns.ts';
import { BadRequest, Conflict, NotFound, NotModified } from './errors.ts';
import type { Volumes } from './volumes.ts';

export interface MountPoint {
  Type: 'bind' | 'volume';
  Name?: string;
  Source: string;
  Destination: string;
  Mode: string;
  RW: boolean;
  Propagation: string;
}

/** What state.json holds: docker inspect's fields plus our own. */
export interface ContainerRecord {
  Id: string;
  Name: string;
  Created: string;
  Path: string;
  Args: string[];
  State: ContainerState;
  Image: string;
  LogPath: string;
  RestartCount: number;
  Driver: string;
  Platform: 'linux';
  Mounts: MountPoint[];
  Config: CreateBody;
  HostConfig: HostConfig;
  /** Start time of State.Pid (/proc/PID/stat field 22), against reuse. */
  PidStartTime?: number;
  /** What the start steps recorded, so a later daemon can undo them. */
  StepData?: SavedSteps;
  /** docker's: stopped or killed by the user, so `unless-stopped` stays
   * down even when a daemon starts again. */
  HasBeenManuallyStopped?: boolean;
}

// #region container
export class Container extends EventEmitter {
  io?: ContainerIo;
  running?: Running;
  log: LogFile;
  /** Set by stop/kill-by-user: the restart policy must not apply. */
  stopping = false;
  restartTimer?: NodeJS.Timeout;
  removed = false;

  constructor(readonly dir: string, public rec: ContainerRecord) {
    super();
    this.setMaxListeners(0);
    this.log = new LogFile(rec.LogPath);
  }

  get id(): string { return this.rec.Id; }
  get name(): string { return this.rec.Name.slice(1); }
  get isRunning(): boolean { return this.rec.State.Running; }

  save(): void {
    if (!this.removed) writeJson(join(this.dir, 'state.json'), this.rec);
  }

  spec(): Spec {
    return readJson<Spec>(join(this.dir, 'config.json'));
  }
}
// #endregion

/** The security fields as docker inspect shows them when unset. */
function withSecurityDefaults(hc: HostConfig): HostConfig {
  const listOrNull = (l?: string[] | null) => l?.length ? l : null;
  return { ...hc, CapAdd: listOrNull(hc.CapAdd),
    CapDrop: listOrNull(hc.CapDrop), Privileged: !!hc.Privileged,
    SecurityOpt: listOrNull(hc.SecurityOpt),
    UsernsMode: hc.UsernsMode ?? '' };
}

/**
 * docker creates -w's directory when the image lacks it. The image is
 * untrusted: a symbolic link on the way resolves inside the rootfs, as
 * the container will see it, never on the host (chapter 06's
 * mkdirInRoot).
 */
function makeWorkdir(rootfs: string, cwd: string): void {
  try {
    mkdirInRoot(rootfs, cwd);
  } catch { /* a file or dangling link there: the init's chdir says so */ }
}

/**
 * -u's uid and gid, looked up in the image's /etc/passwd and /etc/group
 * when it names them. We read them as host root: inside the rootfs,
 * regular files only, at most 1 MiB (chapter 06's readFileInRoot).
 */
export function userInImage(rootfs: string, user: string)
  : { uid: number; gid: number } {
  const etc = (f: string, needed: boolean) =>
    needed ? readFileInRoot(rootfs, `/etc/${f}`) ?? '' : '';
  return resolveUser(user, etc('passwd', !!user),
    etc('group', user.includes(':')));
}

/**
 * HostConfig.PortBindings, checked by chapter 05's rules for -p and for
 * network modes before anything is made, as moby's
 * validateNetContainerMode does (an API client would otherwise learn it
 * only at start, with a container left behind).
 */
function checkPublishMode(hc: HostConfig): void {
  try {
    publishMode(hc.NetworkMode ?? '', fromPortBindings(hc.PortBindings));
  } catch (err) {
    throw new BadRequest((err as Error).message, { cause: err });
  }
}

/** A signal an API client named: a bad one is its error (400). */
function clientSignal(sig: string): number {
  try {
    return parseSignal(sig);
  } catch (err) {
    throw new BadRequest((err as Error).message, { cause: err });
  }
}

/**
 * The ports published for a container: none with `--network host`
 * or `none` (chapter 05's publishMode). Docker keeps
 * HostConfig.PortBindings as sent, warns, and discards them: ps and
 * NetworkSettings.Ports show none.
 */
export function publishedPorts(hc: HostConfig)
  : NonNullable<HostConfig['PortBindings']> {
  const { ports } = publishMode(hc.NetworkMode ?? '',
    fromPortBindings(hc.PortBindings));
  return ports.length ? hc.PortBindings ?? {} : {};
}

/** The create response's warnings (docker's CLI prints each). */
export function createWarnings(hc: HostConfig): string[] {
  const { warning } = publishMode(hc.NetworkMode ?? '',
    fromPortBindings(hc.PortBindings));
  return warning ? [warning] : [];
}

function freshState(): ContainerState {
  return {
    Status: 'created', Running: false, Paused: false, Restarting: false,
    OOMKilled: false, Dead: false, Pid: 0, ExitCode: 0, Error: '',
    StartedAt: ZERO_TIME, FinishedAt: ZERO_TIME,
  };
}

export interface EngineOptions {
  root: string;
  images: ImageSource;
  runtime: Runtime;
  volumes: Volumes;
  /** --userns-remap: the range every container's user namespace maps. */
  remap?: Remap;
}

export class Containers {
  readonly byId = new Map<string, Container>();
  private readonly dir: string;
  /** Containers a previous daemon started, by pid: see adopt(). */
  private readonly adopted = new Map<number, { start?: number;
    resolve: (s: ExitStatus) => void }>();
  private adoptTimer?: NodeJS.Timeout;
  /** Their exits, while there are any (procexits.ts). */
  private exits?: ProcExits;

  constructor(readonly opts: EngineOptions) {
    this.dir = join(opts.root, 'containers');
    mkdirSync(this.dir, { recursive: true });
  }

  // #region lookup
  /** By full id, name, or unique id prefix: docker's lookup order. */
  get(ref: string): Container {
    const exact = this.byId.get(ref);
    if (exact) return exact;
    const name = ref.replace(/^\//, '');
    for (const c of this.byId.values()) if (c.name === name) return c;
    const hits = [...this.byId.values()].filter((c) => c.id.startsWith(ref));
    if (hits.length === 1 && ref.length > 0) return hits[0];
    if (hits.length > 1) {
      throw new BadRequest(`multiple IDs found with provided prefix: ${ref}`);
    }
    throw new NotFound(`No such container: ${ref}`);
  }
  // #endregion

  list(): Container[] {
    return [...this.byId.values()].sort((a, b) =>
      b.rec.Created.localeCompare(a.rec.Created));
  }

  // #region create (unused)
  // #region create-dir
  create(body: CreateBody, name?: string): Container {
    const image = this.opts.images.find(body.Image);
    if (!image) {
      throw new NotFound(`No such image: ${normalizeRef(body.Image)}`);
    }
    checkPublishMode(body.HostConfig ?? {});
    if (body.StopSignal) clientSignal(body.StopSignal);
    checkUsernsMode(body.HostConfig?.UsernsMode);
    name = this.checkName(name);
    const id = randomBytes(32).toString('hex');
    const dir = join(this.dir, id);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    try {
      return this.createIn(dir, id, name, body, image);
    } catch (err) {
      this.opts.images.removeRootfs(dir);
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
  }
  // #endregion

  // #region create-spec
  private createIn(dir: string, id: string, name: string, body: CreateBody,
    image: Image): Container {
    const hc = body.HostConfig ?? {};
    const mounts: MountPoint[] = [];
    const ociMounts = (hc.Binds ?? []).map((bind) => {
      const { mount, volume } = this.opts.volumes.toMount(bind);
      const rw = !mount.options?.includes('ro');
      mounts.push({ Type: volume ? 'volume' : 'bind', Name: volume,
        Source: mount.source!, Destination: mount.destination,
        Mode: rw ? '' : 'ro', RW: rw, Propagation: 'rprivate' });
      return mount;
    });
    const spec = buildSpec({ id, body, image: image.Config, mounts: ociMounts,
      cgroupParent: cgroupParent() });
    remapSpec(spec, hc.UsernsMode, this.opts.remap);
    spec.root.path = this.opts.images.makeRootfs(image, dir);
    if (spec.linux.uidMappings && this.opts.remap?.rootfs === 'chown') {
      chownRootfs(spec.root.path, dir, this.opts.remap);
    }
    const command = hc.Init ? spec.process.args.slice(2) : spec.process.args;
  // #endregion
  // #region create-record
    writeJson(join(dir, 'config.json'), spec);
    const rec: ContainerRecord = {
      Id: id, Name: `/${name}`, Created: new Date().toISOString(),
      // docker shows the command, not the --init in front of it.
      Path: command[0], Args: command.slice(1),
      State: freshState(), Image: image.Id,
      LogPath: join(dir, `${id}-json.log`), RestartCount: 0,
      Driver: 'skiff', Platform: 'linux', Mounts: mounts,
      Config: { ...body, Image: body.Image, Hostname: spec.hostname,
        Env: spec.process.env, Cmd: body.Cmd?.length ? body.Cmd
          : image.Config.Cmd ?? null, WorkingDir: spec.process.cwd },
      HostConfig: withSecurityDefaults(hc),
    };
    const c = new Container(dir, rec);
    c.save();
    this.byId.set(id, c);
    return c;
  }
  // #endregion

  private checkName(name?: string): string {
    if (!name) {
      for (;;) {
        const n = randomName();
        if (![...this.byId.values()].some((c) => c.name === n)) return n;
      }
    }
    name = name.replace(/^\//, '');
    if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/.test(name)) {
      throw new BadRequest(`Invalid container name (${name}), only ` +
        '[a-zA-Z0-9][a-zA-Z0-9_.-] are allowed');
    }
    const owner = [...this.byId.values()].find((c) => c.name === name);
    if (owner) {
      throw new Conflict(`Conflict. The container name "/${name}" is ` +
        `already in use by container "${owner.id}". You have to remove ` +
        '(or rename) that container to be able to reuse that name.');
    }
    return name;
  }
  // #endregion

  // #region start (unused)
  // #region start-spec
  async start(c: Container): Promise<void> {
    if (c.isRunning) throw new NotModified('already running');
    clearTimeout(c.restartTimer);
    c.stopping = false;
    c.rec.HasBeenManuallyStopped = false;
    const spec = c.spec();
    // Mounted again if need be (after a reboot, or a daemon that died).
    const image = this.opts.images.find(c.rec.Image);
    if (image) spec.root.path = this.opts.images.makeRootfs(image, c.dir);
    const rootfs = spec.root.path;
    makeWorkdir(rootfs, spec.process.cwd);
    const user = userInImage(rootfs,
      spec.annotations?.['org.skiff.user'] ?? '');
    spec.process.user = { ...spec.process.user, ...user,
      additionalGids: [user.gid] }; // as runc: `id` shows groups=GID
    const io = new ContainerIo(c.dir, !!c.rec.Config.Tty,
      !!c.rec.Config.OpenStdin);
    io.setup(c.log);
  // #endregion
  // #region start-run
    let running: Running;
    try {
      running = await this.opts.runtime.start(this.plan(c, spec, io));
    } catch (err) {
      io.destroy();
      const code = (err as { exitCode?: number }).exitCode;
      c.rec.State = { ...c.rec.State, Status: 'created', Error:
        (err as Error).message, ExitCode: code ?? 125 };
      c.save();
      // As moby: --rm removes a container that failed to start too
      // (docker's CLI waits for that removal before it exits).
      if (c.rec.HostConfig.AutoRemove) {
        await this.remove(c, true).catch(() => {});
      }
      throw err;
    } finally {
      io.closeChildSide();
    }
    c.io = io;
    c.running = running;
    c.rec.State = { ...freshState(), Status: 'running', Running: true,
      Pid: running.pid, StartedAt: new Date().toISOString() };
    c.rec.PidStartTime = processStartTime(running.pid);
    c.rec.StepData = running.saved;
    c.save();
    c.emit('start');
    void running.exited.then((status) => this.exited(c, status));
  }
  // #endregion
  // #endregion

  private plan(c: Container, spec: Spec, io: ContainerIo): StartPlan {
    const hc = c.rec.HostConfig;
    const publish = fromPortBindings(publishedPorts(hc));
    const remapped = !!spec.linux.uidMappings && !!this.opts.remap &&
      !isChowned(c.dir);
    return {
      rootfsChowned: isChowned(c.dir),
      rootTree: remapped
        ? idmappedRootfs(this.opts.images.store, c.id, this.opts.remap!)
        : undefined,
      id: c.id, spec, fds: io.fds, network: hc.NetworkMode || 'default',
      publish, name: c.name, filesDir: join(c.dir, 'net'),
      resolveContainer: (ref) => {
        const x = this.get(ref);
        if (!x.isRunning) {
          throw new Conflict(`container ${ref} is not running`);
        }
        return { pid: x.rec.State.Pid, id: x.id };
      },
    };
  }

  // #region exited (unused)
  // #region exited-record
  private async exited(c: Container, status: ExitStatus): Promise<void> {
    // Output written just before the exit may still be in the pipes.
    await Promise.race([c.io?.drained,
      new Promise((r) => setTimeout(r, 1000))]);
    c.io?.destroy();
    await c.running?.release().catch(() => {});
    c.io = undefined;
    c.running = undefined;
    c.rec.State = { ...c.rec.State, Status: 'exited', Running: false,
      Restarting: false, Paused: false, Pid: 0, ExitCode: status.code,
      FinishedAt: new Date().toISOString() };
    c.rec.PidStartTime = undefined;
    c.rec.StepData = undefined;
    const restart = this.shouldRestart(c, status);
    if (restart) c.rec.State.Status = 'restarting';
    c.rec.State.Restarting = restart;
    // One fsync less for `run --rm`: its directory goes in a moment (and
    // a daemon that dies before that finds it dead and removes it).
    if (restart || !c.rec.HostConfig.AutoRemove) c.save();
    c.emit('exit', status);
    if (restart) return this.scheduleRestart(c);
    if (c.rec.HostConfig.AutoRemove) await this.remove(c, true);
  }
  // #endregion

  // #region restart-policy
  private shouldRestart(c: Container, status: ExitStatus): boolean {
    const policy = c.rec.HostConfig.RestartPolicy;
    if (c.stopping || c.removed || !policy) return false;
    if (policy.Name === 'always' || policy.Name === 'unless-stopped') {
      return true;
    }
    if (policy.Name !== 'on-failure' || status.code === 0) return false;
    const max = policy.MaximumRetryCount ?? 0;
    return max === 0 || c.rec.RestartCount < max;
  }

  /** docker's back-off: 100 ms, doubling, at most a minute. */
  private scheduleRestart(c: Container): void {
    const ran = Date.parse(c.rec.State.FinishedAt) -
      Date.parse(c.rec.State.StartedAt);
    const delay = ran > 10_000 ? 100
      : Math.min(60_000, 100 * 2 ** Math.min(c.rec.RestartCount, 10));
    c.restartTimer = setTimeout(() => {
      if (c.stopping || c.removed) return;
      c.rec.RestartCount++;
      this.start(c).catch((err) => {
        c.rec.State = { ...c.rec.State, Status: 'exited',
          Restarting: false, Error: (err as Error).message };
        c.save();
      });
    }, delay);
  }
  // #endregion
  // #endregion

  // #region stop (unused)
  // #region stop-timeout
  /** SIGTERM (or the image's StopSignal), SIGKILL after `timeout` s. */
  async stop(c: Container, timeout?: number, signal?: string)
    : Promise<void> {
    if (signal) clientSignal(signal);
    c.stopping = true;
    c.rec.HasBeenManuallyStopped = true;
    clearTimeout(c.restartTimer);
    if (c.rec.State.Restarting) {
      c.rec.State = { ...c.rec.State, Status: 'exited', Restarting: false };
      c.save();
      return;
    }
    if (!c.isRunning || !c.running) throw new NotModified('not running');
    const exit = new Promise((r) => c.once('exit', r));
    const secs = timeout ?? c.rec.Config.StopTimeout ?? 10;
    this.signal(c, signal ?? c.rec.Config.StopSignal ?? 'SIGTERM');
    const timer = setTimeout(() => this.signal(c, 'SIGKILL'), secs * 1000);
    await exit;
    clearTimeout(timer);
  }
  // #endregion

  kill(c: Container, signal = 'SIGKILL'): void {
    const n = clientSignal(signal);
    if (!c.isRunning) {
      throw new Conflict(`Cannot kill container: ${c.id}: Container ` +
        `${c.id} is not running`);
    }
    if (n === 9 || n === 15 || n === 2) {
      c.stopping = true;
      c.rec.HasBeenManuallyStopped = true;
    }
    this.signal(c, n);
  }

  private signal(c: Container, sig: string | number): void {
    try {
      c.running?.kill(parseSignal(sig));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
    }
    // A frozen process gets its signal only once thawed (docker too
    // unpauses a container it stops or kills).
    const n = parseSignal(sig);
    if (c.rec.State.Paused && (n === 9 || n === 15)) {
      void this.unpause(c).catch(() => {});
    }
  }
  // #endregion

  // #region pause
  /** `docker pause`: chapter 03's freezer stops every process at once. */
  async pause(c: Container): Promise<void> {
    if (!c.isRunning) {
      throw new Conflict(`Container ${c.id} is not running`);
    }
    if (c.rec.State.Paused) {
      throw new Conflict(`Container ${c.id} is already paused`);
    }
    await this.opts.runtime.cgroup(c.spec(), c.id).freeze();
    c.rec.State = { ...c.rec.State, Paused: true, Status: 'paused' };
    c.save();
  }

  async unpause(c: Container): Promise<void> {
    if (!c.rec.State.Paused) {
      throw new Conflict(`Container ${c.id} is not paused`);
    }
    await this.opts.runtime.cgroup(c.spec(), c.id).thaw();
    if (!c.isRunning) return;
    c.rec.State = { ...c.rec.State, Paused: false, Status: 'running' };
    c.save();
  }
  // #endregion

  // #region remove
  async remove(c: Container, force = false, volumes = false)
    : Promise<void> {
    if (c.removed) return;
    if (c.isRunning && !force) {
      throw new Conflict(`You cannot remove a running container ${c.id}. ` +
        'Stop the container before attempting removal or force remove');
    }
    c.stopping = true;
    clearTimeout(c.restartTimer);
    if (c.isRunning) {
      const exit = new Promise((r) => c.once('exit', r));
      this.signal(c, 'SIGKILL');
      await exit;
    }
    if (c.removed) return;
    c.removed = true;
    c.log.close();
    this.byId.delete(c.id);
    this.opts.images.removeRootfs(c.dir);
    rmSync(c.dir, { recursive: true, force: true });
    if (volumes) {
      for (const m of c.rec.Mounts) {
        if (m.Type === 'volume' && m.Name && /^[0-9a-f]{64}$/.test(m.Name)) {
          try {
            this.opts.volumes.remove(m.Name, this.usersOf(m.Name));
          } catch { /* in use elsewhere: keep it */ }
        }
      }
    }
    c.emit('removed');
  }
  // #endregion

  /** Names of the containers that mount volume `name`. */
  usersOf(name: string): string[] {
    return this.list().filter((c) => c.rec.Mounts.some((m) =>
      m.Type === 'volume' && m.Name === name)).map((c) => c.id);
  }

  // #region wait
  /** docker's conditions: not-running (default), next-exit, removed. */
  wait(c: Container, condition = 'not-running'): Promise<number> {
    if (condition === 'removed') {
      if (c.removed) return Promise.resolve(c.rec.State.ExitCode);
      return new Promise((r) => c.once('removed',
        () => r(c.rec.State.ExitCode)));
    }
    if (condition === 'not-running' && !c.isRunning &&
      !c.rec.State.Restarting) {
      return Promise.resolve(c.rec.State.ExitCode);
    }
    return new Promise((r) => c.once('exit',
      (s: ExitStatus) => r(s.code)));
  }
  // #endregion

  // #region recover (unused)
  // #region recover-listen
  /**
   * After a restart of the daemon (even kill -9): load every container;
   * one marked running whose pid still runs with the same start time is
   * still ours, its output FIFOs are reopened and its pid watched; any
   * other is marked exited.
   */
  async recover(): Promise<void> {
    const found = this.load();
    const pids = found.filter((c) => c.rec.State.Running)
      .map((c) => c.rec.State.Pid).filter((pid) => pid > 0);
    // Listen before looking at /proc: an exit between the look and the
    // listen would be lost.
    if (pids.length) {
      this.exits = ProcExits.listen(pids, (err) => console.error(
        `exit codes of containers found again unknown: ${err.message}`));
    }
    for (const c of found) await this.recoverOne(c);
    if (!this.adopted.size) this.unwatch();
  }
  // #endregion

  // #region recover-one
  private async recoverOne(c: Container): Promise<void> {
    const st = c.rec.State;
    if (!st.Running && !st.Restarting) {
      if (this.startsWithDaemon(c)) {
        void this.start(c).catch((err) => console.error(
          `restart container ${c.id}: ${(err as Error).message}`));
      }
      return;
    }
    if (st.Running && st.Pid > 0 && stillRuns(st.Pid, c.rec.PidStartTime)) {
      this.adopt(c);
      return;
    }
    // One that was waiting for its restart had its code recorded.
    const status = st.Running ? this.lostExit(st.Pid)
      : { code: st.ExitCode };
    await this.releaseSaved(c);
    c.rec.State = { ...st, Status: 'exited', Running: false,
      Restarting: false, Pid: 0, ExitCode: status.code,
      FinishedAt: new Date().toISOString() };
    c.save();
    if (c.rec.HostConfig.AutoRemove) await this.remove(c, true);
    else if (this.shouldRestart(c, status)) this.scheduleRestart(c);
  }
  // #endregion

  /**
   * docker's restart when its daemon starts: `always` even if the user
   * stopped it, `unless-stopped` only if not; never one never started.
   */
  private startsWithDaemon(c: Container): boolean {
    const policy = c.rec.HostConfig.RestartPolicy?.Name;
    if (c.rec.State.StartedAt === ZERO_TIME) return false;
    return policy === 'always' ||
      (policy === 'unless-stopped' && !c.rec.HasBeenManuallyStopped);
  }

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
  /** Watches a container another daemon started (we are not its parent). */
  private adopt(c: Container): void {
    const pid = c.rec.State.Pid;
    const start = c.rec.PidStartTime;
    const io = new ContainerIo(c.dir, !!c.rec.Config.Tty, false);
    io.reopen(c.log);
    c.io = io;
    const exited = new Promise<ExitStatus>((resolve) => {
      this.adopted.set(pid, { start, resolve });
    });
    this.adoptTimer ??= setInterval(() => this.checkAdopted(), 250);
    c.running = {
      pid, exited, saved: c.rec.StepData ?? { cgroup: '' },
      kill: (sig) => process.kill(pid, parseSignal(sig)),
      release: () => this.releaseSaved(c),
    };
    void exited.then((s) => this.exited(c, s));
  }
  // #endregion

  // #region check-adopted
  private checkAdopted(): void {
    // /proc first: a process's exit event is queued before the process
    // can be reaped, so the drain after the look holds it.
    const ended = [...this.adopted].filter(([pid, a]) =>
      !stillRuns(pid, a.start));
    this.exits?.drain();
    for (const [pid, a] of ended) {
      this.adopted.delete(pid);
      a.resolve(this.lostExit(pid));
    }
    if (!this.adopted.size) this.unwatch();
  }
  // #endregion

  private unwatch(): void {
    clearInterval(this.adoptTimer);
    this.adoptTimer = undefined;
    this.exits?.close();
    this.exits = undefined;
  }
  // #endregion

  /** Reads every container's state.json; drops half-created ones. */
  private load(): Container[] {
    const found: Container[] = [];
    for (const id of readdirSync(this.dir)) {
      const file = join(this.dir, id, 'state.json');
      if (!existsSync(file)) {
        rmSync(join(this.dir, id), { recursive: true, force: true });
        continue;
      }
      const c = new Container(join(this.dir, id), readJson(file));
      this.byId.set(id, c);
      found.push(c);
    }
    return found;
  }

  /** Undoes what a previous daemon's start steps did for `c`. */
  private async releaseSaved(c: Container): Promise<void> {
    const saved = c.rec.StepData;
    if (!saved) return;
    await this.opts.runtime.releaseSaved(c.id, saved).catch((err) => {
      console.error(`release container ${c.id}: ${(err as Error).message}`);
    });
    c.rec.StepData = undefined;
  }

  /** Stops watching (daemon shutdown); containers keep running. */
  detachAll(): void {
    this.unwatch();
    for (const c of this.byId.values()) {
      clearTimeout(c.restartTimer);
      c.io?.destroy();
      c.log.close();
    }
  }
}
