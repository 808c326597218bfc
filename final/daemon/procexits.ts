// Exit statuses of processes the daemon is not the parent of. A daemon
// started after another one died (even by kill -9) finds its containers
// again, but their parent is now the host's init, so wait(2) is not
// ours to call. Docker keeps a shim per container as the parent; skiff
// has no process besides the container's. The kernel's process events
// connector (linux/cn_proc.h) tells any listener, for every process that
// exits, its pid and its wait status: a netlink socket of protocol
// NETLINK_CONNECTOR bound to the group CN_IDX_PROC, and one message
// PROC_CN_MCAST_LISTEN (connector(4) in the kernel's documentation).
import { procStat } from '../../chapters/02-namespaces/procfs.ts';
import { constants } from 'node:os';
import {
  errnoName, koffi, plain, syscall,
} from '../../chapters/01-chroot/kernel.ts';

const socket = syscall<[number, number, number]>(
  'int socket(int domain, int type, int protocol)');
const bind = syscall<[number, Buffer, number]>(
  'int bind(int fd, const void *addr, unsigned int len)');
const send = syscall<[number, Buffer, number, number]>(
  'intptr_t send(int fd, const void *buf, size_t len, int flags)');
const setsockopt = plain<(fd: number, level: number, name: number,
  value: Buffer, len: number) => number>('int setsockopt(int fd, ' +
  'int level, int name, const void *value, unsigned int len)');
const recv = plain<(fd: number, buf: Buffer, len: number, flags: number)
  => number | bigint>('intptr_t recv(int fd, void *buf, size_t len, ' +
  'int flags)');
const poll = plain<(fds: Buffer, n: number, timeout: number) => number>(
  'int poll(void *fds, unsigned long n, int timeout)');
const close = plain<(fd: number) => number>('int close(int fd)');

const AF_NETLINK = 16, NETLINK_CONNECTOR = 11, SOCK_DGRAM = 2;
const SOCK_NONBLOCK = 0o4000, SOCK_CLOEXEC = 0o2000000;
const SOL_SOCKET = 1, SO_RCVBUFFORCE = 33, POLLIN = 1;
const NLMSG_DONE = 3;
const CN_IDX_PROC = 1, CN_VAL_PROC = 1;
const PROC_CN_MCAST_LISTEN = 1, PROC_CN_MCAST_IGNORE = 2;
const PROC_EVENT_NONE = 0, PROC_EVENT_EXIT = 0x80000000;
// Offsets: struct nlmsghdr is 16 bytes, struct cn_msg 20, then the
// struct proc_event: what, cpu, an 8-byte timestamp, the event's data.
const CN = 16, EV = CN + 20, DATA = EV + 16;

// #region proc-exits (unused)
/**
 * Listens for process exits. Node cannot watch a raw fd for readiness
 * (net.Socket takes only stream sockets and pipes), a blocking recv(2)
 * would hold one of libuv's four pool threads for ever, and a worker
 * thread costs a second V8 heap: so the socket is non-blocking and the
 * daemon drains it on the timer that already looks at /proc for the
 * containers it found again. The queue is raised to 4 MiB so that the
 * exits of a whole tick fit; should it overflow anyway (ENOBUFS), the
 * lost statuses read as unknown.
 */
export class ProcExits {
  private readonly statuses = new Map<number, number>();
  private readonly buf = Buffer.alloc(4096);

  private constructor(private fd: number,
    private readonly watched: Set<number>) {}

  // #region proc-exits-listen
  /**
   * Starts listening for the exits of `pids`; undefined, with the
   * reason in `why`, where the kernel will not tell: no CONFIG_PROC_EVENTS
   * (no answer), not in the initial user and pid namespaces (no answer),
   * no CAP_NET_ADMIN where the kernel still asks for it (EPERM).
   */
  static listen(pids: Iterable<number>, why?: (e: Error) => void)
    : ProcExits | undefined {
    let fd = -1;
    try {
      fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
        NETLINK_CONNECTOR);
      const int = Buffer.alloc(4);
      int.writeInt32LE(4 << 20);
      setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, int, 4); // root only
      const addr = Buffer.alloc(12); // struct sockaddr_nl
      addr.writeUInt16LE(AF_NETLINK, 0);
      addr.writeUInt32LE(CN_IDX_PROC, 8); // nl_groups
      bind(fd, addr, addr.length);
      subscribe(fd);
      return new ProcExits(fd, new Set(pids));
    } catch (err) {
      if (fd >= 0) close(fd);
      why?.(err as Error);
      return undefined;
    }
  }
  // #endregion
  // #endregion

  watch(pid: number): void { this.watched.add(pid); }

  /** The wait(2) status `pid` exited with, if its exit was seen. */
  status(pid: number): number | undefined {
    this.drain();
    return this.statuses.get(pid);
  }

  /** Stops watching `pid`, forgetting its status. */
  forget(pid: number): void {
    this.watched.delete(pid);
    this.statuses.delete(pid);
  }

  // #region drain
  /** Reads every queued event, keeping the exits of watched pids. */
  drain(): void {
    for (;;) {
      const n = Number(recv(this.fd, this.buf, this.buf.length, 0));
      if (n < 0) {
        const errno = koffi.errno();
        if (errno === constants.errno.ENOBUFS) continue; // events lost
        return; // EAGAIN: the queue is empty
      }
      if (n === 0) return;
      const b = this.buf;
      if (n < DATA + 12 || b.readUInt32LE(EV) !== PROC_EVENT_EXIT) continue;
      // process_pid, process_tgid, exit_code: the last thread of a
      // thread group to exit carries the group's status, as wait(2).
      const tgid = b.readInt32LE(DATA + 4);
      if (this.watched.has(tgid)) {
        this.statuses.set(tgid, b.readUInt32LE(DATA + 8));
      }
    }
  }
  // #endregion

  /**
   * Stops listening. On older kernels closing the socket did not lower
   * the kernel's count of listeners (each exit would still build an
   * event for nobody): say PROC_CN_MCAST_IGNORE first.
   */
  close(): void {
    if (this.fd < 0) return;
    try {
      request(this.fd, 0, [PROC_CN_MCAST_IGNORE]);
    } catch { /* closing anyway */ }
    close(this.fd);
    this.fd = -1;
  }
}

/**
 * Sends PROC_CN_MCAST_LISTEN and waits for the kernel's answer. Then,
 * since Linux 6.6, a second message (struct proc_input: the op, then the
 * events wanted) narrows what we get to exits; an older kernel ignores
 * a message of that size, and we get every event. The narrowing comes
 * second because the kernel's filter drops its own answers too.
 */
function subscribe(fd: number): void {
  // The kernel overwrites the sequence number of its answer with its
  // own counter, but answers with our `ack` plus one.
  const cookie = process.pid;
  request(fd, cookie, [PROC_CN_MCAST_LISTEN]);
  const err = awaitAck(fd, cookie + 1);
  if (err === undefined) {
    throw new Error('listen for process events: no answer from the kernel');
  }
  if (err !== 0) {
    throw new Error(`listen for process events: ${errnoName(err)}`);
  }
  request(fd, cookie, [PROC_CN_MCAST_LISTEN, PROC_EVENT_EXIT]);
}

/** Sends a connector message to cn_proc: `data` as 32-bit words. */
function request(fd: number, ack: number, data: number[]): void {
  const msg = Buffer.alloc(CN + 20 + 4 * data.length);
  msg.writeUInt32LE(msg.length, 0); // nlmsg_len
  msg.writeUInt16LE(NLMSG_DONE, 4);
  msg.writeUInt32LE(CN_IDX_PROC, CN); // cn_msg.id
  msg.writeUInt32LE(CN_VAL_PROC, CN + 4);
  msg.writeUInt32LE(ack, CN + 12);
  msg.writeUInt16LE(4 * data.length, CN + 16);
  data.forEach((v, i) => msg.writeUInt32LE(v, CN + 20 + 4 * i));
  send(fd, msg, msg.length, 0);
}

/**
 * The error of the kernel's answer whose ack is `ack` (0: listening),
 * undefined if none came. The connector runs its handler inside our
 * send(2), so the answer is already queued; the short poll(2) is for
 * safety. Events queued before it are of processes we do not watch yet.
 */
function awaitAck(fd: number, ack: number): number | undefined {
  const buf = Buffer.alloc(4096);
  const pfd = Buffer.alloc(8); // struct pollfd
  pfd.writeInt32LE(fd, 0);
  pfd.writeInt16LE(POLLIN, 4);
  // Others' events may flow (another listener enabled them): a deadline.
  const end = Date.now() + 100;
  while (Date.now() < end && poll(pfd, 1, 50) > 0) {
    const n = Number(recv(fd, buf, buf.length, 0));
    if (n >= DATA + 4 && buf.readUInt32LE(EV) === PROC_EVENT_NONE &&
      buf.readUInt32LE(CN + 12) === ack) {
      return buf.readUInt32LE(DATA); // event_data.ack.err
    }
  }
  return undefined;
}

/**
 * Whether `pid` still runs as the process that started at `start`
 * (/proc/PID/stat field 22): a zombie counts as ended, since a parent
 * that never reaps (a host init that neglects orphans) would otherwise
 * keep it "running" for ever.
 */
export function stillRuns(pid: number, start?: number): boolean {
  const stat = procStat(pid);
  return !!stat && stat.state !== 'Z' && stat.startTime === start;
}
