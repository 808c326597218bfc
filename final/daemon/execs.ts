// `docker exec`: more processes in a running container. Docker's API
// makes it two calls - create an exec instance (POST
// /containers/{id}/exec), then start it (POST /exec/{id}/start, which
// takes over the connection) - and GET /exec/{id}/json tells its exit
// code afterwards. Chapter 02's execInContainer joins the container's
// namespaces and root, the runtime adds its cgroup.
import { randomBytes } from 'node:crypto';
import type { Duplex, Readable } from 'node:stream';
import tty from 'node:tty';
import type { ExecHandle } from '../../chapters/02-namespaces/exec.ts';
import type { Process } from '../../chapters/02-namespaces/spec.ts';
import { frame } from '../stdcopy.ts';
import { setWinsize } from '../../chapters/02-namespaces/console.ts';
import type { Container } from './container/container.ts';
import type { Containers } from './container/registry.ts';
import { userInImage } from './start-steps.ts';
import { mergeEnv } from './ocispec.ts';
import { execPrivileges } from
  '../../chapters/06-security/defaults.ts';
import type { Runtime } from './runtime.ts';
import { Conflict, NotFound } from './errors.ts';

/** POST /containers/{id}/exec's body (docker's ExecConfig). */
export interface ExecConfig {
  AttachStdin?: boolean;
  AttachStdout?: boolean;
  AttachStderr?: boolean;
  Tty?: boolean;
  /** With Tty: the terminal's size at the start, [height, width]. */
  ConsoleSize?: [number, number];
  Env?: string[];
  Cmd: string[];
  WorkingDir?: string;
  User?: string;
  /** exec --privileged: every capability for this process. */
  Privileged?: boolean;
}

export class ExecInstance {
  readonly id = randomBytes(32).toString('hex');
  running = false;
  exitCode: number | null = null;
  pid = 0;
  master = -1;
  handle?: ExecHandle;
  /** Drops it from the daemon's table (Execs). */
  forget = () => {};

  constructor(readonly container: Container, readonly config: ExecConfig) {}

  inspect() {
    const config = this.config;
    return {
      ID: this.id, ContainerID: this.container.id, Running: this.running,
      ExitCode: this.exitCode, Pid: this.pid,
      OpenStdin: !!config.AttachStdin,
      OpenStdout: config.AttachStdout !== false,
      OpenStderr: config.AttachStderr !== false,
      ProcessConfig: { tty: !!config.Tty, entrypoint: config.Cmd[0],
        arguments: config.Cmd.slice(1), user: config.User ?? '' },
    };
  }

  resize(rows: number, cols: number): void {
    if (this.master >= 0 && rows > 0 && cols > 0) {
      setWinsize(this.master, rows, cols);
    }
  }
}

export class Execs {
  private readonly byId = new Map<string, ExecInstance>();

  constructor(private readonly containers: Containers,
    private readonly runtime: Runtime) {}

  create(container: Container, config: ExecConfig): ExecInstance {
    if (!container.isRunning || !container.running) {
      throw new Conflict(`Container ${container.id} is not running`);
    }
    if (container.rec.State.Paused) {
      throw new Conflict(`Container ${container.id} is paused, unpause the ` +
        'container before exec');
    }
    if (!config?.Cmd?.length) throw new NotFound('No exec command specified');
    const exec = new ExecInstance(container, config);
    this.byId.set(exec.id, exec);
    this.event(exec, 'exec_create');
    exec.forget = () => this.byId.delete(exec.id);
    // Forget it with its container, as docker does.
    container.once('removed', exec.forget);
    return exec;
  }

  /**
   * An exec on the bus, as a container event. dockerd 20.10 names the
   * command in the action ("exec_start: sh -c date"), the exec's id in
   * the attributes; exec_die has its exit code.
   */
  private event(exec: ExecInstance, action: string,
    extra: Record<string, string> = {}): void {
    const named = action === 'exec_die' ? action
      : `${action}: ${exec.config.Cmd[0]} ${exec.config.Cmd.slice(1)
        .join(' ')}`;
    this.containers.event(exec.container, named,
      { execID: exec.id, ...extra });
  }

  /** Forgets an exec at once: a healthcheck's probe, one per interval. */
  forget(exec: ExecInstance): void {
    exec.forget();
    exec.container.off('removed', exec.forget);
  }

  get(id: string): ExecInstance {
    const exec = this.byId.get(id);
    if (!exec) throw new NotFound(`No such exec instance: ${id}`);
    return exec;
  }

  // #region exec-process
  /** The process to run: the container's env, cwd and user by default. */
  private process(exec: ExecInstance): Process {
    const container = exec.container;
    const spec = container.spec();
    const cfg = exec.config;
    const root = spec.root.path;
    const name = cfg.User || spec.annotations?.['org.skiff.user'] || '';
    const user = userInImage(root, name);
    const [height, width] = cfg.ConsoleSize ?? [0, 0];
    return {
      terminal: !!cfg.Tty,
      consoleSize: cfg.Tty && height > 0 && width > 0
        ? { height, width } : undefined,
      user: { ...user, additionalGids: [user.gid] },
      args: cfg.Cmd,
      env: mergeEnv(spec.process.env, cfg.Tty ? ['TERM=xterm'] : [],
        cfg.Env),
      cwd: cfg.WorkingDir || spec.process.cwd || '/',
      ...execPrivileges(spec, !!cfg.Privileged),
    };
  }
  // #endregion

  /**
   * Starts the process; its output goes to `out` (raw with a terminal,
   * stdcopy frames without) and `input` feeds its stdin. `ready` runs
   * once the exec may start (the 101 goes out then), before the launch;
   * a StartError (126, 127) is thrown after it.
   */
  async start(exec: ExecInstance, out: Duplex | null,
    ready?: () => Promise<void>): Promise<void> {
    if (exec.running || exec.exitCode !== null) {
      throw new Conflict(`exec ${exec.id} has already been started`);
    }
    const container = exec.container;
    if (!container.running) {
      throw new Conflict(`Container ${container.id} is not running`);
    }
    this.event(exec, 'exec_start');
    const proc = this.process(exec);
    // The client's input waits (paused) till the process can take it:
    // with the 101 out before the launch, a client with nothing to send
    // half-closes at once, and that end must not be lost meanwhile.
    out?.pause();
    exec.running = true; // one start, even while `ready` waits
    try {
      await ready?.();
    } catch (err) {
      exec.running = false;
      throw err;
    }
    const stdinWanted = !!exec.config.AttachStdin && out !== null;
    let handle: ExecHandle;
    let outputs: [Readable, 'stdout' | 'stderr'][] = [];
    let input: NodeJS.WritableStream | null = null;
    if (exec.config.Tty) {
      // The terminal is made inside the container (chapter 02's
      // console); its master comes back with the handle.
      handle = await this.launch(exec, proc, ['ignore', 'ignore', 'ignore']);
      exec.master = handle.console!;
      // One tty stream on the master, both ways: what the process
      // writes comes out of it, what we write is typed on its terminal.
      const stream = new tty.ReadStream(exec.master);
      outputs = [[stream, 'stdout']];
      input = stream;
    } else {
      handle = await this.launch(exec, proc,
        [stdinWanted ? 'pipe' : 'ignore', 'pipe', 'pipe']);
      outputs = [[handle.stdout!, 'stdout'], [handle.stderr!, 'stderr']];
      input = handle.stdin;
    }
    exec.handle = handle;
    exec.pid = handle.pid;
    exec.running = true;
    this.pipe(exec, out, outputs, stdinWanted ? input : null);
  }

  /**
   * The runtime's exec. A command that cannot run has an exit code all
   * the same (126, 127): GET /exec/{id}/json reports it, as docker's.
   */
  private async launch(exec: ExecInstance, proc: Process,
    stdio: Parameters<Runtime['exec']>[3]): Promise<ExecHandle> {
    const container = exec.container;
    try {
      return await this.runtime.exec(container.rec.State.Pid,
        container.rec.StepData?.cgroup ?? '', proc, stdio,
        container.spec().linux.seccomp);
    } catch (err) {
      exec.running = false;
      const code = (err as { exitCode?: number }).exitCode;
      if (code === 126 || code === 127) exec.exitCode = code;
      throw err;
    }
  }

  private pipe(exec: ExecInstance, out: Duplex | null,
    outputs: [Readable, 'stdout' | 'stderr'][],
    input: NodeJS.WritableStream | null): void {
    const tty = !!exec.config.Tty;
    let open = outputs.length;
    let code: number | null = null;
    const finish = () => {
      if (open > 0 || code === null) return;
      exec.running = false;
      exec.exitCode = code;
      if (exec.master >= 0) {
        outputs[0][0].destroy();
        exec.master = -1;
      }
      out?.end();
    };
    for (const [stream, name] of outputs) {
      stream.on('data', (d: Buffer) => {
        if (out?.writable) out.write(tty ? d : frame(name, d));
      });
      let ended = false;
      const end = () => {
        if (ended) return;
        ended = true;
        open--;
        finish();
      };
      stream.on('end', end);
      stream.on('close', end);
      stream.on('error', end); // a pty master reads EIO at the end
    }
    if (input && out) {
      input.on?.('error', () => {});
      out.on('data', (data: Buffer) => input.write(data));
      out.on('end', () => { if (!tty) input.end(); });
      if (out.readableEnded && !tty) input.end();
    }
    out?.resume();
    out?.on('error', () => {});
    // The client's end, a detach (ctrl-p ctrl-q) or a client gone: with
    // a terminal the session ends and the process runs on, its output
    // read and dropped. So does Docker's: moby closes the session at
    // the end of the input, and runs an exec under a context that no
    // client's end cancels (docker exec -it leaves its shell behind).
    out?.on('end', () => { if (tty) out.end(); });
    void exec.handle!.wait().then((status) => {
      code = status.code;
      this.event(exec, 'exec_die', { exitCode: String(code) });
      // With a terminal, the process's children may hold the slave
      // open: stop reading once the process itself is gone.
      if (tty) setTimeout(() => { open = 0; finish(); }, 100);
      finish();
    });
  }

  /** Every exec of a container, for inspect's ExecIDs. */
  of(container: Container): string[] {
    return [...this.byId.values()].filter((exec) =>
      exec.container === container && exec.running).map((exec) => exec.id);
  }
}
