// The re-executed init: the first program to run inside the container's
// namespaces. The trampoline (nsexec.c) put it there; it reads its
// configuration, waits at the barrier until the engine has finished its
// work from outside, builds the container's world from the inside, and
// finally becomes the user's command with execve(2).
//
// It runs bundled (see build.ts) as `node init.mjs`: init-main.ts is
// this chapter's entry; a later chapter's entry passes its own layers.
import {
  closeSync, constants, openSync, readSync, writeFileSync, writeSync,
} from 'node:fs';
import { basename, dirname } from 'node:path';
import {
  enterRoot, execCommand, ExecError, findExecutable,
} from '../01-chroot/chroot.ts';
import { syscall } from '../01-chroot/kernel.ts';
import { openConsole, receiveFds } from './console.ts';
import {
  finishRoot, pivotInto, prepareRoot, rootPath, type Trees, treesFromEnv,
} from './mounts.ts';
import {
  CONFIG_FD, CONSOLE_FD, ERROR_FD, EXECING, GO, type Handed,
  type InitConfig, type InitFailure, type StartConfig, SYNC_FD,
} from './protocol.ts';
import {
  applyProcess, bringUpLoopback, type InitLayer,
} from './process.ts';
import type { Spec } from './spec.ts';

const sethostname = syscall<[string, number]>(
  'int sethostname(const char *name, size_t len)');
const unshare = syscall<[number]>('int unshare(int flags)');
const setns = syscall<[number, number]>('int setns(int fd, int nstype)');
const fcntl = syscall<[number, number, number]>(
  'int fcntl(int fd, int cmd, int arg)');
const fchdir = syscall<[number]>('int fchdir(int fd)');
const dup2 = syscall<[number, number]>('int dup2(int oldfd, int newfd)');
const closeRange = syscall<[number, number, number]>(
  'int close_range(unsigned int first, unsigned int last, int flags)');
const CLOSE_RANGE_CLOEXEC = 4;
const chroot = syscall<[string]>('int chroot(const char *path)');
const openat = syscall<[number, string, number]>(
  'int openat(int dirfd, const char *path, int flags)');
const O_CLOEXEC = 0o2000000;
const F_SETFD = 2;
const FD_CLOEXEC = 1;
const O_PATH = 0o10000000;
const CLONE_FS = 0x200;
const CLONE_NEWNS = 0x20000;
const CLONE_NEWCGROUP = 0x02000000;

/** Reads a descriptor to its end (the engine closes its side). */
function readAll(fd: number): string {
  const chunks: Buffer[] = [];
  const buf = Buffer.alloc(65536);
  for (;;) {
    const n = readSync(fd, buf);
    if (n === 0) return Buffer.concat(chunks).toString('utf8');
    chunks.push(Buffer.from(buf.subarray(0, n)));
  }
}

// #region barrier
/** Blocks until the engine says go; exits quietly if the engine is gone. */
function waitAtBarrier(): void {
  const buf = Buffer.alloc(1);
  if (readSync(SYNC_FD, buf) !== 1 || buf.toString() !== GO) {
    process.exit(1);
  }
}
// #endregion

function hasNew(spec: Spec, type: string): boolean {
  return spec.linux.namespaces.some((ns) => ns.type === type && !ns.path);
}

// #region take-handed
/**
 * An init whose stdio and trees were handed over (launch.ts handOver):
 * they came over the console socket. The stdio fds become 0-2 (dup2(2)
 * clears their close-on-exec flag); the trees are for prepareRoot.
 */
function takeHanded(handed: Handed): Trees {
  const fds = receiveFds(CONSOLE_FD, 4 + handed.binds, 'stdio and trees');
  if (fds.length !== 4 + handed.binds) {
    throw new Error(`receive stdio and trees: ${fds.length} fds came`);
  }
  fds.slice(0, 3).forEach((fd, i) => {
    dup2(fd, i);
    closeSync(fd);
  });
  // The socket stays for a terminal's master, but not in the command.
  fcntl(CONSOLE_FD, F_SETFD, FD_CLOEXEC);
  return { root: fds[3], binds: fds.slice(4) };
}
// #endregion

// #region setup
/** The container's world, made from the inside, in this order. */
function setUpContainer(config: StartConfig, trees: Trees,
  layers: InitLayer[] = []): void {
  const { spec } = config;
  // Unshared only now, after the engine's attach steps put us in our
  // cgroup: the namespace's root is that cgroup, so /proc/self/cgroup
  // reads "/" and the host's hierarchy above it stays hidden.
  if (hasNew(spec, 'cgroup')) unshare(CLONE_NEWCGROUP);
  if (hasNew(spec, 'uts') && spec.hostname) {
    sethostname(spec.hostname, Buffer.byteLength(spec.hostname));
  }
  if (hasNew(spec, 'network')) bringUpLoopback();
  if (hasNew(spec, 'mount')) {
    prepareRoot(spec, trees);
    for (const layer of layers) layer.beforePivot?.(config);
    pivotInto(rootPath(spec, trees));
    writeSysctls(spec);
    finishRoot(spec); // after the sysctls: it makes /proc/sys read-only
  } else {
    // Without a mount namespace every mount would land in the host's
    // table: fall back to chapter 01's chroot and mount nothing. A
    // rootfs handed as an fd (launch.ts) needs no search permission on
    // its path, which root of a user namespace may lack.
    if (trees.root === undefined) enterRoot(spec.root.path);
    else {
      fchdir(trees.root);
      chroot('.');
      closeSync(trees.root);
    }
    writeSysctls(spec);
  }
}
// #endregion

function writeSysctls(spec: Spec): void {
  for (const [key, value] of Object.entries(spec.linux.sysctl ?? {})) {
    writeFileSync(`/proc/sys/${key.replaceAll('.', '/')}`, value);
  }
}

// #region enter-mount-ns
/**
 * For exec: the trampoline joined every namespace but the mount one,
 * since after that the host's node binary would be out of sight. Now
 * that node runs, enter it. setns(2) into a mount namespace needs a
 * filesystem context (root, cwd) of our own: Node's threads share one,
 * so unshare(CLONE_FS) first. Only this thread moves, and it is the one
 * that calls execve(2).
 *
 * setns puts us at the namespace's root mount, which pivot_root(2) made
 * the container's rootfs, unless the engine itself runs chrooted (as in
 * an initramfs): then the pivot moved only the init's root. So we take
 * the root the container's PID 1 has, as `nsenter --root` does.
 */
function enterMountNs(containerPid?: number): void {
  const fd = Number(process.env.SKIFF_KEEP_FD);
  const root = containerPid
    ? openSync(`/proc/${containerPid}/root`, O_PATH | constants.O_DIRECTORY)
    : -1;
  if (Number.isInteger(fd)) {
    unshare(CLONE_FS);
    setns(fd, CLONE_NEWNS);
  }
  // Also where the container shares our mounts and has only a chroot.
  if (root < 0) return;
  fchdir(root);
  chroot('.');
  closeSync(root);
}
// #endregion

/** Once a held init reported ready, failures go to its stderr. */
let errorFd = ERROR_FD;

function fail(err: unknown): never {
  const e = err as Error & { exitCode?: number };
  const failure: InitFailure = {
    message: e?.message ?? String(err),
    exitCode: err instanceof ExecError ? err.exitCode : e?.exitCode ?? 125,
  };
  try {
    writeSync(errorFd, errorFd === ERROR_FD ? `${JSON.stringify(failure)}\n`
      : `skiff init: ${failure.message}\n`);
  } finally {
    process.exit(errorFd === ERROR_FD ? 1 : failure.exitCode);
  }
}

// #region hold
/**
 * The OCI runtime's create/start split, as runc's exec.fifo: the init
 * opened the FIFO's directory (O_PATH) before pivot_root hid its path.
 * Now ready, it tells the engine so (EOF on the error pipe: `create`
 * returns), then blocks in openat(2) for writing until `start` opens
 * the FIFO for reading (fifo(7)). The FIFO stays open until execve(2)
 * closes it, which tells `start` the command runs. The caller writes
 * the byte once the startContainer hooks ran: EOF without it tells
 * `start` they failed (runtime.md: start fails, the container stops).
 */
function holdUntilStarted(dir: number, name: string,
  proc: Spec['process']): number {
  // What runc checks before the wait: a missing command fails create.
  // (An OCI config may have no process until start, which refuses it.)
  if (proc.args.length) findExecutable(proc.args[0], proc.env);
  writeSync(ERROR_FD, EXECING);
  closeSync(ERROR_FD);
  errorFd = 2;
  // Kept open, close-on-exec: `start` sees EOF once the command runs.
  const fd = openat(dir, name, constants.O_WRONLY | O_CLOEXEC);
  closeSync(dir);
  return fd;
}
// #endregion

/** The init's whole life; `layers` are later chapters' additions. */
export function runInit(layers: InitLayer[] = []): never {
  // The error pipe closes at execve(2): EOF tells the engine it worked.
  for (const fd of [SYNC_FD, CONFIG_FD, ERROR_FD]) {
    fcntl(fd, F_SETFD, FD_CLOEXEC);
  }
  const text = readAll(CONFIG_FD);
  // The engine went away before it sent a config: nothing to do.
  if (text === '') process.exit(0);
  const config = JSON.parse(text) as InitConfig;
  waitAtBarrier();
  try {
    let proc;
    let seccomp;
    let devConsole = false;
    let hold: number | undefined;
    if (config.mode === 'start') {
      const trees = config.handed ? takeHanded(config.handed)
        : treesFromEnv();
      // Opened while the host's path is still in sight.
      if (config.hold) {
        hold = openSync(dirname(config.hold.fifo),
          O_PATH | constants.O_DIRECTORY);
      }
      setUpContainer(config, trees, layers);
      proc = config.spec.process;
      seccomp = config.spec.linux.seccomp;
      devConsole = hasNew(config.spec, 'mount');
    } else {
      enterMountNs(config.containerPid);
      proc = config.process;
      seccomp = config.seccomp;
    }
    // Now /dev/pts is the container's: the terminal is made there.
    if (proc.terminal) {
      openConsole(CONSOLE_FD, { devConsole, size: proc.consoleSize });
    }
    if (hold !== undefined && config.mode === 'start' && config.hold) {
      const go = holdUntilStarted(hold, basename(config.hold.fifo), proc);
      for (const layer of layers) layer.started?.(config);
      writeSync(go, '0');
    }
    // Only 0-2 go on to the command: not an fd the engine's own parent
    // left open without close-on-exec (close_range(2), as runc does).
    // Before the layers: a seccomp filter may not allow close_range.
    closeRange(3, 0xffffffff, CLOSE_RANGE_CLOEXEC);
    applyProcess(proc, layers, seccomp);
    for (const layer of layers) {
      layer.beforeExec?.({ process: proc, seccomp });
    }
    if (errorFd === ERROR_FD) writeSync(ERROR_FD, EXECING);
    return execCommand(proc.args, proc.env);
  } catch (err) {
    return fail(err);
  }
}

