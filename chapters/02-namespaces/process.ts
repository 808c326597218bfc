// The last things the init does before execve(2): the process's own
// settings from spec.process, and the loopback device of a new network
// namespace.
import { findExecutable } from '../01-chroot/chroot.ts';
import { syscall } from '../01-chroot/kernel.ts';
import type { StartConfig } from './protocol.ts';
import type { LinuxSeccomp, Process } from './spec.ts';

const chdir = syscall<[string]>('int chdir(const char *path)');
const umask = syscall<[number]>('unsigned int umask(unsigned int mask)');
const setgroups = syscall<[number, number[]]>(
  'int setgroups(size_t size, const uint32_t *list)');
const setresgid = syscall<[number, number, number]>(
  'int setresgid(uint32_t r, uint32_t e, uint32_t s)');
const setresuid = syscall<[number, number, number]>(
  'int setresuid(uint32_t r, uint32_t e, uint32_t s)');
/** prctl(2): chapter 06 sets capabilities with it too. */
export const prctl = syscall<[number, number, number, number, number]>(
  'int prctl(int op, unsigned long a, unsigned long b, unsigned long c, ' +
  'unsigned long d)');
const setrlimit = syscall<[number, Buffer]>(
  'int setrlimit(int resource, const void *rlim)');
const PR_SET_NO_NEW_PRIVS = 38;
const setsid = syscall<[]>('int setsid(void)');
const ioctlInt = syscall<[number, number, number]>(
  'int ioctl(int fd, unsigned long request, unsigned long arg)');
const TIOCSCTTY = 0x540e;

export const RLIMITS: Record<string, number> = {
  RLIMIT_CPU: 0, RLIMIT_FSIZE: 1, RLIMIT_DATA: 2, RLIMIT_STACK: 3,
  RLIMIT_CORE: 4, RLIMIT_RSS: 5, RLIMIT_NPROC: 6, RLIMIT_NOFILE: 7,
  RLIMIT_MEMLOCK: 8, RLIMIT_AS: 9, RLIMIT_LOCKS: 10, RLIMIT_SIGPENDING: 11,
  RLIMIT_MSGQUEUE: 12, RLIMIT_NICE: 13, RLIMIT_RTPRIO: 14, RLIMIT_RTTIME: 15,
};

/** The path `--init` mounts the trampoline at (podman uses it too). */
export const INIT_PATH = '/dev/init';

// #region init-layer
/**
 * What a later chapter adds to the init's last steps (chapter 06: the
 * process's privileges). Each hook runs in the init, on the thread that
 * calls execve(2): credentials in Linux are per thread.
 */
export interface InitLayer {
  /** Still root with every capability; the ids are about to change. */
  beforeUser?(c: Confining): void;
  /** The uid and gids are now the command's. */
  afterUser?(c: Confining): void;
  /** The very last step before execve(2). */
  beforeExec?(c: Confining): void;
  /** The mounts are made, pivot_root(2) is next (OCI createContainer). */
  beforePivot?(config: StartConfig): void;
  /** A held init was started (OCI startContainer hooks). */
  started?(config: StartConfig): void;
}

/** What the layers confine: the process, and the container's filter. */
export interface Confining {
  readonly process: Process;
  /** spec.linux.seccomp of the container (an exec gets it too). */
  readonly seccomp?: LinuxSeccomp;
}
// #endregion

/** One rlimit; a negative (or too large) one is RLIM_INFINITY, as -1. */
function setLimit(r: { type: string; soft: number; hard: number }): void {
  const u64 = (n: number) => (n < 0 || n >= 2 ** 64 ? 2n ** 64n - 1n
    : BigInt(n));
  const limit = Buffer.alloc(16);
  limit.writeBigUInt64LE(u64(r.soft), 0);
  limit.writeBigUInt64LE(u64(r.hard), 8);
  if (!(r.type in RLIMITS)) throw new Error(`rlimit "${r.type}": unknown`);
  try {
    setrlimit(RLIMITS[r.type], limit);
  } catch (err) {
    // Raising a hard limit takes CAP_SYS_RESOURCE in the host's user
    // namespace (setrlimit(2)), which a nested engine may lack.
    const code = (err as { code?: string }).code;
    throw new Error(`setting rlimit ${r.type}: ${code === 'EPERM'
      ? 'operation not permitted' : code}`, { cause: err });
  }
}

// #region apply-process
/** cwd, limits and, last, the user: after setresuid we may lose the right. */
export function applyProcess(p: Process, layers: InitLayer[] = [],
  seccomp?: LinuxSeccomp): void {
  const c: Confining = { process: p, seccomp };
  try {
    chdir(p.cwd || '/');
  } catch (err) {
    throw new Error(`chdir to cwd "${p.cwd}": ${(err as { code: string })
      .code}`, { cause: err });
  }
  for (const r of p.rlimits ?? []) setLimit(r);
  if (p.user.umask !== undefined) umask(p.user.umask);
  if (p.noNewPrivileges) prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
  if (p.terminal) takeTerminal();
  // `--init`: the command is the init's argument; check it here so that
  // a typo fails with 127 like any command, not from inside the init.
  if (p.args[0] === INIT_PATH && p.args[1] === '--' && p.args[2]) {
    findExecutable(p.args[2], p.env);
  }
  for (const layer of layers) layer.beforeUser?.(c);
  const { uid, gid, additionalGids = [] } = p.user;
  setgroups(additionalGids.length, additionalGids);
  setresgid(gid, gid, gid);
  setresuid(uid, uid, uid);
  for (const layer of layers) layer.afterUser?.(c);
}
// #endregion

// #region controlling-terminal
/**
 * `docker run -t`: stdin is a pseudo-terminal's slave. Make it our
 * controlling terminal (a new session, then TIOCSCTTY, tty_ioctl(4)), so
 * that ^C typed on it sends SIGINT to the foreground job and a shell
 * gets job control.
 */
function takeTerminal(): void {
  setsid();
  ioctlInt(0, TIOCSCTTY, 0);
}
// #endregion

// #region loopback
// A new network namespace has one device, lo, and it is down. Bring it
// up with the SIOCGIFFLAGS/SIOCSIFFLAGS ioctls (netdevice(7)), which take
// a struct ifreq: a 16-byte name, then the flags as a short.
const socket = syscall<[number, number, number]>(
  'int socket(int domain, int type, int protocol)');
const ioctl = syscall<[number, number, Buffer]>(
  'int ioctl(int fd, unsigned long request, void *arg)');
const close = syscall<[number]>('int close(int fd)');
const AF_INET = 2, SOCK_DGRAM = 2, SOCK_CLOEXEC = 0o2000000;
const SIOCGIFFLAGS = 0x8913, SIOCSIFFLAGS = 0x8914, IFF_UP = 0x1;

export function bringUpLoopback(): void {
  const fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  try {
    const ifreq = Buffer.alloc(40);
    ifreq.write('lo');
    ioctl(fd, SIOCGIFFLAGS, ifreq);
    ifreq.writeUInt16LE(ifreq.readUInt16LE(16) | IFF_UP, 16);
    ioctl(fd, SIOCSIFFLAGS, ifreq);
  } finally {
    close(fd);
  }
}
// #endregion
