// The container's terminal (`docker run -t`), made the way runc makes
// it. The init opens a pseudo-terminal (pty(7)) *inside* the container,
// after /dev/pts is the container's own devpts instance, so the slave
// is /dev/pts/0 there and nowhere on the host. The slave becomes the
// command's stdin, stdout and stderr; the master goes to the engine
// over a unix socket as SCM_RIGHTS (unix(7)), runc's --console-socket.
import { closeSync, openSync, constants as fsc } from 'node:fs';
import { errnoName, koffi, plain, syscall } from '../01-chroot/kernel.ts';
import { bindConsole } from './mounts.ts';

// #region openpt
// posix_openpt(3) opens /dev/ptmx: in the container, the symlink to
// /dev/pts/ptmx that populateDev made. unlockpt lets the slave be
// opened; ptsname_r names it /dev/pts/N (from the TIOCGPTN ioctl).
const posixOpenpt = syscall<[number]>('int posix_openpt(int flags)');
const grantpt = syscall<[number]>('int grantpt(int fd)');
const unlockpt = syscall<[number]>('int unlockpt(int fd)');
// ptsname_r returns an error number instead of setting errno.
const ptsnameR = plain<(fd: number, buf: Buffer, len: number) => number>(
  'int ptsname_r(int fd, char *buf, size_t buflen)');
const O_CLOEXEC = 0o2000000;

export interface Pty {
  master: number;
  slave: number;
  path: string;
}

export function openPty(): Pty {
  const master = posixOpenpt(fsc.O_RDWR | fsc.O_NOCTTY | O_CLOEXEC);
  try {
    grantpt(master);
    unlockpt(master);
    const buf = Buffer.alloc(128);
    const err = ptsnameR(master, buf, buf.length);
    if (err) throw new Error(`ptsname_r(${master}): ${errnoName(err)}`);
    const path = buf.toString('utf8', 0, buf.indexOf(0));
    const slave = openSync(path, fsc.O_RDWR | fsc.O_NOCTTY);
    return { master, slave, path };
  } catch (err) {
    closeSync(master);
    throw err;
  }
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

// #region scm-rights
// sendmsg(2) and recvmsg(2) take a struct msghdr: the data (one byte,
// in an iovec) and the control message, a struct cmsghdr { size_t len;
// int level, type; } followed by the fds, padded to 8 bytes: CMSG_SPACE.
koffi.struct('skiff_iovec', { base: 'void *', len: 'size_t' });
koffi.struct('skiff_msghdr', {
  name: 'void *', namelen: 'uint32_t', iov: 'skiff_iovec *',
  iovlen: 'size_t', control: 'void *', controllen: 'size_t', flags: 'int',
});
type Msg = ReturnType<typeof message>;
const sendmsg = syscall<[number, Msg, number]>(
  'intptr_t sendmsg(int fd, const skiff_msghdr *msg, int flags)');
const recvmsg = syscall<[number, Msg, number]>(
  'intptr_t recvmsg(int fd, _Inout_ skiff_msghdr *msg, int flags)');
const SOL_SOCKET = 1, SCM_RIGHTS = 1;
const MSG_DONTWAIT = 0x40, MSG_CMSG_CLOEXEC = 0x40000000;
const CMSG_HDR = 16;
const cmsgSpace = (n: number) => CMSG_HDR + ((n * 4 + 7) & ~7);

function message(data: Buffer, control: Buffer) {
  return { name: null, namelen: 0, iov: [{ base: data, len: data.length }],
    iovlen: 1, control, controllen: control.length, flags: 0 };
}
// #endregion

// #region send-fds

/** Sends open file descriptors to the process at the other end. */
export function sendFds(sock: number, fds: number[]): void {
  const control = Buffer.alloc(cmsgSpace(fds.length));
  control.writeBigUInt64LE(BigInt(CMSG_HDR + fds.length * 4), 0);
  control.writeInt32LE(SOL_SOCKET, 8);
  control.writeInt32LE(SCM_RIGHTS, 12);
  fds.forEach((fd, i) => control.writeInt32LE(fd, CMSG_HDR + i * 4));
  sendmsg(sock, message(Buffer.from('T'), control), 0);
}

/**
 * The descriptors one sendFds sent (at most `max`), now ours and
 * close-on-exec; throws if no message is waiting.
 */
export function receiveFds(sock: number, max: number, what: string)
  : number[] {
  const control = Buffer.alloc(cmsgSpace(max));
  const n = recvmsg(sock, message(Buffer.alloc(1), control),
    MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
  if (n !== 1 || control.readInt32LE(8) !== SOL_SOCKET ||
    control.readInt32LE(12) !== SCM_RIGHTS) {
    throw new Error(`receive ${what}: no descriptor came`);
  }
  const count = (Number(control.readBigUInt64LE(0)) - CMSG_HDR) / 4;
  return Array.from({ length: count },
    (_, i) => control.readInt32LE(CMSG_HDR + i * 4));
}

export const sendFd = (sock: number, fd: number) => sendFds(sock, [fd]);
export const receiveFd = (sock: number) =>
  receiveFds(sock, 1, 'the console')[0];
// #endregion

const socketpair = syscall<[number, number, number, Int32Array]>(
  'int socketpair(int domain, int type, int protocol, _Out_ int *sv)');
const AF_UNIX = 1, SOCK_SEQPACKET = 5;

/** The engine's end and the init's end of the console socket. */
export function consolePair(): [ours: number, theirs: number] {
  const sv = new Int32Array(2);
  socketpair(AF_UNIX, SOCK_SEQPACKET | O_CLOEXEC, 0, sv);
  return [sv[0], sv[1]];
}

// #region open-console
const dup2 = syscall<[number, number]>('int dup2(int oldfd, int newfd)');

/**
 * In the init, in the container's mount namespace: a terminal of its
 * own becomes fds 0-2 (at `size`, if given, so the command starts at
 * the caller's size) and, in a new container, /dev/console; its master
 * goes to the engine over `sock`.
 */
export function openConsole(sock: number, o: { devConsole: boolean;
  size?: { height: number; width: number } }): void {
  let pty: Pty;
  try {
    pty = openPty();
  } catch (err) {
    throw new Error(`open the container's terminal: ${
      (err as Error).message}`, { cause: err });
  }
  if (o.size) setWinsize(pty.master, o.size.height, o.size.width);
  if (o.devConsole) bindConsole(pty.path);
  for (const fd of [0, 1, 2]) dup2(pty.slave, fd);
  closeSync(pty.slave);
  sendFd(sock, pty.master);
  closeSync(pty.master);
  closeSync(sock);
}
// #endregion
