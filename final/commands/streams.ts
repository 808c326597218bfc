// The CLI's end of an attached container: the caller's terminal in raw
// mode with -t (keys go to the container's pty, window sizes follow),
// stdcopy frames split back onto our stdout and stderr without -t, our
// stdin forwarded with -i, and signals passed on (docker's sig-proxy).
import type { Socket } from 'node:net';
import type { Client } from '../client.ts';
import { Demuxer } from '../stdcopy.ts';

export interface AttachOptions {
  id: string;
  tty: boolean;
  stdin: boolean;
  /** An exec instance (resized at /exec/{id}), not a container. */
  exec?: boolean;
}

export async function openAttach(client: Client, o: AttachOptions)
  : Promise<Socket> {
  return client.upgrade(`/containers/${o.id}/attach?stream=1&stdout=1` +
    `&stderr=1${o.stdin ? '&stdin=1' : ''}`);
}

// #region pump (unused)
// #region forward-stdin
/** Our stdin to the container; with -t, the detach keys end it. */
function forwardStdin(sock: Socket, o: AttachOptions,
  onDetach: () => void): () => void {
  const stdin = process.stdin;
  const keys = o.tty ? detachKeys(() => {
    onDetach();
    sock.destroy();
  }) : (d: Buffer) => d;
  stdin.on('data', (d: Buffer) => {
    const sent = keys(d);
    if (!sock.destroyed) sock.write(sent);
  });
  // With -i but no -t, the end of our input is the end of theirs.
  stdin.on('end', () => { if (!o.tty) sock.end(); });
  return () => stdin.pause();
}
// #endregion

/**
 * Copies the streams until the container's output ends; resolves
 * 'detached' if the user typed the detach keys instead.
 */
export async function pump(client: Client, sock: Socket, o: AttachOptions)
  : Promise<'ended' | 'detached'> {
  const restore: (() => void)[] = [];
  let detached = false;
  // As docker: keys go raw only where they go to the container.
  if (o.tty && o.stdin && process.stdin.isTTY) {
    // Imported here: terminal.ts loads koffi, which a `run` without -it
    // need not pay for (tens of ms at every start).
    const { makeRaw } = await import('../terminal.ts');
    restore.push(makeRaw(process.stdin.fd));
  }
  if (o.stdin) {
    restore.push(forwardStdin(sock, o, () => { detached = true; }));
  }
  if (o.tty) {
    const resize = () => void resizeTty(client, o.id, o.exec);
    process.stdout.on('resize', resize);
    process.on('SIGWINCH', resize);
    restore.push(() => {
      process.stdout.off('resize', resize);
      process.off('SIGWINCH', resize);
    });
  } else if (!o.exec) {
    restore.push(proxySignals(client, o.id));
  }
  // #region demux
  const demux = new Demuxer();
  sock.on('data', (chunk: Buffer) => {
    if (o.tty) return void process.stdout.write(chunk);
    demux.push(chunk, (stream, data) => {
      (stream === 2 ? process.stderr : process.stdout).write(data);
    });
  });
  return new Promise((resolve) => {
    const done = () => {
      for (const undo of restore.splice(0)) undo();
      if (detached) process.stderr.write('read escape sequence\n');
      resolve(detached ? 'detached' : 'ended');
    };
    sock.on('end', done);
    sock.on('close', done);
    sock.on('error', done);
  });
  // #endregion
}
// #endregion

// #region detach-keys
/** docker's default detach keys: ctrl-p ctrl-q. */
const DETACH = [0x10, 0x11];

/**
 * Passes keys on, but holds back a start of the detach sequence until
 * the next key tells: the whole sequence detaches and is not sent, as
 * Docker's escape proxy does.
 */
function detachKeys(detach: () => void): (d: Buffer) => Buffer {
  let held = 0; // how many keys of DETACH are held back
  return (d) => {
    const out: number[] = [];
    for (const key of d) {
      if (key === DETACH[held]) {
        if (++held < DETACH.length) continue;
        detach();
        break;
      }
      out.push(...DETACH.slice(0, held));
      held = key === DETACH[0] ? 1 : 0;
      if (!held) out.push(key);
    }
    return Buffer.from(out);
  };
}
// #endregion

/** docker's CheckTty: keys for a terminal must come from a terminal. */
export function checkTty(stdin: boolean, tty: boolean): void {
  if (stdin && tty && !process.stdin.isTTY) {
    throw Object.assign(new Error('the input device is not a TTY'),
      { exitCode: 1 });
  }
}

/** The caller's terminal size, docker's ConsoleSize: [height, width]. */
export function consoleSize(): [number, number] | undefined {
  const { isTTY, rows, columns } = process.stdout;
  return isTTY && rows && columns ? [rows, columns] : undefined;
}

export async function resizeTty(client: Client, id: string, exec = false)
  : Promise<void> {
  const { rows, columns } = process.stdout;
  if (!rows || !columns) return;
  await client.request('POST', `/${exec ? 'exec' : 'containers'}/${id}` +
    `/resize?h=${rows}&w=${columns}`).catch(() => {});
}

/** Forwards the signals a user sends us to the container. */
function proxySignals(client: Client, id: string): () => void {
  const sigs: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT',
    'SIGUSR1', 'SIGUSR2'];
  const handlers = sigs.map((sig) => {
    const h = () => void client.request('POST',
      `/containers/${id}/kill?signal=${sig}`).catch(() => {});
    process.on(sig, h);
    return [sig, h] as const;
  });
  return () => { for (const [s, h] of handlers) process.off(s, h); };
}

/** docker's mapping of a start failure to 126 or 127. */
export function startFailureCode(message: string, code?: number): number {
  if (code === 126 || code === 127) return code;
  if (/not found|no such file|executable file/i.test(message)) return 127;
  if (/permission denied|not executable/i.test(message)) return 126;
  return 125;
}
