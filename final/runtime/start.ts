// `skiff-runtime start ID`: lets a created container run its command.
// The init is blocked opening exec.fifo for writing (fifo(7)); opening
// it for reading here unblocks it, the byte it writes says it went on,
// and EOF that its command runs. poststart hooks follow; their failure
// is only a warning.
import {
  closeSync, constants, openSync, readSync, unlinkSync,
} from 'node:fs';
import { runHooksWarning } from './hooks.ts';
import { alive, RuntimeError, type Saved, type Store } from './store.ts';

// #region start
export async function start(store: Store, id: string,
  warn: (msg: string) => void): Promise<Saved> {
  const s = store.load(id);
  const status = store.status(s);
  if (status !== 'created') {
    throw new RuntimeError(status === 'stopped'
      ? 'cannot start a container that has stopped'
      : `cannot start an already ${status} container`);
  }
  if (s.spec.process.args.length === 0) {
    throw new RuntimeError('cannot start a container whose config.json ' +
      'has no process');
  }
  const fifo = store.fifo(id);
  // Non-blocking: an init that died meanwhile must not hang us.
  const fd = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    await readGo(fd, s);
  } finally {
    closeSync(fd);
  }
  unlinkSync(fifo);
  runHooksWarning('poststart', s.hooks.poststart,
    store.ociState(s, 'running'), warn);
  return s;
}
// #endregion

/**
 * Waits for the init's byte, then for EOF: the init keeps the FIFO
 * open, close-on-exec, so EOF comes when its execve(2) ran (or it
 * died). EAGAIN: not yet.
 */
async function readGo(fd: number, s: Saved): Promise<void> {
  const buf = Buffer.alloc(1);
  let went = false;
  for (let i = 0; ; i++) {
    try {
      const n = readSync(fd, buf);
      if (n === 0 && went) return;
      if (n === 1) went = true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
    }
    if (!went && !alive(s.pid, s.startTime)) {
      throw new RuntimeError('cannot start a container that has stopped');
    }
    if (!went || i > 0) {
      await new Promise((r) => setTimeout(r, i < 20 ? 1 : 10));
    }
  }
}
