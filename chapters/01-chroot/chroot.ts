// Chapter 01: change the root directory, then become the command.
import { accessSync, constants as fsc, statSync } from 'node:fs';
import { SyscallError, plain, syscall } from './kernel.ts';

// #region declare-chroot
const chroot = syscall<[string]>('int chroot(const char *path)');
const chdir = syscall<[string]>('int chdir(const char *path)');
// #endregion

// #region enter
/**
 * Makes `rootfs` the process's root directory. chroot(2) changes only how
 * absolute paths resolve; the working directory is left where it was, so
 * we chdir into the new root at once, or "." would still be outside.
 */
export function enterRoot(rootfs: string): void {
  chroot(rootfs);
  chdir('/');
}
// #endregion

/** The PATH a command gets when nobody says otherwise (as Docker's). */
export const DEFAULT_PATH =
  'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** The environment a command gets when nobody says otherwise. */
export const DEFAULT_ENV = [
  DEFAULT_PATH,
  'HOME=/root',
  `TERM=${process.env.TERM ?? 'xterm'}`,
];

/** Fails with one line when the rootfs is not a directory. */
export function checkRootfs(rootfs: string): void {
  let isDir = false;
  try {
    isDir = statSync(rootfs).isDirectory();
  } catch {
    throw new Error(`rootfs "${rootfs}": no such directory`);
  }
  if (!isDir) throw new Error(`rootfs "${rootfs}": not a directory`);
}

/** Raised when the command cannot become the process. */
export class ExecError extends Error {
  constructor(
    message: string,
    readonly exitCode: 126 | 127,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'ExecError';
  }
}

// #region find-executable
/**
 * Resolves a command the way a shell does: a name with a slash is a path;
 * otherwise each directory of the command's own PATH is tried. Docker's
 * exit codes: 127 when nothing is found, 126 when it is not executable.
 */
export function findExecutable(cmd: string, env: string[]): string {
  const candidates = cmd.includes('/') ? [cmd] : searchPath(env).map(
    (dir) => `${dir}/${cmd}`);
  let denied: string | undefined;
  for (const path of candidates) {
    const st = statOrNull(path);
    if (!st) continue;
    if (st.isFile() && isExecutable(path)) return path;
    denied ??= path;
  }
  if (denied !== undefined) {
    throw new ExecError(`exec "${cmd}": permission denied`, 126);
  }
  const where = cmd.includes('/') ? 'no such file' : 'not found in $PATH';
  throw new ExecError(`exec "${cmd}": ${where}`, 127);
}
// #endregion

/**
 * The same failure in runc's words, which clients read exit codes
 * from: docker's CLI and podman find 127 in "executable file not
 * found" and "no such file or directory", not in a field.
 */
export function runcWords(message: string): string {
  return message
    .replace(/": not found in \$PATH/, '": executable file not found in $PATH')
    .replace(/": no such file(?! or)/, '": no such file or directory');
}

function searchPath(env: string[]): string[] {
  const path = (env.find((e) => e.startsWith('PATH=')) ?? DEFAULT_PATH)
    .slice('PATH='.length);
  return path.split(':').filter(Boolean);
}

function statOrNull(path: string) {
  try {
    return statSync(path);
  } catch {
    return null;
  }
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, fsc.X_OK);
    return true;
  } catch {
    return false;
  }
}

// #region exec
const execve = syscall<[string, (string | null)[], (string | null)[]]>(
  'int execve(const char *path, const char **argv, const char **envp)',
  (path, argv) => `${JSON.stringify(path)}, [${argv.slice(0, -1)
    .map((a) => JSON.stringify(a)).join(', ')}]`,
);

/**
 * Replaces this process with `argv`, searched for in the command's PATH.
 * Returns only by throwing: execve(2) does not come back on success.
 */
export function execCommand(argv: string[], env: string[]): never {
  const path = findExecutable(argv[0], env);
  resetSignals();
  inheritStdio();
  try {
    execve(path, [...argv, null], [...env, null]);
  } catch (err) {
    const e = err as SyscallError;
    const code = e.code === 'ENOENT' ? 127 : 126;
    throw new ExecError(`exec "${argv[0]}": ${e.code}`, code, { cause: e });
  }
  throw new Error('unreachable: execve returned');
}
// #endregion

// #region inherit-stdio
// Node opens its stdin, stdout and stderr with FD_CLOEXEC set: they would
// vanish at execve(2) and the command would write into EBADF. Clear the
// flag on 0, 1 and 2 (fcntl(2) F_SETFD) so the command inherits them.
const fcntl = syscall<[number, number, number]>(
  'int fcntl(int fd, int cmd, int arg)');
const F_SETFD = 2;

export function inheritStdio(): void {
  for (const fd of [0, 1, 2]) fcntl(fd, F_SETFD, 0);
}
// #endregion

// #region reset-signals
// Ignored signals stay ignored across execve(2) (see signal(7)), and Node
// ignores SIGPIPE. Left alone, `yes | head -1` would never end inside the
// container, so we hand the command default dispositions and a clear mask.
const signal = plain<(sig: number, handler: null) => unknown>(
  'void *signal(int sig, void *handler)');
const sigprocmask = plain<(how: number, set: Buffer, old: null) => number>(
  'int sigprocmask(int how, const void *set, void *oldset)');
const SIG_SETMASK = 2;

export function resetSignals(): void {
  for (const sig of [1, 2, 3, 13, 15]) signal(sig, null); // SIG_DFL is 0
  sigprocmask(SIG_SETMASK, Buffer.alloc(128), null);
}
// #endregion
