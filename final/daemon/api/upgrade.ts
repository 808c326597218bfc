// Connections taken over from HTTP ("hijacked", in docker's words): a
// request with `Connection: Upgrade` gets 101, then the socket carries
// a container's or an exec's streams both ways.
import http from 'node:http';
import type { Duplex } from 'node:stream';
import { syscall } from '../../../chapters/01-chroot/kernel.ts';
import { frame } from '../../stdcopy.ts';
import type { Engine } from '../engine.ts';
import type { ExecInstance, Execs } from '../execs.ts';
import type { LogEntry } from '../logs.ts';
import { answerOf, BadRequest } from '../errors.ts';
import { errorBody } from './error-body.ts';
import { checkPath } from './route.ts';

// #region server-upgrade
/** The upgraded requests: attach, and an exec's start. */
export function upgradeRouter(engine: Engine, execs: Execs) {
  return (req: http.IncomingMessage, socket: Duplex) => {
    const url = new URL(req.url ?? '/', 'http://skiff');
    const path = url.pathname.replace(/^\/v[\d.]+/, '');
    const attaching = /^\/containers\/([^/]+)\/attach$/.exec(path);
    const execStarting = /^\/exec\/([^/]+)\/start$/.exec(path);
    dropWhenGone(socket);
    void (async () => {
      checkPath(path);
      if (execStarting) {
        return execStart(execs, execs.get(execStarting[1]), socket);
      }
      if (!attaching) throw new BadRequest(`page not found: ${path}`);
      attach(engine, socket, url.searchParams,
        decodeURIComponent(attaching[1]));
    })().catch((caught) => {
      const { status, err, logged } = answerOf(caught, `POST ${path}`);
      if (logged) console.error(`skiff daemon: POST ${path}:`, caught);
      const body = errorBody(err);
      socket.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\n` +
        'Content-Type: application/json\r\nContent-Length: ' +
        `${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
    });
  };
}
// #endregion

/**
 * POST /containers/{id}/attach with `Connection: Upgrade`: answer 101,
 * then the socket carries the container's output (raw with a terminal,
 * stdcopy frames without) and, with stdin=1, its input.
 */
// #region attach-output
export function attach(engine: Engine, socket: Duplex,
  query: URLSearchParams, id: string): void {
  const container = engine.containers.get(id);
  const tty = !!container.rec.Config.Tty;
  // The output waits for the client to have read the 101 (handOver).
  const shown = handOver(socket, 'HTTP/1.1 101 UPGRADED\r\nContent-Type: ' +
    `application/vnd.docker.${tty ? 'raw' : 'multiplexed'}-stream\r\n` +
    'Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n');
  engine.containers.event(container, 'attach');
  const on = (name: string) =>
    query.get(name) === '1' || query.get(name) === 'true';
  const onEntry = (entry: LogEntry) => {
    if ((entry.stream === 'stdout' && on('stdout')) ||
      (entry.stream === 'stderr' && on('stderr'))) {
      const data = Buffer.from(entry.log);
      void shown.then(() =>
        socket.write(tty ? data : frame(entry.stream, data)));
    }
  };
  container.log.on('entry', onEntry);
  // #endregion
  const done = () => {
    container.log.off('entry', onEntry);
    container.off('exit', done);
    void shown.then(() => socket.end());
  };
  container.once('exit', done);
  socket.on('close', () => {
    container.log.off('entry', onEntry);
    container.off('exit', done);
  });
  socket.on('error', () => {});
  if (on('stdin') && container.rec.Config.OpenStdin) {
    // `run -i` attaches before it starts the container: what the client
    // sends meanwhile waits in the socket until there is a stdin.
    const hook = () => {
      socket.on('data', (data: Buffer) => container.io?.stdin?.write(data));
      socket.on('end', () => {
        if (container.rec.Config.StdinOnce) container.io?.closeStdin();
      });
    };
    if (container.io?.stdin) hook();
    else {
      container.once('start', hook);
      socket.on('close', () => container.off('start', hook));
    }
  }
}

/** Starts an exec on a connection taken over from HTTP. */
async function execStart(execs: Execs, exec: ExecInstance, socket: Duplex)
  : Promise<void> {
  const ok = 'HTTP/1.1 101 UPGRADED\r\nContent-Type: ' +
    `application/vnd.docker.${exec.config.Tty ? 'raw' : 'multiplexed'}` +
    '-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n';
  try {
    await execs.start(exec, socket, () => handOver(socket, ok));
  } catch (err) {
    if (exec.exitCode === null) throw err;
    // A command that cannot run (126, 127): as moby, the 101 all the
    // same, the error in the stream, the code in GET /exec/{id}/json.
    // (docker's CLI reads no body of a refused upgrade.)
    const text = Buffer.from(`${(err as Error).message}\n`);
    socket.end(exec.config.Tty ? text : frame('stderr', text));
  }
}

// #region hand-over (unused)
const poll = syscall<[Buffer, number, number]>(
  'int poll(void *fds, unsigned long nfds, int timeout)');
const POLLHUP = 0x10;
const ioctl = syscall<[number, number, Buffer]>(
  'int ioctl(int fd, unsigned long request, void *arg)');
/** unix(7): the bytes sent on the socket that its peer has not read. */
const SIOCOUTQ = 0x5411;

/**
 * Writes the 101 and resolves once the client has read it, before the
 * first byte of the stream goes out. docker-py reads the answer's
 * headers through a buffered file and the stream from the socket under
 * it: a stream byte that arrived with the headers is read ahead into
 * that buffer and lost (exec_run(stream=True) printed nothing, now and
 * then). dockerd gets away by runc's slowness; we wait for the peer's
 * read, or give up after a second (a client that never reads).
 */
export async function handOver(socket: Duplex, header: string)
  : Promise<void> {
  await new Promise<void>((resolve) => socket.write(header, () => resolve()));
  const fd = (socket as { _handle?: { fd?: number } })._handle?.fd;
  if (fd === undefined || fd < 0) return;
  const queued = Buffer.alloc(4);
  for (let waited = 0; waited < 1000; waited++) {
    try {
      ioctl(fd, SIOCOUTQ, queued);
    } catch {
      return; // not a socket that says (a pipe in a test)
    }
    if (queued.readInt32LE(0) === 0) return;
    await new Promise((r) => setTimeout(r, 1));
  }
}
// #endregion

/**
 * Destroys a taken-over socket once its client is gone, so that what it
 * holds (the fd, listeners on the container) goes too. An end of input
 * alone is no such sign: docker's CLI half-closes after its stdin's end
 * and reads on. A peer that closed its socket leaves ours hung up
 * (POLLHUP, unix(7)), which poll(2) tells apart; a half-closed one is
 * checked again each second until it hangs up or we close.
 */
function dropWhenGone(socket: Duplex): void {
  const fd = (socket as { _handle?: { fd?: number } })._handle?.fd;
  if (fd === undefined || fd < 0) return;
  let timer: NodeJS.Timeout | undefined;
  const hungUp = () => {
    const pollfd = Buffer.alloc(8);
    pollfd.writeInt32LE(fd, 0);
    try {
      return poll(pollfd, 1, 0) === 1 &&
        (pollfd.readInt16LE(6) & POLLHUP) !== 0;
    } catch {
      return false;
    }
  };
  const check = () => {
    if (socket.destroyed) return;
    if (hungUp()) return void socket.destroy();
    timer = setTimeout(check, 1000).unref();
  };
  socket.once('end', check);
  socket.once('close', () => clearTimeout(timer));
}
