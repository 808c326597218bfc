// Installing a compiled filter with seccomp(2).
//
// The kernel attaches a filter to the calling THREAD, and execve(2) keeps
// it (as do fork and clone: children inherit it). Filters cannot be
// removed, only added to: every syscall then runs through all of them and
// the strictest answer wins.
//
// The caller arranges the right to do so: seccomp(2) refuses (EACCES)
// unless the thread has no_new_privs set (prctl(PR_SET_NO_NEW_PRIVS))
// or CAP_SYS_ADMIN in its user namespace. Without that rule, a filter
// could make a setuid program fail in ways it does not expect. The
// container init calls this last, just before execve(2), after the user
// change, as runc does: the fewer syscalls the init itself still makes
// under the filter, the fewer the profile must allow for the engine's
// own sake.
import { koffi, syscall, SyscallError } from '../01-chroot/kernel.ts';
import type { LinuxSeccomp } from '../02-namespaces/spec.ts';
import { compileFilter } from './bpf.ts';
import { syscallTable } from './syscalls.ts';

// #region seccomp-flags (unused)
// <linux/seccomp.h>
const SECCOMP_SET_MODE_FILTER = 1;
const FLAGS: Record<string, number> = {
  // Log every action but ALLOW to the audit log (seccomp(2)).
  SECCOMP_FILTER_FLAG_LOG: 2,
  // Leave the speculative store bypass mitigation off (Spectre v4).
  SECCOMP_FILTER_FLAG_SPEC_ALLOW: 4,
};
/** Known, but not for us: TSYNC would filter every thread of the engine's
 * init, including libuv's; WAIT_KILLABLE_RECV needs a notify listener. */
const REFUSED = new Set(['SECCOMP_FILTER_FLAG_TSYNC',
  'SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV']);
// #endregion

/** The flags word for seccomp(2); unknown or refused flags throw. */
export function filterFlags(names: string[] = []): number {
  let flags = 0;
  for (const name of names) {
    if (REFUSED.has(name)) {
      throw new Error(`seccomp flag ${name}: not supported`);
    }
    if (!(name in FLAGS)) throw new Error(`seccomp flag "${name}": unknown`);
    flags |= FLAGS[name];
  }
  return flags;
}

// glibc has no seccomp() wrapper: call it by number through syscall(2),
// declared with seccomp's own arguments (glibc's syscall() only moves
// registers, so a fixed prototype is safe on x86_64 and arm64 and
// cheaper for koffi than a variadic call). Declared at load: an init
// made ahead (final/fast) has that done before it is needed.
const seccompCall = syscall<[number, number, number, Buffer]>(
  'long syscall(long nr, unsigned int op, unsigned int flags, void *args)');

// #region install-filter
/**
 * Installs a compiled program (compileFilter's output) on the calling
 * thread with seccomp(2) SECCOMP_SET_MODE_FILTER. Without TSYNC: only
 * this thread (the one that will call execve) is filtered.
 */
export function installFilter(program: Buffer, flagNames?: string[]): void {
  const flags = filterFlags(flagNames);
  // struct sock_fprog { unsigned short len; struct sock_filter *filter; }
  // with the pointer 8-byte aligned on 64-bit machines.
  const fprog = Buffer.alloc(16);
  fprog.writeUInt16LE(program.length / 8, 0);
  fprog.writeBigUInt64LE(BigInt(koffi.address(program)), 8);
  const nr = syscallTable(process.arch).get('seccomp')!;
  try {
    seccompCall(nr, SECCOMP_SET_MODE_FILTER, flags, fprog);
  } catch (err) {
    const code = err instanceof SyscallError ? err.code : String(err);
    throw new Error(`load seccomp filter: ${code}`, { cause: err });
  }
}
// #endregion

// #region load-seccomp (unused)
/**
 * Compiles `s` for this machine and installs it on the calling thread.
 * Requires no_new_privs or CAP_SYS_ADMIN (see above). Errors read
 * `load seccomp filter: EACCES`.
 */
export function loadSeccomp(s: LinuxSeccomp): void {
  filterFlags(s.flags); // a bad flag fails before the work of compiling
  installFilter(compileFilter(s), s.flags);
}
// #endregion
