// A container's standard streams, owned by the daemon: no helper process
// per container. Without -t, stdout and stderr are FIFOs in the
// container's directory (so a restarted daemon can open them again),
// read through libuv without blocking; with -t, one pseudo-terminal
// carries everything: the container's init makes it inside the
// container and sends us its master (chapter 02's console). With -i,
// stdin is a FIFO the daemon writes to.
import { closeSync, existsSync, openSync, constants as fsc } from 'node:fs';
import net from 'node:net';
import tty from 'node:tty';
import type { Readable, Writable } from 'node:stream';
import { syscall } from '../../chapters/01-chroot/kernel.ts';
import { setWinsize } from '../../chapters/02-namespaces/console.ts';
import type { LogFile } from './logs.ts';

const mkfifo = syscall<[string, number]>(
  'int mkfifo(const char *path, unsigned int mode)');

/** What the container's process gets as fds 0, 1 and 2. */
export interface ContainerFds {
  stdin: number;
  stdout: number;
  stderr: number;
  /** With -t: takes the master of the terminal made in the container. */
  console?: (master: number) => void;
}

export class ContainerIo {
  /** The container side: hand to the runtime, then closeChildSide(). */
  fds: ContainerFds = { stdin: -1, stdout: -1, stderr: -1 };
  stdin?: Writable;
  private readers: Readable[] = [];
  private master = -1;
  private open = 0;
  private done!: () => void;
  /** Resolves when every output stream reached its end. */
  readonly drained = new Promise<void>((r) => { this.done = r; });

  constructor(readonly dir: string, readonly tty: boolean,
    readonly interactive: boolean) {}

  // #region open-streams (unused)
  // #region fifos
  /** Creates the streams for a fresh start and pumps them into `log`. */
  setup(log: LogFile): void {
    if (this.tty) {
      // The init's until it opens the terminal; then the terminal's.
      const none = openSync('/dev/null', fsc.O_RDWR);
      this.fds = { stdin: none, stdout: none, stderr: none,
        console: (master) => this.takeConsole(master, log) };
      return;
    }
    this.fds.stdout = this.fifoPair('stdout', log);
    this.fds.stderr = this.fifoPair('stderr', log);
    if (this.interactive) {
      const path = `${this.dir}/stdin.fifo`;
      if (!existsSync(path)) mkfifo(path, 0o600);
      // O_RDWR never blocks on a FIFO (fifo(7)); the container's end is
      // opened after it, so its reads wait for what we write.
      const ours = openSync(path, fsc.O_RDWR | fsc.O_NONBLOCK);
      this.fds.stdin = openSync(path, fsc.O_RDONLY);
      this.stdin = new net.Socket({ fd: ours, readable: false,
        writable: true });
      this.stdin.on('error', () => {});
    } else {
      this.fds.stdin = openSync('/dev/null', fsc.O_RDONLY);
    }
  }
  // #endregion

  /** One tty stream on the master, both ways: output and keys typed. */
  private takeConsole(master: number, log: LogFile): void {
    this.master = master;
    const stream = new tty.ReadStream(master);
    this.pump(stream, 'stdout', log);
    if (this.interactive) this.stdin = stream as unknown as Writable;
  }
  // #endregion

  /** After a daemon restart: reopen the output FIFOs of a live container. */
  reopen(log: LogFile): void {
    for (const name of ['stdout', 'stderr'] as const) {
      const path = `${this.dir}/${name}.fifo`;
      if (!existsSync(path)) continue;
      const fd = openSync(path, fsc.O_RDONLY | fsc.O_NONBLOCK);
      this.pump(new net.Socket({ fd, readable: true, writable: false }),
        name, log);
    }
    if (this.open === 0) this.done();
  }

  private fifoPair(name: 'stdout' | 'stderr', log: LogFile): number {
    const path = `${this.dir}/${name}.fifo`;
    if (!existsSync(path)) mkfifo(path, 0o600);
    const ours = openSync(path, fsc.O_RDONLY | fsc.O_NONBLOCK);
    // The container's end is opened read-write: while it lives, the
    // FIFO always has a reader, so a daemon that dies (and closes ours)
    // costs it no SIGPIPE; its writes wait for the next daemon instead.
    const theirs = openSync(path, fsc.O_RDWR);
    this.pump(new net.Socket({ fd: ours, readable: true, writable: false }),
      name, log);
    return theirs;
  }

  private pump(stream: Readable, name: 'stdout' | 'stderr', log: LogFile)
    : void {
    this.open++;
    this.readers.push(stream);
    stream.on('data', (chunk: Buffer) => log.write(name, chunk));
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      if (--this.open === 0) this.done();
    };
    // A pty master reads EIO once the last slave fd is closed.
    stream.on('error', end);
    stream.on('end', end);
    stream.on('close', end);
  }

  /** The end of the client's input: the container reads EOF. */
  closeStdin(): void {
    const s = this.stdin;
    if (!s || this.tty) return;
    this.stdin = undefined;
    s.end(() => s.destroy());
  }

  resize(rows: number, cols: number): void {
    if (this.master >= 0 && rows > 0 && cols > 0) {
      setWinsize(this.master, rows, cols);
    }
  }

  /** Closes our copies of the container's ends once it holds them. */
  closeChildSide(): void {
    const { stdin, stdout, stderr } = this.fds;
    for (const fd of new Set([stdin, stdout, stderr])) {
      if (fd >= 0) closeSync(fd);
    }
    this.fds = { stdin: -1, stdout: -1, stderr: -1 };
  }

  /** Stops reading; for when the container is gone for good. */
  destroy(): void {
    this.closeChildSide();
    for (const r of this.readers) r.destroy();
    this.stdin?.destroy();
  }
}
