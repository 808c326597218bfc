// Files of an untrusted image, opened by host root without leaving it.
//
// The daemon reads a few files of a container's rootfs itself (/etc/passwd
// and /etc/group for `-u name`) and makes its working directory. As host
// root, a plain open(2) of `<rootfs>/etc/passwd` follows whatever the
// image put there: an absolute symlink `/etc/passwd -> /etc/shadow`
// resolves against the HOST's root, a FIFO blocks the open until someone
// writes, a device node runs its driver's open, a 10 GB file fills our
// memory. openat2(2) (Linux 5.6) resolves a path as if a directory were
// the root: RESOLVE_IN_ROOT makes "/" and ".." stop there, as chroot(2)
// would, but for this one lookup and without a process of its own.
import {
  closeSync, constants as C, fstatSync, openSync, readSync,
} from 'node:fs';
import { normalize } from 'node:path';
import {
  SyscallError, koffi, libc, syscall,
} from '../01-chroot/kernel.ts';

// #region openat2
// openat2(2) has no glibc wrapper: syscall(2) by number, the same on
// every architecture (it came after the unified syscall table).
const SYS_OPENAT2 = 437;
const rawSyscall = libc.func('long syscall(long nr, ...)');

// <linux/openat2.h>: how the path is resolved.
const RESOLVE_NO_MAGICLINKS = 0x02; // no /proc/PID/fd/N, /proc/PID/root
const RESOLVE_IN_ROOT = 0x10;       // "/" and ".." stop at dirfd
// <asm-generic/fcntl.h>: the same values on x86-64 and arm64; Node's
// fs.constants has neither.
export const O_PATH = 0o10000000;
const O_CLOEXEC = 0o2000000;

/**
 * Opens `path` as seen from inside `root`: symlinks (absolute ones too)
 * and ".." resolve within it, and a magic link of /proc is refused.
 * Returns an fd (close-on-exec); throws SyscallError (ENOENT, ELOOP...).
 */
export function openInRoot(root: string, path: string,
  flags = C.O_RDONLY): number {
  const dir = openSync(root, O_PATH | C.O_DIRECTORY);
  try {
    // struct open_how { u64 flags; u64 mode; u64 resolve; }
    const how = new BigUint64Array([BigInt(flags | O_CLOEXEC), 0n,
      BigInt(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)]);
    const fd = Number(rawSyscall(SYS_OPENAT2, 'int', dir, 'str', path,
      'void *', how, 'size_t', how.byteLength));
    if (fd < 0) {
      throw new SyscallError('openat2',
        `${JSON.stringify(path)} in ${JSON.stringify(root)}`, koffi.errno());
    }
    return fd;
  } finally {
    closeSync(dir);
  }
}
// #endregion

// #region read-in-root
/**
 * The text of `path` in `root`, or undefined if there is none. Only a
 * regular file of at most `maxBytes` is read: we look first through an
 * O_PATH fd, which opens nothing (a FIFO cannot block us, a device's
 * driver is not called), then reopen that same inode to read it.
 */
export function readFileInRoot(root: string, path: string,
  maxBytes = 1 << 20): string | undefined {
  const what = `read ${normalize(`/${path}`)} in the image`;
  let fd: number;
  try {
    fd = openInRoot(root, path, O_PATH);
  } catch (err) {
    const code = (err as SyscallError).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw new Error(`${what}: ${code ?? (err as Error).message}`,
      { cause: err });
  }
  try {
    if (!fstatSync(fd).isFile()) {
      throw new Error(`${what}: not a regular file`);
    }
    return readCapped(`/proc/self/fd/${fd}`, maxBytes, what);
  } finally {
    closeSync(fd);
  }
}
// #endregion

// #region read-capped
/** Reads at most `max` bytes; a file that has more is refused. */
function readCapped(file: string, max: number, what: string): string {
  const fd = openSync(file, C.O_RDONLY | C.O_NONBLOCK | C.O_NOCTTY);
  try {
    const buf = Buffer.alloc(max + 1);
    let n = 0;
    for (let got = 1; got > 0 && n <= max; n += got) {
      got = readSync(fd, buf, n, buf.length - n, null);
    }
    if (n > max) throw new Error(`${what}: larger than ${size(max)}`);
    return buf.toString('utf8', 0, n);
  } finally {
    closeSync(fd);
  }
}
// #endregion

function size(bytes: number): string {
  if (bytes % (1 << 20) === 0) return `${bytes / (1 << 20)} MiB`;
  if (bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes} bytes`;
}

const mkdirat = syscall<[number, string, number]>(
  'int mkdirat(int dirfd, const char *path, unsigned int mode)',
(_fd, path) => JSON.stringify(path));

// #region mkdir-in-root (unused)
/**
 * `mkdir -p path` inside `root`: each directory is looked up in the
 * root as openInRoot does (a symlink on the way stays inside), and a
 * missing one is made with mkdirat(2) in the parent we hold open, so
 * nothing is created outside the root. ".." is cleaned lexically.
 */
export function mkdirInRoot(root: string, path: string,
  mode = 0o755): void {
  const parts = normalize(`/${path}`).split('/').filter(Boolean);
  let parent = openInRoot(root, '/', O_PATH | C.O_DIRECTORY);
  try {
    for (let i = 0; i < parts.length; i++) {
      const prefix = parts.slice(0, i + 1).join('/');
      const open = () => openInRoot(root, prefix, O_PATH | C.O_DIRECTORY);
      let child: number;
      try {
        child = open();
      } catch (err) {
        if ((err as SyscallError).code !== 'ENOENT') throw err;
        try {
          mkdirat(parent, parts[i], mode);
        } catch (e) {
          if ((e as SyscallError).code !== 'EEXIST') throw e;
        }
        child = open(); // a dangling symlink there: ENOENT again
      }
      closeSync(parent);
      parent = child;
    }
  } catch (err) {
    throw new Error(`mkdir ${normalize(`/${path}`)} in the image: ${
      (err as SyscallError).code ?? (err as Error).message}`, { cause: err });
  } finally {
    closeSync(parent);
  }
}
// #endregion
