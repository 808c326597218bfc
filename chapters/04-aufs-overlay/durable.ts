// State on disk that survives a crash and a second process: the image
// store (this chapter) is the first state skiff keeps, and chapter 05's
// address pool and final/'s daemon keep theirs with the same two tools.
// A file is replaced whole (the old content or the new, never half of
// one), and a read-modify-write happens under an flock(2).
import {
  closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync,
} from 'node:fs';
import { dirname } from 'node:path';
import { type SyscallError, syscall } from '../01-chroot/kernel.ts';

// #region flock (unused)
// <sys/file.h>
const LOCK_EX = 2, LOCK_NB = 4, LOCK_UN = 8;
const flock = syscall<[number, number]>('int flock(int fd, int op)',
  (fd, op) => `${fd}, ${op === LOCK_UN ? 'LOCK_UN'
    : op & LOCK_NB ? 'LOCK_EX|LOCK_NB' : 'LOCK_EX'}`);

// #region lock-file
/**
 * Takes an exclusive flock(2) on `path` (made if missing) and returns
 * its fd; with `wait` false, throws EWOULDBLOCK if another holds it.
 * The kernel drops the lock when the fd closes or its process dies, so
 * a crash leaves no stale lock. The lock is the open file's: a second
 * lockFile() of the same path waits even in this very thread.
 */
export function lockFile(path: string, wait = true): number {
  mkdirSync(dirname(path), { recursive: true });
  const fd = openSync(path, 'a', 0o600);
  try {
    flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB));
  } catch (err) {
    closeSync(fd);
    throw new Error(`lock ${path}: ${(err as SyscallError).code}`,
      { cause: err });
  }
  return fd;
}
// #endregion

export function unlockFile(fd: number): void {
  try {
    flock(fd, LOCK_UN);
  } finally {
    closeSync(fd);
  }
}

/**
 * Runs `fn` holding the lock on `path`. `fn` is synchronous: flock(2)
 * blocks the whole thread, and an await inside would let a second
 * caller of this process block it, and us, for ever.
 */
export function withFileLock<T>(path: string, fn: () => T): T {
  const fd = lockFile(path);
  try {
    return fn();
  } finally {
    unlockFile(fd);
  }
}
// #endregion

// #region atomic-write
/**
 * Replaces `path` so that a reader, and the disk after a crash, see the
 * old file or the new one: the bytes go to a temporary file beside it,
 * fsync(2) puts them on disk, rename(2) swaps the names in one step,
 * and an fsync of the directory makes the rename itself durable
 * (fsync(2): "an explicit fsync() on a file descriptor for the
 * directory is also needed"). `data` may be a function writing to the
 * temporary file's fd, for content made piece by piece.
 */
export function writeAtomic(path: string,
  data: string | Buffer | ((fd: number) => void), mode = 0o644): void {
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    const fd = openSync(tmp, 'w', mode);
    try {
      if (typeof data === 'function') data(fd);
      else writeAll(fd, typeof data === 'string' ? Buffer.from(data) : data);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    if (!(err as NodeJS.ErrnoException).code) throw err; // the writer's own
    throw new Error(`write ${path}: ${(err as Error).message}`,
      { cause: err });
  }
  syncDir(dirname(path));
}
// #endregion

/** fsync(2) of a directory: its entries (a rename, a new file) on disk. */
export function syncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** write(2) until all of `b` is written: one call may write less. */
export function writeAll(fd: number, b: Buffer): void {
  let done = 0;
  while (done < b.length) done += writeSync(fd, b, done);
}
