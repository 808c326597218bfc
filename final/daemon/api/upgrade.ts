// Connections taken over from HTTP ("hijacked", in docker's words): a
// request with `Connection: Upgrade` gets 101, then the socket carries
// a container's or an exec's streams both ways.
import http from 'node:http';
import type { Duplex } from 'node:stream';
import { frame } from '../../stdcopy.ts';
import type { Engine } from '../engine.ts';
import type { ExecInstance, Execs } from '../execs.ts';
import type { LogEntry } from '../logs.ts';
import { BadRequest } from '../errors.ts';
import { errorBody } from './error-body.ts';

// #region server-upgrade
/** The upgraded requests: attach, and an exec's start. */
export function upgradeRouter(engine: Engine, execs: Execs) {
  return (req: http.IncomingMessage, socket: Duplex) => {
    const url = new URL(req.url ?? '/', 'http://skiff');
    const path = url.pathname.replace(/^\/v[\d.]+/, '');
    const attaching = /^\/containers\/([^/]+)\/attach$/.exec(path);
    const execStarting = /^\/exec\/([^/]+)\/start$/.exec(path);
    void (async () => {
      if (execStarting) {
        return execStart(execs, execs.get(execStarting[1]), socket);
      }
      if (!attaching) throw new BadRequest(`page not found: ${path}`);
      attach(engine, socket, url.searchParams,
        decodeURIComponent(attaching[1]));
    })().catch((err) => {
      const status = (err as { status?: number }).status ?? 500;
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
  socket.write('HTTP/1.1 101 UPGRADED\r\nContent-Type: ' +
    `application/vnd.docker.${tty ? 'raw' : 'multiplexed'}-stream\r\n` +
    'Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n');
  engine.containers.event(container, 'attach');
  const on = (name: string) =>
    query.get(name) === '1' || query.get(name) === 'true';
  const onEntry = (entry: LogEntry) => {
    if ((entry.stream === 'stdout' && on('stdout')) ||
      (entry.stream === 'stderr' && on('stderr'))) {
      const data = Buffer.from(entry.log);
      socket.write(tty ? data : frame(entry.stream, data));
    }
  };
  container.log.on('entry', onEntry);
  // #endregion
  const done = () => {
    container.log.off('entry', onEntry);
    container.off('exit', done);
    socket.end();
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
    else container.once('start', hook);
  }
}

/** Starts an exec on a connection taken over from HTTP. */
async function execStart(execs: Execs, exec: ExecInstance, socket: Duplex)
  : Promise<void> {
  const ok = 'HTTP/1.1 101 UPGRADED\r\nContent-Type: ' +
    `application/vnd.docker.${exec.config.Tty ? 'raw' : 'multiplexed'}` +
    '-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n';
  try {
    await execs.start(exec, socket, ok);
  } catch (err) {
    if (exec.exitCode === null) throw err;
    // A command that cannot run (126, 127): as moby, the 101 all the
    // same, the error in the stream, the code in GET /exec/{id}/json.
    // (docker's CLI reads no body of a refused upgrade.)
    const text = Buffer.from(`${(err as Error).message}\n`);
    socket.end(Buffer.concat([Buffer.from(ok),
      exec.config.Tty ? text : frame('stderr', text)]));
  }
}
