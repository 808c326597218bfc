// Pseudo-terminals through libc (pty(7)): posix_openpt(3) gives the
// master side, grantpt/unlockpt make the slave usable, ptsname_r names
// it (/dev/pts/N). The container gets the slave as its stdin, stdout
// and stderr and its controlling terminal; the daemon keeps the master.
import { openSync, constants as fsc } from 'node:fs';
import { koffi, plain, syscall } from '../chapters/01-chroot/kernel.ts';

// #region openpt
const posixOpenpt = syscall<[number]>('int posix_openpt(int flags)');
const grantpt = syscall<[number]>('int grantpt(int fd)');
const unlockpt = syscall<[number]>('int unlockpt(int fd)');
// ptsname_r returns an error number instead of setting errno.
const ptsnameR = plain<(fd: number, buf: Buffer, len: number) => number>(
  'int ptsname_r(int fd, char *buf, size_t buflen)');
const O_RDWR = 2;
const O_NOCTTY = 0o400;
const O_CLOEXEC = 0o2000000;

export interface Pty {
  master: number;
  slave: number;
  path: string;
}

export function openPty(): Pty {
  const master = posixOpenpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  grantpt(master);
  unlockpt(master);
  const buf = Buffer.alloc(128);
  const err = ptsnameR(master, buf, buf.length);
  if (err !== 0) throw new Error(`ptsname_r(${master}): errno ${err}`);
  const path = buf.toString('utf8', 0, buf.indexOf(0));
  const slave = openSync(path, fsc.O_RDWR | fsc.O_NOCTTY);
  return { master, slave, path };
}
// #endregion

// #region winsize
// struct winsize { unsigned short ws_row, ws_col, ws_xpixel, ws_ypixel; }
const ioctl = syscall<[number, number, Buffer]>(
  'int ioctl(int fd, unsigned long request, void *arg)');
const TIOCGWINSZ = 0x5413;
const TIOCSWINSZ = 0x5414;

/** Sets a terminal's size; the kernel sends SIGWINCH to its group. */
export function setWinsize(fd: number, rows: number, cols: number): void {
  const ws = Buffer.alloc(8);
  ws.writeUInt16LE(rows, 0);
  ws.writeUInt16LE(cols, 2);
  ioctl(fd, TIOCSWINSZ, ws);
}

export function getWinsize(fd: number): { rows: number; cols: number } {
  const ws = Buffer.alloc(8);
  ioctl(fd, TIOCGWINSZ, ws);
  return { rows: ws.readUInt16LE(0), cols: ws.readUInt16LE(2) };
}
// #endregion

export { koffi };
