// State files: written atomically (a temp file in the same directory,
// fsync, rename(2) over the old one, so a reader or a crash sees the
// old or the new file, never half of one), under an flock(2) so two
// writers never interleave. The daemon also holds an exclusive lock on
// <root>/daemon.lock for its whole life: one daemon per root.
import {
  closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync,
  writeSync,
} from 'node:fs';
import { dirname } from 'node:path';
import { syscall } from '../../chapters/01-chroot/kernel.ts';

// #region flock
const flockCall = syscall<[number, number]>('int flock(int fd, int op)');
const LOCK_EX = 2;
const LOCK_NB = 4;
const LOCK_UN = 8;

/** Takes an exclusive flock(2) on `path`; throws EWOULDBLOCK if held. */
export function lockFile(path: string, wait = true): number {
  mkdirSync(dirname(path), { recursive: true });
  const fd = openSync(path, 'a');
  try {
    flockCall(fd, LOCK_EX | (wait ? 0 : LOCK_NB));
  } catch (err) {
    closeSync(fd);
    throw err;
  }
  return fd;
}

export function unlockFile(fd: number): void {
  flockCall(fd, LOCK_UN);
  closeSync(fd);
}
// #endregion

// #region atomic-write
/** Replaces `path` with `data` atomically, under `path`.lock. */
export function writeAtomic(path: string, data: string | Buffer): void {
  const lock = lockFile(`${path}.lock`);
  try {
    const tmp = `${path}.${process.pid}.tmp`;
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } finally {
    unlockFile(lock);
  }
}
// #endregion

export function writeJson(path: string, value: unknown): void {
  writeAtomic(path, JSON.stringify(value, null, 2) + '\n');
}

export function readJson<T>(path: string): T {
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}
